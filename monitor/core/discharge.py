"""Discharge readiness (clinical-defaults.md): every criterion, met or not, said truthfully.

All of: ≥ 2 h since the (latest) dose mark; no active alarm; the last two BP readings below
140/90 (or within 20 % of the BP baseline, when there is one); SpO2 ≥ 94 % (or ≥ baseline − 2)
for the last 15 min; pulse rate within 20 % of baseline (only when there is a pulse baseline:
without one there is nothing to compare with). Vigil shows "ready for discharge review"; a
clinician records the review: ready, not ready, or an override with a reason.

Each criterion's text states what the data shows now ("SpO2 ≥ 94 % for 5 of the last 15 min
of data so far", "last two BP 122/78, 118/76: below 140/90"), never a bare "not at target".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from monitor.core.baseline import Baseline
from monitor.core.conditioning import BpReading
from monitor.core.policy import DischargePolicy


class ReviewOutcome(StrEnum):
    """What a clinician recorded at the discharge review."""

    READY = "ready"  # every criterion met and the clinician agrees
    NOT_READY = "not_ready"  # the clinician judged the patient not ready (any time after dose)
    OVERRIDE = "override"  # ready despite unmet criteria: needs a reason


#: Outcomes that clear the patient for discharge (a session ended without one warns).
DISCHARGING: frozenset[str] = frozenset({ReviewOutcome.READY, ReviewOutcome.OVERRIDE})


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str  # time | alarms | bp | spo2 | pulse
    met: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        # Not asdict (a deep copy): every room snapshot carries the criteria.
        return {"key": self.key, "met": self.met, "text": self.text}


def spo2_threshold(baseline: Baseline, policy: DischargePolicy) -> float:
    """SpO2 ≥ floor, or ≥ baseline − 2 for a patient whose own normal is lower."""
    if baseline.spo2 is None:
        return policy.spo2_floor
    return min(policy.spo2_floor, baseline.spo2 - policy.spo2_below_baseline)


def _hm(seconds: float) -> str:
    """2 h, 1 h 59 min, 45 min (whole minutes, rounded down: never claims time not passed)."""
    m = int(seconds // 60)
    h, m = divmod(m, 60)
    return f"{h} h {m} min" if h and m else f"{h} h" if h else f"{m} min"


def _bp(r: BpReading) -> str:
    return f"{r.sbp:.0f}/{r.dbp:.0f}"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def _bp_criterion(
    bp: Sequence[BpReading], baseline: Baseline, policy: DischargePolicy
) -> Criterion:
    below = f"{policy.bp_ok_sbp_below:g}/{policy.bp_ok_dbp_below:g}"
    has_base = baseline.sbp is not None and baseline.dbp is not None
    f = policy.bp_within_fraction
    rule = f"below {below}"
    if has_base:
        rule += f" or within {_pct(f)} of baseline {baseline.sbp:.0f}/{baseline.dbp:.0f}"
    last_two = list(bp[-2:])
    if len(last_two) < 2:
        n = "no reading" if not last_two else f"only 1 reading ({_bp(last_two[0])})"
        return Criterion("bp", False, f"last two BP readings {rule}: {n} so far")

    def below_limit(r: BpReading) -> bool:
        return r.sbp < policy.bp_ok_sbp_below and r.dbp < policy.bp_ok_dbp_below

    def near_base(r: BpReading) -> bool:
        if baseline.sbp is None or baseline.dbp is None:
            return False
        return abs(r.sbp - baseline.sbp) <= f * baseline.sbp and (
            abs(r.dbp - baseline.dbp) <= f * baseline.dbp
        )

    base = f"{baseline.sbp:.0f}/{baseline.dbp:.0f}" if has_base else ""
    shown = ", ".join(_bp(r) for r in last_two)
    bad = [r for r in last_two if not (below_limit(r) or near_base(r))]
    if bad:
        why = f"neither below {below} nor within {_pct(f)} of baseline {base}"
        if not has_base:
            why = f"not below {below} (no BP baseline)"
        return Criterion("bp", False, f"last two BP {shown}: {', '.join(map(_bp, bad))} {why}")
    if all(map(below_limit, last_two)):
        how = "below " + below
    elif all(map(near_base, last_two)):
        how = f"within {_pct(f)} of baseline {base}"
    else:
        how = rule
    return Criterion("bp", True, f"last two BP {shown}: {how}")


def _spo2_criterion(
    now: float, ok_since: float | None, spo2_now: float | None, thr: float, policy: DischargePolicy
) -> Criterion:
    window_min = policy.spo2_window_s / 60
    target = f"SpO2 ≥ {thr:g} %"
    if ok_since is not None and now - ok_since >= policy.spo2_window_s:
        return Criterion("spo2", True, f"{target} for the last {window_min:g} min")
    if ok_since is not None:
        so_far = int((now - ok_since) // 60)
        return Criterion(
            "spo2", False, f"{target} for {so_far} of the last {window_min:g} min of data so far"
        )
    if spo2_now is None:
        return Criterion("spo2", False, f"{target} for {window_min:g} min: no valid SpO2 now")
    return Criterion("spo2", False, f"{target} for {window_min:g} min: {spo2_now:.0f} % now")


def _pulse_criterion(pulse_rate: float | None, base: float, policy: DischargePolicy) -> Criterion:
    f = policy.pulse_rate_within_fraction
    band = f"{base * (1 - f):.0f}–{base * (1 + f):.0f}"
    rule = f"within {_pct(f)} of baseline {base:.0f} ({band})"
    if pulse_rate is None:
        return Criterion("pulse", False, f"pulse rate {rule}: no valid pulse rate now")
    ok = abs(pulse_rate - base) <= f * base
    return Criterion("pulse", ok, f"pulse rate {pulse_rate:.0f} {'' if ok else 'not '}{rule}")


def discharge_criteria(
    now: float,
    *,
    dose_t: float,
    alarms: Sequence[str],
    bp: Sequence[BpReading],
    baseline: Baseline,
    spo2_ok_since: float | None,
    pulse_rate: float | None,
    policy: DischargePolicy,
    spo2_now: float | None = None,
    spo2_target: float | None = None,
    top_up: bool = False,
) -> list[Criterion]:
    """Every criterion with whether it holds now (`dose_t` is the latest dose mark).
    `spo2_target` is the threshold `spo2_ok_since` was tracked against (default: from the
    baseline), so the text and the verdict use the same number."""
    which = "the last dose" if top_up else "the dose"
    need, since = policy.min_after_dose_s, max(0.0, now - dose_t)
    text = f"{_hm(need)} since {which}: {_hm(since)} so far"
    out = [Criterion("time", since >= need, text)]
    if alarms:
        out.append(Criterion("alarms", False, f"alarms present: {', '.join(sorted(alarms))}"))
    else:
        out.append(Criterion("alarms", True, "no active alarm"))
    out.append(_bp_criterion(bp, baseline, policy))
    thr = spo2_target if spo2_target is not None else spo2_threshold(baseline, policy)
    out.append(_spo2_criterion(now, spo2_ok_since, spo2_now, thr, policy))
    if baseline.pulse_rate is not None:
        out.append(_pulse_criterion(pulse_rate, baseline.pulse_rate, policy))
    return out


def unmet_criteria(now: float, **kw: Any) -> list[str]:
    """What still stands between the patient and discharge review (empty: ready)."""
    return [c.text for c in discharge_criteria(now, **kw) if not c.met]


class CriteriaMemo:
    """`discharge_criteria` computed again only when its result can differ.

    A room in recovery asks for its criteria every second; they change when data arrives or
    a window edge passes (a minute of the clock, the SpO2 window filled), not in between. The
    key holds every input the result depends on, with `now` reduced to what the texts and
    verdicts show (whole minutes since the dose and since SpO2 became acceptable, whether
    each window is full), so a hit returns exactly what the computation would (the inputs
    kept in the key are frozen: policy, baseline, BP readings). The arguments are
    `discharge_criteria`'s, in its order (positional: this runs every second).
    """

    __slots__ = ("_key", "criteria", "unmet")

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        #: The latest result, and the texts of its unmet criteria (read, never changed).
        self.criteria: tuple[Criterion, ...] = ()
        self.unmet: tuple[str, ...] = ()

    def update(
        self,
        now: float,
        dose_t: float,
        alarms: Sequence[str],
        bp: Sequence[BpReading],
        baseline: Baseline,
        spo2_ok_since: float | None,
        pulse_rate: float | None,
        policy: DischargePolicy,
        spo2_now: float | None,
        spo2_target: float | None,
        top_up: bool,
    ) -> tuple[Criterion, ...]:
        since = max(0.0, now - dose_t)
        spo2: tuple[Any, ...]
        if spo2_ok_since is None:
            spo2 = ("now", spo2_now)
        elif now - spo2_ok_since >= policy.spo2_window_s:
            spo2 = ("full",)
        else:
            spo2 = ("for", int((now - spo2_ok_since) // 60))
        key = (
            policy,
            since >= policy.min_after_dose_s,
            int(since // 60),
            top_up,
            tuple(alarms),
            bp[-2:],
            baseline,
            spo2_target,
            spo2,
            pulse_rate if baseline.pulse_rate is not None else None,
        )
        if key != self._key:
            self.criteria = tuple(
                discharge_criteria(
                    now,
                    dose_t=dose_t,
                    alarms=alarms,
                    bp=bp,
                    baseline=baseline,
                    spo2_ok_since=spo2_ok_since,
                    pulse_rate=pulse_rate,
                    policy=policy,
                    spo2_now=spo2_now,
                    spo2_target=spo2_target,
                    top_up=top_up,
                )
            )
            self.unmet = tuple(c.text for c in self.criteria if not c.met)
            self._key = key
        return self.criteria
