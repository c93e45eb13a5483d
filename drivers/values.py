"""Shared value rules for every decoder: plausible ranges and how an invalid value is reported.

A value the device marks invalid (a sentinel), or one outside the range a body can produce,
becomes `None` with `Flag.INVALID`, never a number (protocols.md §0 rule 1).
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.core.models import CANONICAL_UNIT, Channel, Flag, Reading

#: Values outside these ranges are noise on the line, not physiology.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    Channel.SPO2: (0.0, 100.0),
    Channel.PULSE_RATE: (0.0, 350.0),
    Channel.HEART_RATE: (0.0, 350.0),
    Channel.PERFUSION_INDEX: (0.0, 20.0),
    Channel.SBP: (0.0, 300.0),
    Channel.DBP: (0.0, 300.0),
    Channel.MAP: (0.0, 300.0),
    Channel.CUFF_PRESSURE: (0.0, 320.0),
}


def plausible(channel: str, value: float) -> bool:
    lo, hi = PLAUSIBLE[channel]
    return lo <= value <= hi


def reading(
    t: float,
    channel: str,
    raw: float | None,
    status: Iterable[str] = (),
    *,
    source: str,
    invalid: Iterable[float] = (),
    device_time: str | None = None,
) -> Reading:
    """A Reading of `raw`, or of None + INVALID when raw is a sentinel or implausible."""
    flags = frozenset(status)
    value: float | None = None if raw is None else float(raw)
    if value is not None and (value in set(invalid) or not plausible(channel, value)):
        value = None
    if value is None:
        flags |= {Flag.INVALID}
    return Reading(
        t=t,
        channel=channel,
        value=value,
        unit=CANONICAL_UNIT[channel],
        status=flags,
        source=source,
        device_time=device_time,
    )
