"""One room's rule rows: the rule table (rules.py) with each row's effective limit and memory.

`Limits` holds a `RuleState` per rule row, by channel and by condition; `apply` sets the
baseline-relative limits (None until a baseline is confirmed), `episodic` runs one cuff
cycle through the SBP/DBP/MAP rows, and `alarm` turns a condition's rows into the alarm
engine's raise or lower. The continuous rows run in the pipeline's `feed` (the hot path),
which skips them while the smoothed value sits in the `quiet` band with nothing `engaged`.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.core.baseline import Baseline
from monitor.core.engine import RANK, AlarmEngine
from monitor.core.models import AlarmEvent
from monitor.core.rules import (
    CONTINUOUS_CHANNELS,
    EPISODIC_CHANNELS,
    Rule,
    RuleState,
    evaluate_episodic,
)
from monitor.core.snapshot import LimitView


class Limits:
    """The evaluator rows of `rules`. A row of `reuse` whose rule is unchanged is kept with
    its state (a live rule change: monitor/config_store.py)."""

    def __init__(self, rules: Iterable[Rule], reuse: Sequence[RuleState] = ()) -> None:
        kept = list(reuse)
        self.rows: dict[str, list[RuleState]] = {
            ch: [] for ch in CONTINUOUS_CHANNELS + EPISODIC_CHANNELS
        }
        self.by_condition: dict[str, list[RuleState]] = {}
        # Per continuous channel: the band inside every limit, and whether a row is pending
        # or triggered (then every sample is evaluated).
        self.quiet: dict[str, tuple[float, float]] = {}
        self.engaged: dict[str, bool] = {}
        shared_hits: dict[tuple[str, int, float], list[float]] = {}
        for rule in rules:
            state = next((row for row in kept if row.rule == rule), None)
            if state is not None:
                kept.remove(state)
            else:
                state = RuleState(rule)
            if rule.confirm_count > 1:
                # One condition's confirming rows count readings together (see rules.py).
                key = (rule.id, rule.confirm_count, rule.confirm_window_s)
                state.hits = shared_hits.setdefault(key, state.hits)
            self.rows[rule.channel].append(state)
            self.by_condition.setdefault(rule.id, []).append(state)

    def all_rows(self) -> list[RuleState]:
        return [row for rows in self.rows.values() for row in rows]

    def reset(self) -> None:
        """Every row forgets its state (the session ended)."""
        for row in self.all_rows():
            row.reset()

    def triggered(self) -> set[str]:
        return {row.rule.id for row in self.all_rows() if row.triggered}

    def apply(self, baseline: Baseline, relative_on: bool) -> list[str]:
        """Recompute every row's effective limit (relative rows need a confirmed baseline:
        `relative_on`). Returns the conditions whose triggered row changed, in order."""
        changed = set()
        for rows in self.rows.values():
            for row in rows:
                rule = row.rule
                if not rule.relative:
                    continue
                limit = rule.limit(baseline.get(rule.channel)) if relative_on else None
                if limit != row.limit:
                    if row.triggered:
                        changed.add(rule.id)
                    row.reset()
                    row.limit = limit
        # The band of values inside every continuous limit (strictly), for feed's fast path.
        for channel in CONTINUOUS_CHANNELS:
            lo, hi = float("-inf"), float("inf")
            for row in self.rows[channel]:
                limit = row.limit
                if limit is None:
                    continue
                if row.rule.comparator == "<":
                    lo = max(lo, limit - 1e-9)
                elif row.rule.comparator == "<=":
                    lo = max(lo, limit)
                elif row.rule.comparator == ">":
                    hi = min(hi, limit)
                else:
                    hi = min(hi, limit - 1e-9)
            self.quiet[channel] = (lo, hi)
            self.engaged[channel] = True  # evaluate the next sample fully
        return sorted(changed)

    def episodic(self, t: float, values: dict[str, float]) -> tuple[list[str], bool]:
        """One cuff cycle through the episodic rows: the conditions it changed (the most
        urgent first), and whether it needs a confirmation reading."""
        changed: list[str] = []
        confirm_needed = False
        for channel, value in values.items():
            for row in self.rows[channel]:
                if evaluate_episodic(row, t, value) is not None and row.rule.id not in changed:
                    changed.append(row.rule.id)
        for channel in values:
            for row in self.rows[channel]:
                # This reading violated a confirming row that is still unconfirmed.
                rule = row.rule
                confirming = rule.confirm_count > 1 and row.hits and row.hits[-1] == t
                if confirming and not any(r.triggered for r in self.by_condition[rule.id]):
                    confirm_needed = True
        changed.sort(key=lambda c: -RANK[self.by_condition[c][0].rule.priority])
        return changed, confirm_needed

    def alarm(
        self, engine: AlarmEngine, t: float, condition: str, baseline: Baseline, relative_on: bool
    ) -> list[AlarmEvent]:
        """The condition's alarm after its rows changed: raised by the first triggered row,
        lowered when none is."""
        rows = self.by_condition[condition]
        hit = next((r for r in rows if r.triggered), None)
        if hit is None:
            last = next((r.value for r in rows if r.value is not None), None)
            return engine.lower(t, condition, value=last, reason="back inside the limit")
        rule = hit.rule
        base = baseline.get(rule.channel) if rule.relative or relative_on else None
        limit = hit.limit
        assert limit is not None and hit.value is not None
        confirm = f" on {rule.confirm_count} readings" if rule.confirm_count > 1 else ""
        delay = f" for {rule.delay_s:g} s" if rule.delay_s else ""
        return engine.raise_(
            t,
            condition,
            kind=rule.kind,
            channel=rule.channel,
            priority=rule.priority,
            value=hit.value,
            limit=limit,
            baseline=base,
            reason=f"{rule.channel} {hit.value:g} {rule.comparator} {limit:g}{delay}{confirm}",
            lower_is_worse=rule.comparator.startswith("<"),
        )

    def view(self) -> dict[str, tuple[LimitView, ...]]:
        """The active limits by condition, for the snapshot."""
        return {
            condition: tuple(
                LimitView(r.rule.channel, r.rule.comparator, r.limit, r.rule.priority,
                          r.rule.relative)
                for r in rows
                if r.limit is not None
            )
            for condition, rows in self.by_condition.items()
        }  # fmt: skip
