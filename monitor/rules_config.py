"""Clinic configuration of the alarm rules and clinical policies (the `[rules]` table).

Validates what a clinic writes and builds the core's frozen dataclasses (`to_core()`).
Conditions merge by id over the defaults of clinical-defaults.md: a clinic writes only what
it changes, e.g.

    [rules.conditions.spo2_low]
    delay_s = 20                      # keep the default limit, change the delay

    [rules.conditions.hr_high]
    limits = [{ channel = "pulse_rate", comparator = ">", absolute = 130 }]

    [rules.conditions.map_rise]
    enabled = false

An invalid rule stops start-up with a message naming the field
(`rules.conditions.spo2_low.delay_s: Input should be greater than or equal to 0`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.core.models import Priority
from monitor.core.policy import (
    BaselinePolicy,
    BpSchedulePolicy,
    ConditioningPolicy,
    CorePolicy,
    DischargePolicy,
    TechnicalPolicy,
)
from monitor.core.rules import DEFAULT_RULES, EPISODIC_CHANNELS, RULE_CHANNELS, Rule

#: Conditions the core raises itself; a physiological rule may not take their names.
TECHNICAL_CONDITIONS = frozenset(
    {
        "spo2_stale",
        "pulse_rate_stale",
        "resp_stale",
        "co2_line_blocked",
        "probe_off",
        "device_disconnected",
        "device_failed",
        "device_garbled",
        "bp_overdue",
        "cuff_error",
        "notify_failed",
        "storage_degraded",
        "journal_failed",
        "monitoring_interrupted",
        "hl7_out_down",
    }
)
_CONDITION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Strict types (every model below): `enabled = "false"` or `delay_s = "20"` is a mistake in
# the file, not a value to convert; an integer still stands for a float (`delay_s = 20`).


class LimitConfig(BaseModel):
    """One limit: absolute, or relative to the baseline (offset or factor) with a clamp."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    channel: Literal["spo2", "pulse_rate", "sbp", "dbp", "map", "resp_rate", "etco2", "apnea"]
    comparator: Literal["<", "<=", ">", ">="]
    absolute: float | None = Field(None, ge=0, le=400)
    offset: float | None = Field(None, ge=-200, le=200)
    factor: float | None = Field(None, gt=0, le=5)
    clamp: float | None = Field(None, ge=0, le=400)
    confirm_count: int = Field(1, ge=1, le=10)
    confirm_window_s: float = Field(0.0, ge=0, le=3600)
    # This limit's own delay where it differs from the condition's (apnea: the flag at once,
    # a respiration rate of 0 after 20 s). None: the condition's delay_s.
    delay_s: float | None = Field(None, ge=0, le=600)
    # Apply only while this channel has a current value above 0 (etco2_low: "with RR present").
    requires: Literal["resp_rate", "etco2", "spo2", "pulse_rate"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LimitConfig:
        relative = self.offset is not None or self.factor is not None
        if self.absolute is None and not relative:
            raise ValueError("give 'absolute', or 'offset' or 'factor' (baseline-relative)")
        if self.absolute is not None and relative:
            raise ValueError("'absolute' and 'offset'/'factor' are exclusive: use two limits")
        if self.offset is not None and self.factor is not None:
            raise ValueError("'offset' and 'factor' are exclusive")
        if self.clamp is not None and not relative:
            raise ValueError("'clamp' applies to a baseline-relative limit only")
        if self.confirm_count > 1 and self.confirm_window_s <= 0:
            raise ValueError("'confirm_count' > 1 needs 'confirm_window_s' > 0")
        if self.confirm_count > 1 and self.channel not in EPISODIC_CHANNELS:
            raise ValueError("confirmation by a repeat reading applies to sbp, dbp, map only")
        if self.delay_s and self.channel in EPISODIC_CHANNELS:
            raise ValueError("BP is episodic: use 'confirm_count', not 'delay_s'")
        return self


class ConditionConfig(BaseModel):
    """One alarm condition: any of its limits violated (after the delay) raises it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    enabled: bool = True
    priority: Literal["high", "medium", "low"]
    delay_s: float = Field(0.0, ge=0, le=600)
    hysteresis: float = Field(0.0, ge=0, le=50)
    # A value this far beyond the limit skips delay_s (rapid desaturation); None: never.
    rapid_margin: float | None = Field(None, gt=0, le=50)
    limits: list[LimitConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _episodic_no_delay(self) -> ConditionConfig:
        channels = {lim.channel for lim in self.limits}
        if self.delay_s and channels & set(EPISODIC_CHANNELS):
            raise ValueError("BP is episodic: use 'confirm_count' on the limit, not 'delay_s'")
        return self


def default_conditions() -> dict[str, ConditionConfig]:
    """The clinical-defaults.md table, grouped by condition."""
    out: dict[str, dict[str, Any]] = {}
    for r in DEFAULT_RULES:
        cond = out.setdefault(
            r.id,
            {
                "priority": r.priority.value,
                "delay_s": r.delay_s,
                "hysteresis": r.hysteresis,
                "rapid_margin": r.rapid_margin,
                "limits": [],
            },
        )
        own_delay = r.delay_s if r.delay_s != cond["delay_s"] else None
        cond["limits"].append(
            {
                k: v
                for k, v in {
                    "delay_s": own_delay,
                    "requires": r.requires,
                    "channel": r.channel,
                    "comparator": r.comparator,
                    "absolute": r.absolute,
                    "offset": r.offset,
                    "factor": r.factor,
                    "clamp": r.clamp,
                    "confirm_count": r.confirm_count,
                    "confirm_window_s": r.confirm_window_s,
                }.items()
                if v is not None
            }
        )
    return {k: ConditionConfig(**v) for k, v in out.items()}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ConditioningConfig(_Section):
    smoothing_window_s: float = Field(5.0, gt=0, le=60)
    bp_group_s: float = Field(1.0, gt=0, le=30)


class BaselineConfig(_Section):
    bp_window_s: float = Field(900.0, gt=0, le=7200)
    bp_min_readings: int = Field(2, ge=1, le=10)
    bp_min_gap_s: float = Field(60.0, ge=0, le=1800)
    continuous_window_s: float = Field(300.0, gt=0, le=3600)
    continuous_min_span_s: float = Field(120.0, ge=0, le=3600)
    pathological_sbp: float = Field(160.0, gt=0, le=300)
    pathological_dbp: float = Field(100.0, gt=0, le=300)
    pathological_spo2: float = Field(92.0, gt=0, le=100)
    pathological_pulse_rate: float = Field(110.0, gt=0, le=300)
    advisory_sbp: float = Field(140.0, gt=0, le=300)
    advisory_sbp_elderly: float = Field(150.0, gt=0, le=300)
    advisory_elderly_age: float = Field(65.0, ge=0, le=130)
    advisory_dbp: float = Field(90.0, gt=0, le=300)

    @model_validator(mode="after")
    def _span_fits(self) -> BaselineConfig:
        if self.continuous_min_span_s > self.continuous_window_s:
            raise ValueError("'continuous_min_span_s' cannot exceed 'continuous_window_s'")
        return self


class TechnicalConfig(_Section):
    stale_after_s: float = Field(10.0, gt=0, le=600)
    probe_off_medium_after_s: float = Field(30.0, ge=0, le=3600)
    disconnected_after_s: float = Field(10.0, ge=0, le=600)
    resp_stale_after_s: float = Field(30.0, gt=0, le=600)


class BpScheduleConfig(_Section):
    pre_dose_readings: int = Field(2, ge=0, le=10)
    pre_dose_retry_s: float = Field(90.0, gt=0, le=3600)
    dense_interval_s: float = Field(300.0, gt=0, le=3600)
    dense_until_s: float = Field(3600.0, ge=0, le=14400)
    sparse_interval_s: float = Field(900.0, gt=0, le=7200)
    mandatory_s: list[float] = Field(default_factory=lambda: [2400.0])
    late_after_s: float = Field(120.0, ge=0, le=3600)
    overdue_medium_after_s: float = Field(300.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _positive_mandatory(self) -> BpScheduleConfig:
        if any(m <= 0 for m in self.mandatory_s):
            raise ValueError("'mandatory_s' entries are seconds after the dose, > 0")
        return self


class DischargeConfig(_Section):
    min_after_dose_s: float = Field(7200.0, ge=0, le=86400)
    bp_within_fraction: float = Field(0.20, gt=0, le=1)
    bp_ok_sbp_below: float = Field(140.0, gt=0, le=300)
    bp_ok_dbp_below: float = Field(90.0, gt=0, le=300)
    spo2_floor: float = Field(94.0, gt=0, le=100)
    spo2_below_baseline: float = Field(2.0, ge=0, le=20)
    spo2_window_s: float = Field(900.0, ge=0, le=7200)
    pulse_rate_within_fraction: float = Field(0.20, gt=0, le=1)


class RulesConfig(BaseModel):
    """The `[rules]` table of the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    conditions: dict[str, ConditionConfig] = Field(default_factory=default_conditions)
    conditioning: ConditioningConfig = ConditioningConfig()  # frozen: sharing is safe
    baseline: BaselineConfig = BaselineConfig()  # frozen: sharing is safe
    technical: TechnicalConfig = TechnicalConfig()  # frozen: sharing is safe
    bp_schedule: BpScheduleConfig = BpScheduleConfig()  # frozen: sharing is safe
    discharge: DischargeConfig = DischargeConfig()  # frozen: sharing is safe
    audio_pause_s: float = Field(120.0, gt=0, le=600)
    recovery_after_s: float = Field(3600.0, ge=0, le=86400)

    @model_validator(mode="before")
    @classmethod
    def _merge_over_defaults(cls, data: Any) -> Any:
        """A clinic's conditions override the defaults field by field, by condition id."""
        if not isinstance(data, dict) or not isinstance(data.get("conditions"), dict):
            return data
        merged: dict[str, Any] = {k: v.model_dump() for k, v in default_conditions().items()}
        for cid, given in data["conditions"].items():
            if isinstance(given, ConditionConfig):
                given = given.model_dump()
            if isinstance(given, dict) and cid in merged:
                merged[cid] = {**merged[cid], **given}
            elif isinstance(given, dict) and not {"priority", "limits"} <= given.keys():
                # A new condition must be complete; a partial one changing a default's
                # fields is almost surely that default's id misspelled (`spo2_lo`).
                known = ", ".join(sorted(merged))
                raise ValueError(
                    f"conditions.{cid}: unknown condition {cid!r} (known: {known}); "
                    "a new condition needs 'priority' and 'limits'"
                )
            else:
                merged[cid] = given
        return {**data, "conditions": merged}

    @model_validator(mode="after")
    def _ids(self) -> RulesConfig:
        for cid in self.conditions:
            if not _CONDITION_ID.match(cid):
                raise ValueError(f"condition id {cid!r}: use lower case letters, digits, _")
            if cid in TECHNICAL_CONDITIONS:
                raise ValueError(f"condition id {cid!r} is a technical alarm of Vigil's own")
        return self

    def rules(self) -> tuple[Rule, ...]:
        out: list[Rule] = []
        for cid, cond in self.conditions.items():
            if not cond.enabled:
                continue
            for lim in cond.limits:
                out.append(
                    Rule(
                        id=cid,
                        channel=lim.channel,
                        priority=Priority(cond.priority),
                        comparator=lim.comparator,
                        absolute=lim.absolute,
                        offset=lim.offset,
                        factor=lim.factor,
                        clamp=lim.clamp,
                        delay_s=cond.delay_s if lim.delay_s is None else lim.delay_s,
                        hysteresis=cond.hysteresis,
                        rapid_margin=cond.rapid_margin,
                        confirm_count=lim.confirm_count,
                        confirm_window_s=lim.confirm_window_s,
                        requires=lim.requires,
                    )
                )
        assert all(r.channel in RULE_CHANNELS for r in out)
        return tuple(out)

    def to_core(self) -> CorePolicy:
        """The core's frozen policy from this validated config."""
        sched = self.bp_schedule.model_dump()
        sched["mandatory_s"] = tuple(sched["mandatory_s"])
        return CorePolicy(
            rules=self.rules(),
            conditioning=ConditioningPolicy(**self.conditioning.model_dump()),
            baseline=BaselinePolicy(**self.baseline.model_dump()),
            technical=TechnicalPolicy(**self.technical.model_dump()),
            bp_schedule=BpSchedulePolicy(**sched),
            discharge=DischargePolicy(**self.discharge.model_dump()),
            audio_pause_s=self.audio_pause_s,
            recovery_after_s=self.recovery_after_s,
        )
