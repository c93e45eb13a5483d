"""Named scenarios: what a simulated patient's vital signs do over time.

A scenario is a pure function of the seconds since the simulation started. Every start time
and duration is an option, and `speed` (default 1) runs the whole scenario faster, so tests
need not wait minutes: `scenario("post_dose_rise", {"speed": 600})` peaks after 4 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
    # Respiration, for a capnograph / multiparameter monitor (the HL7 simulator sends them).
    resp_rate: float | None = 14.0
    etco2: float | None = 38.0
    apnea: bool = False  # the monitor's own no-breath detection
    # The capnograph's sampling line is blocked: the monitor raises its technical alert (the
    # HL7 simulator sends an IHE PCD-04 ORU^R40) and its CO2 numbers are garbage meanwhile.
    co2_line_blocked: bool = False


Scenario = Callable[[float], Vitals]


def _f(options: Mapping[str, Any], key: str, default: float) -> float:
    return float(options.get(key, default))


def _window(
    options: Mapping[str, Any], name: str, start: float, duration: float
) -> Callable[[float], bool]:
    s = _f(options, f"{name}_start_s", start)
    d = _f(options, f"{name}_duration_s", duration)
    return lambda e: s <= e < s + d


def steady(options: Mapping[str, Any]) -> Scenario:
    spo2 = _f(options, "spo2", 97.0)
    pr = _f(options, "pulse_rate", 72.0)
    sbp = _f(options, "sbp", 122.0)
    dbp = _f(options, "dbp", 78.0)
    alive = bool(options.get("wobble", True))

    def at(elapsed: float) -> Vitals:
        # A small, deterministic wobble so the trend looks alive without crossing limits.
        wobble = (int(elapsed) % 5) - 2 if alive else 0
        return Vitals(
            spo2=spo2 + (1 if wobble > 1 else 0), pulse_rate=pr + wobble, sbp=sbp, dbp=dbp
        )

    return at


def _hump(elapsed: float, start: float, peak: float, end: float) -> float:
    """0 before start, rising smoothly to 1 at peak, back to 0 at end."""
    if elapsed <= start or elapsed >= end:
        return 0.0
    if elapsed <= peak:
        return math.sin(math.pi / 2 * (elapsed - start) / (peak - start))
    return math.cos(math.pi / 2 * (elapsed - peak) / (end - peak))


def _bp_rise(
    options: Mapping[str, Any],
    d_sbp: float,
    d_dbp: float,
    d_pr: float,
    start: float,
    peak: float,
    end: float,
) -> Scenario:
    base = steady(options)
    d_sbp = _f(options, "sbp_rise", d_sbp)
    d_dbp = _f(options, "dbp_rise", d_dbp)
    d_pr = _f(options, "pr_rise", d_pr)
    start = _f(options, "rise_start_s", start)
    peak = _f(options, "peak_s", peak)
    end = _f(options, "end_s", end)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        k = _hump(elapsed, start, peak, end)
        return replace(
            v,
            sbp=round((v.sbp or 0) + d_sbp * k),
            dbp=round((v.dbp or 0) + d_dbp * k),
            pulse_rate=round((v.pulse_rate or 0) + d_pr * k),
        )

    return at


def post_dose_rise(options: Mapping[str, Any]) -> Scenario:
    """The expected ketamine response: +13/+9 mmHg peaking about 40 min after the dose."""
    return _bp_rise(options, 13.0, 9.0, 8.0, 0.0, 2400.0, 5400.0)


def hypertensive_surge(options: Mapping[str, Any]) -> Scenario:
    """A surge well beyond the expected rise: SBP +50, DBP +25 around 40 min."""
    return _bp_rise(options, 50.0, 25.0, 20.0, 1500.0, 2400.0, 3600.0)


def desaturation(options: Mapping[str, Any]) -> Scenario:
    """Steady, then SpO2 falls to `nadir` for `desat_duration_s`, then recovers."""
    base = steady(options)
    inside = _window(options, "desat", 240.0, 90.0)
    nadir = _f(options, "nadir", 86.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if inside(elapsed):
            return replace(
                v, spo2=nadir, pulse_rate=(v.pulse_rate or 72.0) + 12, perfusion_index=2.1
            )
        return v

    return at


def motion_artefact(options: Mapping[str, Any]) -> Scenario:
    """A brief movement: the device flags motion and its numbers jump meanwhile."""
    base = steady(options)
    inside = _window(options, "motion", 60.0, 10.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if inside(elapsed):
            return replace(v, motion=True, spo2=84.0, pulse_rate=128.0, perfusion_index=0.4)
        return v

    return at


def probe_off(options: Mapping[str, Any]) -> Scenario:
    base = steady(options)
    inside = _window(options, "probe_off", 60.0, 30.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if inside(elapsed):
            return replace(v, probe_off=True, spo2=None, pulse_rate=None, perfusion_index=None)
        return v

    return at


def cuff_error(options: Mapping[str, Any]) -> Scenario:
    """Cuff measurements fail (loose cuff / air leak) inside the window; oximetry is steady."""
    base = steady(options)
    inside = _window(options, "cuff_error", 0.0, 600.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        return replace(v, cuff_error=True) if inside(elapsed) else v

    return at


def disconnect_return(options: Mapping[str, Any]) -> Scenario:
    """The device is unplugged, then plugged back in."""
    base = steady(options)
    inside = _window(options, "disconnect", 60.0, 20.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        return replace(v, connected=False) if inside(elapsed) else v

    return at


def _ramp(elapsed: float, start: float, duration: float) -> float:
    """0 before start, rising linearly to 1 after `duration`."""
    return min(max((elapsed - start) / duration, 0.0), 1.0) if duration > 0 else 1.0


def hypoventilation(options: Mapping[str, Any]) -> Scenario:
    """Opioid/benzodiazepine-style respiratory depression: RR falls and EtCO2 rises over
    `hypo_duration_s`; SpO2 follows only `spo2_lag_s` later (on oxygen it falls late)."""
    base = steady(options)
    start = _f(options, "hypo_start_s", 120.0)
    duration = _f(options, "hypo_duration_s", 120.0)
    lag = _f(options, "spo2_lag_s", 120.0)
    rr_to, co2_to = _f(options, "resp_rate_to", 6.0), _f(options, "etco2_to", 58.0)
    nadir = _f(options, "nadir", 87.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        k = _ramp(elapsed, start, duration)
        k_spo2 = _ramp(elapsed, start + lag, duration)
        return replace(
            v,
            resp_rate=round(14.0 + (rr_to - 14.0) * k),
            etco2=round(38.0 + (co2_to - 38.0) * k),
            spo2=round((v.spo2 or 97.0) + (nadir - (v.spo2 or 97.0)) * k_spo2),
        )

    return at


def apnea(options: Mapping[str, Any]) -> Scenario:
    """Breathing stops for `apnea_duration_s`: the monitor flags apnea, RR and EtCO2 read 0;
    SpO2 falls `spo2_lag_s` into the pause."""
    base = steady(options)
    inside = _window(options, "apnea", 120.0, 60.0)
    start = _f(options, "apnea_start_s", 120.0)
    lag = _f(options, "spo2_lag_s", 30.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if not inside(elapsed):
            return v
        k = _ramp(elapsed, start + lag, 20.0)
        spo2 = round((v.spo2 or 97.0) - 10 * k)
        return replace(v, apnea=True, resp_rate=0.0, etco2=0.0, spo2=spo2)

    return at


def co2_line_blocked(options: Mapping[str, Any]) -> Scenario:
    """The CO2 sampling line blocks (secretions, a kink, a full water trap) for
    `blocked_duration_s`: the monitor reports it, and meanwhile its RR and EtCO2 read 0 and
    its apnea detection sees no breath, though the patient breathes normally (SpO2 steady)."""
    base = steady(options)
    inside = _window(options, "blocked", 60.0, 60.0)

    def at(elapsed: float) -> Vitals:
        v = base(elapsed)
        if not inside(elapsed):
            return v
        return replace(v, co2_line_blocked=True, resp_rate=0.0, etco2=0.0, apnea=True)

    return at


SCENARIOS: dict[str, Callable[[Mapping[str, Any]], Scenario]] = {
    "steady": steady,
    "post_dose_rise": post_dose_rise,
    "hypertensive_surge": hypertensive_surge,
    "desaturation": desaturation,
    "motion_artefact": motion_artefact,
    "probe_off": probe_off,
    "cuff_error": cuff_error,
    "disconnect_return": disconnect_return,
    "hypoventilation": hypoventilation,
    "apnea": apnea,
    "co2_line_blocked": co2_line_blocked,
}


def scenario(name: str, options: Mapping[str, Any] | None = None) -> Scenario:
    try:
        factory = SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
    opts = dict(options or {})
    speed = float(opts.pop("speed", 1.0))
    if not speed > 0:
        raise ValueError(f"scenario option 'speed' must be > 0, got {speed}")
    inner = factory(opts)
    if speed == 1.0:
        return inner
    return lambda elapsed: inner(elapsed * speed)
