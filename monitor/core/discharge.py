"""Discharge readiness (clinical-defaults.md): every criterion, and which are unmet.

All of: ≥ 2 h since the dose mark; no active alarm; the last two BP readings within 20 % of
baseline (or below 140/90); SpO2 ≥ 94 % (or ≥ baseline − 2) for the last 15 min; pulse
rate within 20 % of baseline. Vigil shows "ready for discharge review"; a clinician confirms.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.core.baseline import Baseline
from monitor.core.conditioning import BpReading
from monitor.core.policy import DischargePolicy


def spo2_threshold(baseline: Baseline, policy: DischargePolicy) -> float:
    """SpO2 ≥ floor, or ≥ baseline − 2 for a patient whose own normal is lower."""
    if baseline.spo2 is None:
        return policy.spo2_floor
    return min(policy.spo2_floor, baseline.spo2 - policy.spo2_below_baseline)


def _bp_ok(r: BpReading, baseline: Baseline, policy: DischargePolicy) -> bool:
    if r.sbp < policy.bp_ok_sbp_below and r.dbp < policy.bp_ok_dbp_below:
        return True
    if baseline.sbp is None or baseline.dbp is None:
        return False
    f = policy.bp_within_fraction
    return (
        abs(r.sbp - baseline.sbp) <= f * baseline.sbp
        and abs(r.dbp - baseline.dbp) <= f * baseline.dbp
    )


def unmet_criteria(
    now: float,
    *,
    dose_t: float,
    alarms: Sequence[str],
    bp: Sequence[BpReading],
    baseline: Baseline,
    spo2_ok_since: float | None,
    pulse_rate: float | None,
    policy: DischargePolicy,
) -> list[str]:
    """What still stands between the patient and discharge review (empty: ready)."""
    unmet = []
    if now - dose_t < policy.min_after_dose_s:
        unmet.append(f"{policy.min_after_dose_s / 3600:g} h since the dose not yet reached")
    if alarms:
        unmet.append(f"alarms present: {', '.join(sorted(alarms))}")
    last_two = list(bp[-2:])
    if len(last_two) < 2 or not all(_bp_ok(r, baseline, policy) for r in last_two):
        unmet.append("last two BP readings not within 20 % of baseline or below 140/90")
    if spo2_ok_since is None or now - spo2_ok_since < policy.spo2_window_s:
        unmet.append(f"SpO2 not at target for the last {policy.spo2_window_s / 60:g} min")
    b = baseline.pulse_rate
    f = policy.pulse_rate_within_fraction
    if pulse_rate is None or b is None or abs(pulse_rate - b) > f * b:
        unmet.append("pulse rate not within 20 % of baseline")
    return unmet
