"""Every number the core uses besides the rule table, with clinical-defaults.md defaults.

Frozen dataclasses, built by `monitor.rules_config` from the clinic's validated config (or
used as they are). Times in seconds, pressures in mmHg, SpO2 in %, rates in bpm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.core.rules import DEFAULT_RULES, Rule


@dataclass(frozen=True, slots=True)
class ConditioningPolicy:
    smoothing_window_s: float = 5.0  # median of the last few seconds rejects artefacts
    bp_group_s: float = 1.0  # SBP/DBP/MAP of one cuff cycle arrive within a second


@dataclass(frozen=True, slots=True)
class BaselinePolicy:
    """clinical-defaults.md "Baseline (pre-dose)"."""

    bp_window_s: float = 900.0  # the 15 min before the dose mark
    bp_min_readings: int = 2
    bp_min_gap_s: float = 60.0  # readings at least 1 min apart
    continuous_window_s: float = 300.0  # SpO2/PR: last 5 min before the dose mark
    continuous_min_span_s: float = 120.0  # ... with at least 2 min of data
    # Pathological baseline: no relative limits without the clinician's explicit values.
    pathological_sbp: float = 160.0  # SBP ≥
    pathological_dbp: float = 100.0  # DBP ≥
    pathological_spo2: float = 92.0  # SpO2 <
    pathological_pulse_rate: float = 110.0  # HR >
    # Pre-dose advisory (information, not an alarm).
    advisory_sbp: float = 140.0  # SBP >
    advisory_sbp_elderly: float = 150.0  # SBP > when age > advisory_elderly_age
    advisory_elderly_age: float = 65.0
    advisory_dbp: float = 90.0  # DBP >


@dataclass(frozen=True, slots=True)
class TechnicalPolicy:
    """clinical-defaults.md "Technical alarms"."""

    stale_after_s: float = 10.0
    probe_off_medium_after_s: float = 30.0
    disconnected_after_s: float = 10.0
    # clinical-defaults.md "Respiration": resp_stale after 30 s without a respiration value
    # from a configured source; also the gap after which respiration dwell timers restart
    # (monitors over HL7 often report every 5-15 s, slower than an oximeter's 1 s).
    resp_stale_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class BpSchedulePolicy:
    """clinical-defaults.md "BP schedule"."""

    pre_dose_readings: int = 2
    pre_dose_retry_s: float = 90.0  # ask the cuff again while fewer than 2 pre-dose readings
    dense_interval_s: float = 300.0  # every 5 min ...
    dense_until_s: float = 3600.0  # ... for 60 min after the dose
    sparse_interval_s: float = 900.0  # then every 15 min until discharge
    mandatory_s: tuple[float, ...] = (2400.0,)  # the 40-min reading (peak BP) is mandatory
    late_after_s: float = 120.0  # overdue when more than 2 min late
    overdue_medium_after_s: float = 300.0  # low, medium after 5 min


@dataclass(frozen=True, slots=True)
class DischargePolicy:
    """clinical-defaults.md "Discharge readiness"."""

    min_after_dose_s: float = 7200.0
    bp_within_fraction: float = 0.20
    bp_ok_sbp_below: float = 140.0
    bp_ok_dbp_below: float = 90.0
    spo2_floor: float = 94.0
    spo2_below_baseline: float = 2.0
    spo2_window_s: float = 900.0
    pulse_rate_within_fraction: float = 0.20


@dataclass(frozen=True, slots=True)
class CorePolicy:
    """All of one room pipeline's clinical configuration."""

    rules: tuple[Rule, ...] = DEFAULT_RULES
    conditioning: ConditioningPolicy = field(default_factory=ConditioningPolicy)
    baseline: BaselinePolicy = field(default_factory=BaselinePolicy)
    technical: TechnicalPolicy = field(default_factory=TechnicalPolicy)
    bp_schedule: BpSchedulePolicy = field(default_factory=BpSchedulePolicy)
    discharge: DischargePolicy = field(default_factory=DischargePolicy)
    audio_pause_s: float = 120.0  # IEC 60601-1-8 practice; a higher alarm breaks through
    recovery_after_s: float = 3600.0  # phase dosed → recovery when the dense BP schedule ends
