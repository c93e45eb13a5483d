"""Alarm rules as data, and the one generic evaluator that runs them.

A `Rule` is one limit of one alarm condition: `bp_severe` is four rows (SBP ≥ 180 and
DBP ≥ 110 confirmed by a second reading within 5 min; SBP ≥ 200 and DBP ≥ 120 on one
reading). A condition is present while any of its rows is triggered and gone when none is.
The default table is clinical-defaults.md "Physiological alarm rules"; clinics override it
through `monitor.rules_config`, which builds these same dataclasses.

Continuous channels (SpO2, pulse rate) are evaluated on every smoothed sample with an
alarm-condition delay: the limit must be violated for `delay_s` before the row triggers, and
the value must be back inside the limit by `hysteresis` for the same delay before it clears.
Episodic channels (SBP, DBP, MAP) are evaluated once per cuff cycle; `confirm_count`
readings within `confirm_window_s` are needed to trigger (a repeat reading confirms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.core.models import AlarmKind, Channel, Priority

Comparator = Literal["<", "<=", ">", ">="]

# Plain strings, not Channel members: the pipeline's per-channel dicts are keyed by them and
# looked up with the reading's channel, and a dict whose keys are all exact str is the
# fast kind (a lookup costs half).
#: The oximeter's continuous channels (stale after `stale_after_s`, probe-off flags).
OXIMETRY_CHANNELS: tuple[str, ...] = (Channel.SPO2.value, Channel.PULSE_RATE.value)
#: Respiration from a capnograph or multiparameter monitor (`resp_stale` after 30 s). Apnea
#: is a channel of its own: 1 when the source flags no breath, 0 while it sees breathing.
RESPIRATION_CHANNELS: tuple[str, ...] = (
    Channel.RESP_RATE.value,
    Channel.ETCO2.value,
    Channel.APNEA.value,
)
#: Channels the core smooths and evaluates sample by sample.
CONTINUOUS_CHANNELS: tuple[str, ...] = OXIMETRY_CHANNELS + RESPIRATION_CHANNELS
#: Channels that come once per cuff cycle.
EPISODIC_CHANNELS: tuple[str, ...] = (Channel.SBP.value, Channel.DBP.value, Channel.MAP.value)
RULE_CHANNELS: tuple[str, ...] = CONTINUOUS_CHANNELS + EPISODIC_CHANNELS


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit of one alarm condition.

    The effective limit is `absolute`, or the baseline-relative `baseline + offset` /
    `baseline × factor` clamped by `clamp` (a ceiling for rising limits, a floor for falling
    ones) so a relative limit never sits beyond the absolute one. A relative row without a
    confirmed baseline is inactive; absolute rows are always active.
    """

    id: str
    channel: str
    priority: Priority
    comparator: Comparator
    absolute: float | None = None
    offset: float | None = None
    factor: float | None = None
    clamp: float | None = None
    delay_s: float = 0.0
    hysteresis: float = 0.0
    confirm_count: int = 1
    confirm_window_s: float = 0.0
    kind: AlarmKind = AlarmKind.PHYSIOLOGICAL
    # A value this far beyond the limit shortens the delay to `rapid_delay_s` (Masimo
    # "rapid desat": 10 points below the limit skips the delay). Not to zero: an unflagged
    # 3-s artefact dip must still pass silently, so the smoothing window (5 s) remains.
    rapid_margin: float | None = None
    rapid_delay_s: float = 5.0
    # The row applies only while this channel has a current value above 0 ("EtCO2 < 20 with
    # RR present": a low EtCO2 without breathing is apnea's business, not a displaced line).
    requires: str | None = None

    def __post_init__(self) -> None:
        # The pydantic config validates clinic input with field names; this guards code.
        if self.comparator not in ("<", "<=", ">", ">="):
            raise ValueError(f"rule {self.id}: comparator {self.comparator!r}")
        if (self.absolute is None) == (self.offset is None and self.factor is None):
            raise ValueError(f"rule {self.id}: give either an absolute or a relative limit")
        if self.offset is not None and self.factor is not None:
            raise ValueError(f"rule {self.id}: offset and factor are exclusive")
        if self.confirm_count < 1 or (self.confirm_count > 1 and self.confirm_window_s <= 0):
            raise ValueError(f"rule {self.id}: confirmation needs a count ≥ 1 and a window")
        if self.delay_s < 0 or self.hysteresis < 0:
            raise ValueError(f"rule {self.id}: negative delay or hysteresis")
        if self.rapid_margin is not None and self.rapid_margin <= 0:
            raise ValueError(f"rule {self.id}: rapid_margin must be positive")

    @property
    def relative(self) -> bool:
        return self.absolute is None

    @property
    def rising(self) -> bool:
        return self.comparator in (">", ">=")

    def limit(self, baseline: float | None) -> float | None:
        """The effective limit for this baseline (None: the row is inactive)."""
        if self.absolute is not None:
            return self.absolute
        if baseline is None:
            return None
        value = baseline + self.offset if self.offset is not None else baseline * (self.factor or 1)
        if self.clamp is not None:
            value = min(value, self.clamp) if self.rising else max(value, self.clamp)
        return value


def violates(comparator: str, value: float, limit: float) -> bool:
    """True when `value` is outside the limit (the alarm side)."""
    if comparator == "<":
        return value < limit
    if comparator == "<=":
        return value <= limit
    if comparator == ">":
        return value > limit
    return value >= limit


def back_inside(comparator: str, value: float, limit: float, margin: float) -> bool:
    """True when `value` is inside the limit by at least the hysteresis margin."""
    if comparator in ("<", "<="):
        return value >= limit + margin if margin else not violates(comparator, value, limit)
    return value <= limit - margin if margin else not violates(comparator, value, limit)


_H, _M, _L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
_BP_HYST, _SPO2_HYST, _HR_HYST = 5.0, 1.0, 5.0  # clinical-defaults.md "Hysteresis"
_RAPID_DESAT = 10.0  # clinical-defaults.md "SpO2 alarm delay": rapid desat skips the delay
# Respiration hysteresis is ours (clinical-defaults.md gives none): about one display step
# of a capnograph's RR and a 2 mmHg EtCO2 margin keep a value on the limit from chattering.
_RR_HYST, _CO2_HYST = 1.0, 2.0

#: clinical-defaults.md "Physiological alarm rules", one row per limit.
DEFAULT_RULES: tuple[Rule, ...] = (
    # bp_severe: confirmation reading for 180/110, one reading is enough at 200/120.
    Rule("bp_severe", "sbp", _H, ">=", 180, hysteresis=_BP_HYST, confirm_count=2,
         confirm_window_s=300),
    Rule("bp_severe", "dbp", _H, ">=", 110, hysteresis=_BP_HYST, confirm_count=2,
         confirm_window_s=300),
    Rule("bp_severe", "sbp", _H, ">=", 200, hysteresis=_BP_HYST),
    Rule("bp_severe", "dbp", _H, ">=", 120, hysteresis=_BP_HYST),
    # Relative rises clamped to the bp_high ceilings: never later than the absolute alarm.
    Rule("bp_rise", "sbp", _M, ">=", offset=40, clamp=160, hysteresis=_BP_HYST),
    Rule("bp_rise", "dbp", _M, ">=", offset=25, clamp=100, hysteresis=_BP_HYST),
    Rule("bp_high", "sbp", _M, ">=", 160, hysteresis=_BP_HYST),
    Rule("bp_high", "dbp", _M, ">=", 100, hysteresis=_BP_HYST),
    Rule("map_rise", "map", _L, ">=", factor=1.2, hysteresis=_BP_HYST),
    Rule("bp_low", "sbp", _M, "<", 90, hysteresis=_BP_HYST),
    Rule("bp_low", "map", _M, "<", 65, hysteresis=_BP_HYST),
        # Rapid desaturation (10 points beyond the limit) cuts the delay to 5 s (Masimo Rad-97).
    Rule("spo2_severe", "spo2", _H, "<=", 85, delay_s=5, hysteresis=_SPO2_HYST,
         rapid_margin=_RAPID_DESAT),
    Rule("spo2_low", "spo2", _M, "<", 90, delay_s=15, hysteresis=_SPO2_HYST,
         rapid_margin=_RAPID_DESAT),
    # Relative drop clamped to the spo2_low floor.
    Rule("spo2_drop", "spo2", _L, "<=", offset=-4, clamp=90, delay_s=60, hysteresis=_SPO2_HYST),
    Rule("hr_high", "pulse_rate", _M, ">", 120, delay_s=60, hysteresis=_HR_HYST),
    Rule("hr_high", "pulse_rate", _M, ">=", offset=30, clamp=120, delay_s=60,
         hysteresis=_HR_HYST),
    Rule("hr_severe_high", "pulse_rate", _H, ">=", 150, delay_s=10, hysteresis=_HR_HYST),
    Rule("hr_low", "pulse_rate", _M, "<", 50, delay_s=10, hysteresis=_HR_HYST),
    Rule("hr_severe_low", "pulse_rate", _H, "<", 40, delay_s=10, hysteresis=_HR_HYST),
    # clinical-defaults.md "Respiration". Apnea: the source's no-breath flag as reported, or
    # no breath for 20 s: a respiration rate of 0, or one the source cannot count
    # (respiration.breaths_counted); a silent source is resp_stale, a technical alarm.
    Rule("apnea", "apnea", _H, ">=", 1),
    Rule("apnea", "resp_rate", _H, "<", 1, delay_s=20),
    Rule("resp_rate_low", "resp_rate", _M, "<", 8, delay_s=30, hysteresis=_RR_HYST),
    Rule("resp_rate_high", "resp_rate", _L, ">", 30, delay_s=60, hysteresis=_RR_HYST),
    Rule("etco2_high", "etco2", _M, ">", 50, delay_s=30, hysteresis=_CO2_HYST),
    # Relative rise clamped to the etco2_high ceiling.
    Rule("etco2_rise", "etco2", _L, ">=", offset=10, clamp=50, delay_s=60, hysteresis=_CO2_HYST),
    Rule("etco2_low", "etco2", _L, "<", 20, delay_s=60, hysteresis=_CO2_HYST,
         requires="resp_rate"),
)  # fmt: skip


class RuleState:
    """The evaluator's memory of one rule row (mutable, owned by one room)."""

    __slots__ = ("rule", "limit", "triggered", "pending_since", "clear_since", "hits", "value")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.limit: float | None = rule.absolute
        self.triggered = False
        self.pending_since: float | None = None  # limit violated continuously since
        self.clear_since: float | None = None  # back inside by the margin since
        self.hits: list[float] = []  # times of violating cuff readings (confirmation)
        self.value: float | None = None  # the value that triggered / last evaluated

    def reset(self) -> None:
        self.triggered = False
        self.pending_since = self.clear_since = None
        self.hits.clear()
        self.value = None


def evaluate_continuous(state: RuleState, t: float, value: float) -> bool | None:
    """Advance one continuous row with a smoothed sample; return its new trigger state when
    it changed, else None."""
    limit = state.limit
    if limit is None:
        return None
    rule = state.rule
    if not state.triggered:
        if violates(rule.comparator, value, limit):
            if state.pending_since is None:
                state.pending_since = t
            delay = rule.delay_s
            if rule.rapid_margin is not None and abs(value - limit) >= rule.rapid_margin:
                delay = min(delay, rule.rapid_delay_s)
            if t - state.pending_since >= delay:
                state.triggered = True
                state.value = value
                state.clear_since = None
                return True
        else:
            state.pending_since = None
        return None
    state.value = value if violates(rule.comparator, value, limit) else state.value
    if back_inside(rule.comparator, value, limit, rule.hysteresis):
        if state.clear_since is None:
            state.clear_since = t
        if t - state.clear_since >= rule.delay_s:
            state.triggered = False
            state.pending_since = None
            state.value = value
            return False
    else:
        state.clear_since = None
    return None


def evaluate_episodic(state: RuleState, t: float, value: float) -> bool | None:
    """Advance one episodic row with one cuff reading; return the new trigger state when it
    changed, else None.

    Confirmation counts violating *readings* (distinct times) within the window: the rows of
    one condition share `hits` (the pipeline links them), so SBP ≥ 180 on one reading and
    DBP ≥ 110 on the next confirm `bp_severe` ("SBP ≥ 180 or DBP ≥ 110 on two readings"),
    a cycle delivered twice is still one reading, and a lower reading between two severe
    ones does not reset the count (the safer reading of "two readings within 5 min")."""
    limit = state.limit
    if limit is None:
        return None
    rule = state.rule
    if violates(rule.comparator, value, limit):
        hits = state.hits
        if not hits or t > hits[-1]:
            hits.append(t)
        while hits and hits[0] < t - rule.confirm_window_s:
            hits.pop(0)
        if not state.triggered and len(hits) >= rule.confirm_count:
            state.triggered = True
            state.value = value
            return True
        if state.triggered:
            state.value = value
        return None
    if state.triggered and back_inside(rule.comparator, value, limit, rule.hysteresis):
        state.triggered = False
        state.value = value
        return False
    return None
