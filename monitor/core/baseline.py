"""The pre-dose baseline: derived from the last minutes before the dose mark, shown to the
clinician, confirmed or overridden, and refused for relative limits when pathological.

clinical-defaults.md "Baseline (pre-dose)": BP is the median of the last ≥ 2 cuff readings
at least 1 min apart in the 15 min before the dose; SpO2 and pulse rate the median of valid
samples in the last 5 min, with at least 2 min of data.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from monitor.core.conditioning import BpReading
from monitor.core.policy import BaselinePolicy

BASELINE_CHANNELS = ("spo2", "pulse_rate", "sbp", "dbp", "map", "etco2")


@dataclass(frozen=True, slots=True)
class Baseline:
    spo2: float | None = None
    pulse_rate: float | None = None
    sbp: float | None = None
    dbp: float | None = None
    map: float | None = None
    etco2: float | None = None  # for etco2_rise (respiration source only)

    def get(self, channel: str) -> float | None:
        value: float | None = getattr(self, channel, None)
        return value

    def merged(self, explicit: dict[str, float]) -> Baseline:
        """These values with the clinician's explicit ones on top (MAP follows SBP/DBP)."""
        values = {c: explicit.get(c, self.get(c)) for c in BASELINE_CHANNELS}
        if "map" not in explicit and ("sbp" in explicit or "dbp" in explicit):
            sbp, dbp = values["sbp"], values["dbp"]
            values["map"] = dbp + (sbp - dbp) / 3.0 if sbp is not None and dbp is not None else None
        return Baseline(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bp_baseline(
    readings: Sequence[BpReading], dose_t: float, policy: BaselinePolicy
) -> tuple[float | None, float | None, float | None]:
    """Median SBP, DBP, MAP of the last readings ≥ `bp_min_gap_s` apart in the window."""
    chosen: list[BpReading] = []
    for r in reversed(readings):
        if r.t > dose_t:
            continue
        if r.t < dose_t - policy.bp_window_s:
            break
        if not chosen or chosen[-1].t - r.t >= policy.bp_min_gap_s:
            chosen.append(r)
    if len(chosen) < policy.bp_min_readings:
        return None, None, None
    return (
        float(statistics.median(r.sbp for r in chosen)),
        float(statistics.median(r.dbp for r in chosen)),
        float(statistics.median(r.map for r in chosen)),
    )


def continuous_baseline(
    samples: Iterable[tuple[float, float]], dose_t: float, policy: BaselinePolicy
) -> float | None:
    """Median of valid samples in the window before the dose, if they span long enough."""
    values = [(t, v) for t, v in samples if dose_t - policy.continuous_window_s <= t <= dose_t]
    if not values or values[-1][0] - values[0][0] < policy.continuous_min_span_s:
        return None
    return float(statistics.median(v for _, v in values))


def pathological_reasons(b: Baseline, policy: BaselinePolicy) -> list[str]:
    """Why this baseline may not seed relative limits automatically (empty: it may)."""
    reasons = []
    if b.sbp is not None and b.sbp >= policy.pathological_sbp:
        reasons.append(f"SBP {b.sbp:g} ≥ {policy.pathological_sbp:g}")
    if b.dbp is not None and b.dbp >= policy.pathological_dbp:
        reasons.append(f"DBP {b.dbp:g} ≥ {policy.pathological_dbp:g}")
    if b.spo2 is not None and b.spo2 < policy.pathological_spo2:
        reasons.append(f"SpO2 {b.spo2:g} < {policy.pathological_spo2:g}")
    if b.pulse_rate is not None and b.pulse_rate > policy.pathological_pulse_rate:
        reasons.append(f"pulse rate {b.pulse_rate:g} > {policy.pathological_pulse_rate:g}")
    return reasons


def pre_dose_advisory(
    sbp: float | None, dbp: float | None, age: float | None, policy: BaselinePolicy
) -> list[str]:
    """The pre-dose advisory (an information signal, not an alarm)."""
    out = []
    elderly = age is not None and age > policy.advisory_elderly_age
    sbp_limit = policy.advisory_sbp_elderly if elderly else policy.advisory_sbp
    if sbp is not None and sbp > sbp_limit:
        out.append(f"SBP {sbp:g} > {sbp_limit:g}: weigh the risk before dosing")
    if dbp is not None and dbp > policy.advisory_dbp:
        out.append(f"DBP {dbp:g} > {policy.advisory_dbp:g}: weigh the risk before dosing")
    return out
