"""Shared value rules for every decoder: how a sentinel and an implausible value are reported.

A value the device marks invalid (a sentinel) becomes `None` with `Flag.INVALID`, never a
number (protocols.md §0 rule 1). A number outside what a patient can produce
(monitor.core.plausibility, the one table) keeps its value, so the record shows what came
over the line, and carries `Flag.IMPLAUSIBLE`: stored `valid=false`, never used.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.core.models import CANONICAL_UNIT, Channel, Flag, Reading
from monitor.core.plausibility import PLAUSIBLE, plausible, pressures_plausible

__all__ = ["PLAUSIBLE", "plausible", "reading", "with_pressure_check"]


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
    """A Reading of `raw`: None + INVALID for a sentinel, IMPLAUSIBLE when out of range."""
    flags = frozenset(status)
    value: float | None = None if raw is None else float(raw)
    if value is not None and value in set(invalid):
        value = None
    if value is None:
        flags |= {Flag.INVALID}
    elif not plausible(channel, value):
        flags |= {Flag.IMPLAUSIBLE}
    return Reading(
        t=t,
        channel=channel,
        value=value,
        unit=CANONICAL_UNIT[channel],
        status=flags,
        source=source,
        device_time=device_time,
    )


def with_pressure_check(readings: list[Reading]) -> list[Reading]:
    """One cuff cycle's readings, all pressures flagged IMPLAUSIBLE when SBP <= DBP."""
    by = {r.channel: r.value for r in readings}
    sbp, dbp = by.get(Channel.SBP), by.get(Channel.DBP)
    if sbp is None or dbp is None or pressures_plausible(sbp, dbp):
        return readings
    pressures = (Channel.SBP, Channel.DBP, Channel.MAP)
    return [
        r.with_status(r.status | {Flag.IMPLAUSIBLE})
        if r.channel in pressures and r.value is not None
        else r
        for r in readings
    ]
