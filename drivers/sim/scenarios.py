"""Named scenarios: what a simulated patient's vital signs do over time.

A scenario is a pure function of the seconds since the simulation started. Durations can be
shortened through options so tests need not wait minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Vitals:
    """What a simulated device should report at one instant."""

    spo2: float | None = 97.0
    pulse_rate: float | None = 72.0
    perfusion_index: float | None = 3.5
    probe_off: bool = False
    motion: bool = False
    # Blood pressure the cuff would measure if a cycle ran now (mmHg).
    sbp: float | None = 122.0
    dbp: float | None = 78.0
    cuff_error: bool = False
    connected: bool = True  # False: the device is unplugged / out of range


Scenario = Callable[[float], Vitals]


def steady(options: Mapping[str, Any]) -> Scenario:
    spo2 = float(options.get("spo2", 97.0))
    pr = float(options.get("pulse_rate", 72.0))

    def at(elapsed: float) -> Vitals:
        # A small, deterministic wobble so the trend looks alive without crossing limits.
        wobble = (int(elapsed) % 5) - 2
        return Vitals(spo2=spo2 + (1 if wobble > 1 else 0), pulse_rate=pr + wobble)

    return at


def desaturation(options: Mapping[str, Any]) -> Scenario:
    """Steady, then SpO2 falls to `nadir` for `duration_s`, then recovers."""
    start = float(options.get("desat_start_s", 240.0))
    duration = float(options.get("desat_duration_s", 90.0))
    nadir = float(options.get("nadir", 86.0))
    base = steady(options)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if start <= elapsed < start + duration:
            return Vitals(spo2=nadir, pulse_rate=(v.pulse_rate or 72.0) + 12, perfusion_index=2.1)
        return v

    return at


SCENARIOS: dict[str, Callable[[Mapping[str, Any]], Scenario]] = {
    "steady": steady,
    "desaturation": desaturation,
}


def scenario(name: str, options: Mapping[str, Any] | None = None) -> Scenario:
    try:
        factory = SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
    return factory(options or {})
