"""One room's pipeline: condition ▶ baseline ▶ rules ▶ alarms. Pure: no I/O, no clock.

`feed(Reading)`, `device_state(DeviceState)`, `control(Control)` and `tick(now)` return the
events they cause: `AlarmEvent` (alarm transitions), `PhaseEvent` (session phases) and
`BpRequest` (ask the cuff to measure). Time comes only from those inputs; timers (stale data,
probe off, disconnection, BP overdue, escalation, phases) are checked on `tick(now)` and at
most once per second of input time on other inputs, so replay at full speed and live
operation produce the same events.

Physiological rules with absolute limits run in every phase (absolute limits always stay
active); baseline-relative limits run after the dose once the baseline is confirmed and
not pathological. Technical alarms run during a session (pre_dose to discharge_ready).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from math import isfinite
from typing import Any

from monitor.core.baseline import (
    BASELINE_CHANNELS,
    Baseline,
    bp_baseline,
    continuous_baseline,
    pathological_reasons,
    pre_dose_advisory,
)
from monitor.core.conditioning import (
    PLAUSIBLE,
    BpAssembler,
    BpReading,
    CuffFailure,
    TimeRollingMedian,
)
from monitor.core.discharge import (
    DISCHARGING,
    CriteriaMemo,
    Criterion,
    ReviewOutcome,
    spo2_threshold,
)
from monitor.core.engine import RANK, AlarmEngine
from monitor.core.models import (
    EXCLUDING_FLAGS,
    AlarmEvent,
    AlarmKind,
    Channel,
    Control,
    DeviceState,
    Flag,
    LinkState,
    PhaseEvent,
    Priority,
    Reading,
)
from monitor.core.policy import CorePolicy
from monitor.core.respiration import (
    CO2_LINE_BLOCKED,
    RESP_STALE,
    breaths_counted,
    co2_line_blocked_reason,
    resp_stale_reason,
)
from monitor.core.rules import (
    CONTINUOUS_CHANNELS,
    EPISODIC_CHANNELS,
    OXIMETRY_CHANNELS,
    RESPIRATION_CHANNELS,
    Rule,
    RuleState,
    evaluate_continuous,
    evaluate_episodic,
)
from monitor.core.schedule import BpRequest, BpSchedule
from monitor.core.session import (
    DOSE_MAX_MG,
    DOSE_ROUTES,
    IN_SESSION,
    POST_DOSE,
    Phase,
    SessionInfo,
)

PipelineEvent = AlarmEvent | PhaseEvent | BpRequest

#: Oximeter flags meaning "no sensor on the patient" (probe_off technical alarm).
PROBE_FLAGS: frozenset[str] = frozenset({Flag.PROBE_OFF, Flag.SEARCHING, Flag.SENSOR_FAULT})
#: Cuff readings that are not the patient's BP now (EXCLUDING_FLAGS keeps them out of the
#: continuous channels; a cuff cycle needs its own check, as motion etc. do not void it).
NOT_MEASURED_NOW: frozenset[str] = frozenset({Flag.STORED, Flag.DEMO})
#: A value carrying these is noise, not a sign that the sensor is back on the patient.
UNTRUSTED_FLAGS: frozenset[str] = frozenset({Flag.IMPLAUSIBLE, Flag.GARBLED, Flag.UNVERIFIED})
#: Link states in which the device is reachable (garbled: up, but its bytes are noise).
LINK_UP = frozenset({LinkState.CONNECTED, LinkState.GARBLED})
TIMER_STEP_S = 1.0  # timers are checked at most once per second of input time
HISTORY_IN_SNAPSHOT = 100
DOSE_REPEAT_GUARD_S = 60.0  # a second dose mark sooner than this is a double tap
_TECH = AlarmKind.TECHNICAL
_NUMERIC = (int, float)
# The channel groups as sets of plain strings, for the per-reading membership tests.
_EPISODIC: frozenset[str] = frozenset(map(str, EPISODIC_CHANNELS))
_RESPIRATION: frozenset[str] = frozenset(map(str, RESPIRATION_CHANNELS))
_CUFF_PRESSURE = str(Channel.CUFF_PRESSURE)  # an enum member lookup costs ~0.1 µs
_ETCO2 = str(Channel.ETCO2)
_STALE_CONDITIONS = tuple((ch, ch + "_stale") for ch in OXIMETRY_CHANNELS)


#: Technical conditions other parts of Vigil report through the `technical_alarm` control,
#: with their default priority (clinical-defaults.md "Technical alarms").
EXTERNAL_TECHNICAL: dict[str, str] = {
    "notify_failed": "high",
    "storage_degraded": "low",
    "journal_failed": "high",
    "hl7_out_down": "low",  # the PCD-01 receiver unreachable (monitor/hl7out/)
}
#: Raised when Vigil comes back after a restart (`resumed` control, monitor/resume.py): it
#: reports an event (nobody watched for a while), not a lasting state, so acknowledging it
#: ends it.
MONITORING_INTERRUPTED = "monitoring_interrupted"


def _rule_rows(
    rules: Iterable[Rule], reuse: list[RuleState]
) -> tuple[dict[str, list[RuleState]], dict[str, list[RuleState]]]:
    """The evaluator rows of `rules`, by channel and by condition. A row of `reuse` whose
    rule is unchanged is kept with its state (a live rule change: monitor/config_store.py)."""
    kept = list(reuse)
    by_channel: dict[str, list[RuleState]] = {
        ch: [] for ch in CONTINUOUS_CHANNELS + EPISODIC_CHANNELS
    }
    by_condition: dict[str, list[RuleState]] = {}
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
        by_channel[rule.channel].append(state)
        by_condition.setdefault(rule.id, []).append(state)
    return by_channel, by_condition


class RoomPipeline:
    """Feed readings, device states, controls and ticks; get events back."""

    def __init__(
        self,
        room: str,
        *,
        policy: CorePolicy | None = None,
        escalation_after_s: dict[str, list[float]] | None = None,
        cuff_sources: Iterable[str] = (),
        resp_sources: Iterable[str] = (),
    ) -> None:
        self.room = room
        self.policy = p = policy or CorePolicy()
        self.engine = AlarmEngine(
            room, escalation_after_s=escalation_after_s, audio_pause_s=p.audio_pause_s
        )
        self.phase: str = Phase.IDLE
        self.latest: dict[str, Reading] = {}
        self.smoothed: dict[str, float] = {}
        self.devices: dict[str, DeviceState] = {}
        self.rejected: Counter[str] = Counter()  # implausible values by channel
        self.log: list[dict[str, Any]] = []  # controls with who and the outcome (audit)
        self._smoothers = {
            ch: TimeRollingMedian(p.conditioning.smoothing_window_s) for ch in CONTINUOUS_CHANNELS
        }
        self._rows, self._rows_by_condition = _rule_rows(p.rules, [])
        self._assembler = BpAssembler(p.conditioning.bp_group_s)
        # Sources known to be BP cuffs: their pulse_rate is the cuff's, never the oximeter's.
        # The runtime may name them from the device config; any source that sends a
        # pressure channel joins (a BLE cuff's inflation pulse comes before its first SBP).
        self._cuff_sources: set[str] = set(cuff_sources)
        # Sources expected to deliver respiration (configured, or heard from): resp_stale.
        self._resp_sources: set[str] = set(resp_sources)
        self._channel_source: dict[str, str] = {}
        self._link_up: dict[str, float] = {}  # when each source's link last came back
        self._garbled: dict[str, str] = {}  # sources whose bytes are noise, with the detail
        self._failed: dict[str, str] = {}  # sources whose driver failed, with the reason
        self._line_blocked: dict[str, float] = {}  # sources whose CO2 line is blocked, since
        self._now = float("-inf")
        self._timer_due = float("-inf")
        self._discharge_memo = CriteriaMemo()  # asked every second in recovery
        self._reset_session()

    def _reset_session(self) -> None:
        self.session = SessionInfo()
        self.baseline = Baseline()  # the baseline in use (after the dose)
        self.baseline_status = "none"  # none | derived | entered | confirmed | refused
        self.baseline_refused: list[str] = []
        self.advisories: list[str] = []
        self.bp_readings: list[BpReading] = []
        self.schedule: BpSchedule | None = None
        self.discharge_unmet: list[str] = []
        self._explicit: dict[str, float] = {}
        self._explicit_by: str | None = None
        self._pre_dose: dict[str, deque[tuple[float, float]]] = {
            ch: deque() for ch in CONTINUOUS_CHANNELS
        }
        self._last_valid: dict[str, float | None] = {ch: None for ch in CONTINUOUS_CHANNELS}
        self._probe_off_since: float | None = None
        self._down_since: dict[str, float] = {
            s: d.t for s, d in self.devices.items() if d.state not in LINK_UP
        }
        self._spo2_ok_since: float | None = None
        self._spo2_ok_threshold = spo2_threshold(self.baseline, self.policy.discharge)
        self._last_pre_dose_request: float | None = None
        self._relative_on = False
        self._quiet: dict[str, tuple[float, float]] = {}
        self._engaged: dict[str, bool] = {}
        self._apply_limits([])

    # -- compatibility views --------------------------------------------------------------
    @property
    def dose_t(self) -> float | None:
        return self.session.dose_t

    @property
    def active(self) -> dict[str, AlarmEvent]:
        return self.engine.current

    @property
    def audio_paused_until(self) -> float | None:
        return self.engine.audio_paused_until

    @property
    def history(self) -> list[AlarmEvent]:
        """Every alarm transition of this room, with reasons, in order."""
        return self.engine.history

    # -- inputs -----------------------------------------------------------------------------
    def feed(self, reading: Reading) -> list[PipelineEvent]:
        t = reading.t
        if not isfinite(t):
            # A NaN or infinite time would stop every timer and window: not a reading.
            self.rejected["time"] += 1
            return []
        out: list[PipelineEvent] = self._timers(t) if t >= self._timer_due else []
        if t > self._now:
            self._now = t
        channel = reading.channel
        self.latest[channel] = reading
        source = reading.source
        if channel == _CUFF_PRESSURE:
            if source:
                self._cuff_sources.add(source)
            return out  # inflation pressure: shown, not evaluated
        if channel in _EPISODIC or (
            channel == "pulse_rate" and source and source in self._cuff_sources
        ):
            if channel != "pulse_rate":
                self._cuff_sources.add(source)
            if reading.status & NOT_MEASURED_NOW:
                # Replayed from the cuff's memory (or demo data): recorded and shown, never
                # part of a cycle, so it cannot alarm, enter a baseline or meet the schedule.
                return out
            if channel == "pulse_rate" and self._pulse_of_last_cycle(t, source, reading.value):
                return out
            for result in self._assembler.add(t, channel, reading.value, reading.status, source):
                out += self._on_cuff(result)
            return out
        smoother = self._smoothers.get(channel)
        if smoother is None:
            return out  # perfusion index and the like: shown, not evaluated
        self._channel_source[channel] = source
        status = reading.status
        value = reading.value
        respiration = channel in _RESPIRATION
        if respiration:
            if source:
                self._resp_sources.add(source)
            value, status = breaths_counted(channel, value, status)
            # Blocked by any flagged respiration value; clear only by an unflagged EtCO2 (a
            # monitor's impedance RR goes on unflagged while its CO2 line is blocked).
            blocked = Flag.LINE_BLOCKED in status
            was_blocked = source in self._line_blocked
            if blocked != was_blocked and (blocked or channel == _ETCO2):
                out += self._co2_line(t, source, blocked)
        if status and status & PROBE_FLAGS and not respiration:
            if self._probe_off_since is None:
                self._probe_off_since = t
                if self.phase in IN_SESSION:
                    out += self._probe_off(t)
            return out
        trusted = not (status and status & UNTRUSTED_FLAGS)
        # Only oximetry ends probe off: a capnograph's breaths say nothing about the sensor.
        if self._probe_off_since is not None and value is not None and trusted and not respiration:
            self._probe_off_since = None
            out += self.engine.lower(t, "probe_off", reason="sensor back on")
        if value is None or (status and status & EXCLUDING_FLAGS):
            return out
        lo, hi = PLAUSIBLE[channel]
        if not lo <= value <= hi:
            self.rejected[channel] += 1
            return out
        last = self._last_valid[channel]
        if last is not None and t < last:
            # Older than a sample already evaluated (buffered, reordered): it is not the
            # patient's state now and would restart or shorten the rules' dwell timers.
            self.rejected[channel + "_out_of_order"] += 1
            return out
        rows = self._rows[channel]
        tech = self.policy.technical
        if last is None or t - last > (
            tech.resp_stale_after_s if respiration else tech.stale_after_s
        ):
            # After a gap the dwell timers restart: the value during the gap is unknown.
            for row in rows:
                row.pending_since = row.clear_since = None
            if self.engine.present.get(channel + "_stale"):
                out += self.engine.lower(t, channel + "_stale", reason="valid data again")
        self._last_valid[channel] = t
        smoothed = smoother.push(t, value)
        self.smoothed[channel] = smoothed
        if self.session.dose_t is None:
            window = self._pre_dose[channel]
            window.append((t, value))
            horizon = t - self.policy.baseline.continuous_window_s
            while window[0][0] < horizon:
                window.popleft()
        # Fast path: inside every limit with nothing pending, no row can change.
        lo, hi = self._quiet[channel]
        if self._engaged[channel] or not lo < smoothed < hi:
            engaged = False
            for row in rows:
                if row.limit is None:
                    continue
                if row.rule.requires is not None and not self._present(row.rule.requires, t):
                    # Not this condition's situation now (EtCO2 low without breathing).
                    row.pending_since = row.clear_since = None
                    if row.triggered:
                        row.triggered = False
                        out += self._condition_changed(t, row.rule.id)
                    continue
                if evaluate_continuous(row, t, smoothed) is not None:
                    out += self._condition_changed(t, row.rule.id)
                if row.triggered or row.pending_since is not None:
                    engaged = True
            self._engaged[channel] = engaged
        if channel == "spo2":
            if (
                smoothed < self._spo2_ok_threshold
                or last is None
                or t - last > self.policy.technical.stale_after_s
            ):
                self._spo2_ok_since = t if smoothed >= self._spo2_ok_threshold else None
            elif self._spo2_ok_since is None:
                self._spo2_ok_since = t
        return out

    def device_state(self, state: DeviceState) -> list[PipelineEvent]:
        t = state.t
        out: list[PipelineEvent] = self._timers(t) if t >= self._timer_due else []
        self._now = max(self._now, t)
        self.devices[state.source] = state
        failed = state.state == LinkState.FAILED
        if failed:
            self._failed[state.source] = state.detail
        elif self._failed.pop(state.source, None) is not None:
            out += self._device_failed(t)
        if state.state == LinkState.GARBLED:
            # The link is up but carries noise (drivers/quality.py): not a disconnect.
            self._garbled[state.source] = state.detail
            return out + self._garbled_alarm(t)
        if self._garbled.pop(state.source, None) is not None:
            out += self._garbled_alarm(t)
        if state.state == LinkState.CONNECTED:
            if self._down_since.pop(state.source, None) is not None:
                self._link_up[state.source] = t
            out += self._disconnected(t)
        else:
            # Down or failed: it explains the silence of its channels (no `*_stale`).
            self._down_since.setdefault(state.source, t)
            if failed:
                out += self._device_failed(t)
        return out

    def tick(self, now: float) -> list[PipelineEvent]:
        """Advance the room's timers to `now` (the runtime calls this every second)."""
        self._now = max(self._now, now)
        return self._timers(now)

    def control(self, control: Control) -> list[PipelineEvent]:
        t = control.t
        # `resumed` first says what the time since the last input was (nobody watching),
        # so the timers must not judge that gap before it is applied.
        due = t >= self._timer_due and control.event != "resumed"
        out: list[PipelineEvent] = self._timers(t) if due else []
        self._now = max(self._now, t)
        handler = getattr(self, "_c_" + control.event, None)
        outcome = "ignored: unknown event"
        if handler is not None:
            outcome, events = handler(control)
            out += events
        self.log.append(
            {
                "t": t,
                "event": control.event,
                "args": dict(control.args),
                "by": control.by,
                "outcome": outcome,
            }
        )
        return out

    # -- controls (each returns its outcome for the audit log, and its events) --------------
    def _c_session_start(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        if self.phase in IN_SESSION:
            return "ignored: a session is already running", []
        self._reset_session()
        s = self.session
        s.started_t, s.started_by = c.t, c.by
        s.pseudonym = str(c.args["pseudonym"]) if c.args.get("pseudonym") else None
        age = c.args.get("age")
        s.age = float(age) if isinstance(age, _NUMERIC) and not isinstance(age, bool) else None
        out = self._set_phase(c.t, Phase.PRE_DOSE, f"started by {c.by or 'unknown'}")
        out += self._timers(c.t)
        return "ok", out

    def _c_baseline(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        if self.phase not in IN_SESSION:
            return "ignored: no session", []
        values: dict[str, float] = {}
        for key in BASELINE_CHANNELS:
            v = c.args.get(key)
            if v is None:
                continue
            if not isinstance(v, _NUMERIC) or isinstance(v, bool) or v != v:
                return f"rejected: {key} is not a number", []
            lo, hi = PLAUSIBLE[key]
            if not lo <= v <= hi:
                return f"rejected: {key} {v} outside {lo:g}–{hi:g}", []
            values[key] = float(v)
        if not values:
            return "rejected: no baseline values given", []
        self._explicit.update(values)
        self._explicit_by = c.by
        if self.phase == Phase.PRE_DOSE:
            self.baseline_status = "entered"
            return "ok: used at the dose mark", []
        # On top of the baseline in use: the pre-dose SpO2/PR windows are gone after the
        # dose, so deriving again would drop the SpO2 and pulse baseline the dose mark took.
        self.baseline = self.baseline.merged(self._explicit)
        return "ok", self._confirm(c.t, c.by)

    def _c_confirm_baseline(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        if self.phase == Phase.PRE_DOSE:
            derived = self._derived(c.t).to_dict()
            if not self._explicit and all(v is None for v in derived.values()):
                return "rejected: no baseline values to confirm", []
            self._explicit = {k: v for k, v in derived.items() if v is not None} | self._explicit
            self._explicit_by = c.by
            self.baseline_status = "entered"
            return "ok: used at the dose mark", []
        if self.phase not in POST_DOSE:
            return "ignored: no session", []
        if all(v is None for v in self.baseline.to_dict().values()):
            return "rejected: no baseline values to confirm", []
        return "ok", self._confirm(c.t, c.by)

    def _c_dose(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        s = self.session
        if self.phase in POST_DOSE:
            return self._top_up(c)
        if self.phase != Phase.PRE_DOSE:
            return f"ignored: dose in phase {self.phase}", []
        dose, problem = _dose_entry(c)
        if problem:
            return problem, []
        s.dose_t, s.dose_by = c.t, c.by
        s.doses.append(dose)
        derived = self._derived(c.t)
        self.schedule = BpSchedule(self.policy.bp_schedule, c.t)
        for window in self._pre_dose.values():
            window.clear()
        out = self._set_phase(c.t, Phase.DOSED, f"dose marked by {c.by or 'unknown'}")
        self.baseline = derived.merged(self._explicit)
        # Only what the clinician entered or confirmed is explicit: a pathological value
        # derived for another channel still refuses automatic relative limits.
        unconfirmed = Baseline(
            **{ch: None if ch in self._explicit else derived.get(ch) for ch in BASELINE_CHANNELS}
        )
        if self._explicit and not pathological_reasons(unconfirmed, self.policy.baseline):
            out += self._confirm(c.t, self._explicit_by)
            return "ok", out
        if all(v is None for v in derived.to_dict().values()):
            # Nothing to confirm: the status must not claim a confirmed baseline. Absolute
            # limits run; a baseline entered later turns the relative limits on.
            self.baseline_status = "none"
            return "ok: no baseline data; enter a baseline for relative limits", out
        self.baseline_refused = pathological_reasons(unconfirmed, self.policy.baseline)
        if self.baseline_refused:
            # AutoLimits practice: no relative limits from a pathological baseline until the
            # clinician enters or explicitly confirms values (absolute limits stay active).
            self.baseline_status = "refused"
            return "ok: baseline pathological, relative limits need confirmation", out
        out += self._confirm(c.t, c.by)
        return "ok", out

    def _top_up(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        """A further dose (IM/SL top-up): the BP schedule, the acute window and the discharge
        clock restart from it; the baseline stays the one taken before the first dose."""
        s = self.session
        last = s.last_dose_t
        if last is not None and c.t - last < DOSE_REPEAT_GUARD_S:
            # Two marks seconds apart are a double tap, not two doses.
            who = s.doses[-1].get("by") if s.doses else s.dose_by
            return (
                f"ignored: a dose was marked less than {DOSE_REPEAT_GUARD_S:g} s ago "
                f"by {who or 'unknown'}",
                [],
            )
        dose, problem = _dose_entry(c)
        if problem:
            return problem, []
        s.doses.append(dose)
        self.schedule = BpSchedule(self.policy.bp_schedule, c.t)
        out: list[PipelineEvent] = list(self.engine.lower(c.t, "bp_overdue", reason="top-up dose"))
        n = len(s.doses)
        out += self._set_phase(c.t, Phase.DOSED, f"top-up dose {n} marked by {c.by or 'unknown'}")
        self.discharge_unmet = []
        # A review made before this dose no longer describes the patient.
        s.discharge_reviewed_by = s.discharge_reviewed_t = s.discharge_outcome = None
        return f"ok: top-up dose {n}; BP schedule restarted", out

    def _c_ack(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        condition = str(c.args.get("condition"))
        since = c.args.get("since")
        current = self.engine.current.get(condition)
        if since is not None and current is not None and current.since != since:
            # A page's acknowledgement (link, Pushover receipt) names the episode it was
            # sent about; arriving late, it must not acknowledge a newer one nobody saw.
            return "ignored: that alarm episode is over", []
        events = self.engine.acknowledge(c.t, condition, c.by)
        if events and condition == MONITORING_INTERRUPTED:
            events += self.engine.lower(c.t, condition, reason="taken note of")
        if events:
            return "ok", list(events)
        if current is None:
            return f"ignored: no {condition} alarm is active", []
        return (
            f"ignored: {condition} already acknowledged by {current.acknowledged_by or 'someone'}",
            [],
        )

    def _c_technical_alarm(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        """A technical condition seen outside the room's data: the notifier could not page
        anyone (`notify_failed`), storage is down (`storage_degraded`, `journal_failed`).
        The core owns it like any other alarm, so it latches, is acknowledged and escalates
        the same way."""
        condition = str(c.args.get("condition", ""))
        if condition not in EXTERNAL_TECHNICAL:
            return f"ignored: {condition!r} is not an external technical condition", []
        reason = str(c.args.get("reason", ""))
        if c.args.get("state", "active") == "cleared":
            events = self.engine.lower(c.t, condition, reason=reason)
            return ("ok" if events else "ignored: not present"), list(events)
        try:
            priority = Priority(str(c.args.get("priority", EXTERNAL_TECHNICAL[condition])))
        except ValueError:
            return "ignored: unknown priority", []
        events = self.engine.raise_(
            c.t, condition, kind=_TECH, channel=None, priority=priority, reason=reason
        )
        return "ok", list(events)

    def _c_resumed(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        """Vigil restarted at `c.t`; this state was rebuilt from the journal's inputs up to
        the last one before the stop (monitor/resume.py). Nothing was observed in between, so
        the gap is not judged as stale data or a lost link: each link that was up counts as
        reconnecting from now, with the grace a new link gets (a driver that does not report
        back within the delay raises `device_disconnected` as usual). Conditions the stopped
        process owned (storage, paging) are lowered for the new one to check again (a latched
        one stays until acknowledged). In a session, `monitoring_interrupted` says how long
        nobody was watching. `sources` (optional): the device links the restarted run has; a
        link no longer configured is forgotten."""
        t = c.t
        configured = c.args.get("sources")  # the links the restarted run has (config changes)
        for source, state in list(self.devices.items()):
            if isinstance(configured, list) and source not in configured:
                # Gone from the config: no alarm can be about a link nobody will report.
                del self.devices[source]
                self._down_since.pop(source, None)
                self._failed.pop(source, None)
                self._garbled.pop(source, None)
            elif state.state in LINK_UP:
                # A garbled stream starts over too: the restarted run judges it afresh.
                self.devices[source] = DeviceState(t, source, LinkState.CONNECTING, "restarted")
                self._down_since[source] = t
                self._garbled.pop(source, None)
        for source in self._channel_source.values():
            self._link_up[source] = t
        out: list[PipelineEvent] = []
        for condition in EXTERNAL_TECHNICAL:
            out += self.engine.lower(t, condition, reason="Vigil restarted: checked again")
        out += self._timers(t)
        if self.phase not in IN_SESSION:
            return "ok: no session", out
        reason = str(c.args.get("reason") or "Vigil restarted")
        # Restarted again before anyone took note: a new interruption, with its own length.
        out += self.engine.lower(t, MONITORING_INTERRUPTED, reason="Vigil restarted again")
        out += self.engine.raise_(
            t,
            MONITORING_INTERRUPTED,
            kind=_TECH,
            channel=None,
            priority=Priority.MEDIUM,
            reason=reason,
        )
        return "ok", out

    def _c_audio_pause(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        self.engine.audio_pause(c.t, c.by)
        return "ok", []

    def _c_note(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        self.session.notes.append({"t": c.t, "text": str(c.args.get("text", "")), "by": c.by})
        return "ok", []

    def _c_discharge_review(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        """ready (every criterion met), not_ready, or override (ready despite unmet criteria,
        with a reason). The old form {"ready": true/false} means ready / not_ready."""
        if self.phase not in POST_DOSE:
            return f"ignored: no discharge review in phase {self.phase}", []
        raw = c.args.get("outcome")
        if raw is None:
            raw = ReviewOutcome.NOT_READY if c.args.get("ready") is False else ReviewOutcome.READY
        try:
            outcome = ReviewOutcome(str(raw))
        except ValueError:
            return f"rejected: outcome {raw!r} is not one of ready, not_ready, override", []
        reason = str(c.args.get("reason") or c.args.get("text") or "").strip()
        unmet = self._discharge_unmet(c.t)
        if outcome == ReviewOutcome.READY and unmet:
            return (
                f"rejected: not ready for discharge ({'; '.join(unmet)}): record not ready, "
                "or a clinician override with a reason",
                [],
            )
        if outcome == ReviewOutcome.OVERRIDE and not reason:
            return "rejected: an override needs a reason", []
        s = self.session
        entry: dict[str, Any] = {"t": c.t, "by": c.by, "outcome": outcome.value, "unmet": unmet}
        if reason:
            entry["reason"] = reason
        s.discharge_reviews.append(entry)
        if outcome in DISCHARGING:
            s.discharge_reviewed_by, s.discharge_reviewed_t = c.by, c.t
            s.discharge_outcome = outcome.value
        else:
            # A later "not ready" withdraws an earlier clearance.
            s.discharge_reviewed_by = s.discharge_reviewed_t = s.discharge_outcome = None
        if outcome == ReviewOutcome.OVERRIDE:
            return f"ok: override of {len(unmet)} unmet criteria", []
        return "ok", []

    def _c_session_end(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        if self.phase not in IN_SESSION:
            return "ignored: no session", []
        self.session.ended_t, self.session.ended_by = c.t, c.by
        self.schedule = None  # nothing runs in an ended room: no BP due, no countdown
        out: list[PipelineEvent] = []
        out += self.engine.clear_all(c.t, f"session ended by {c.by or 'unknown'}", c.by)
        for rows in self._rows.values():
            for row in rows:
                row.reset()
        # Relative limits belong to this patient: whoever is on the devices next is judged
        # by absolute limits only until a new session confirms a new baseline.
        self._relative_on = False
        self._apply_limits(out, c.t)
        out += self._set_phase(c.t, Phase.ENDED, f"ended by {c.by or 'unknown'}")
        return "ok", out

    # -- baseline and limits ----------------------------------------------------------------
    def _derived(self, dose_t: float) -> Baseline:
        bl = self.policy.baseline
        sbp, dbp, mean = bp_baseline(self.bp_readings, dose_t, bl)
        return Baseline(
            spo2=continuous_baseline(self._pre_dose["spo2"], dose_t, bl),
            pulse_rate=continuous_baseline(self._pre_dose["pulse_rate"], dose_t, bl),
            sbp=sbp,
            dbp=dbp,
            map=mean,
            etco2=continuous_baseline(self._pre_dose["etco2"], dose_t, bl),
        )

    def _confirm(self, t: float, by: str | None) -> list[PipelineEvent]:
        self.baseline_status = "confirmed"
        self.baseline_refused = []
        self.session.baseline_confirmed_by, self.session.baseline_confirmed_t = by, t
        self._relative_on = True
        self._spo2_ok_threshold = spo2_threshold(self.baseline, self.policy.discharge)
        out: list[PipelineEvent] = []
        self._apply_limits(out, t)
        return out

    def _apply_limits(self, out: list[PipelineEvent], t: float = 0.0) -> None:
        """Recompute every row's effective limit; relative rows need a confirmed baseline."""
        changed = set()
        for rows in self._rows.values():
            for row in rows:
                rule = row.rule
                if not rule.relative:
                    continue
                limit = rule.limit(self.baseline.get(rule.channel)) if self._relative_on else None
                if limit != row.limit:
                    if row.triggered:
                        changed.add(rule.id)
                    row.reset()
                    row.limit = limit
        for condition in sorted(changed):
            out += self._condition_changed(t, condition)
        # The band of values inside every continuous limit (strictly), for feed's fast path.
        for channel in CONTINUOUS_CHANNELS:
            lo, hi = float("-inf"), float("inf")
            for row in self._rows[channel]:
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
            self._quiet[channel] = (lo, hi)
            self._engaged[channel] = True  # evaluate the next sample fully

    def set_policy(self, policy: CorePolicy, t: float) -> list[PipelineEvent]:
        """The clinic's rules changed while the room runs (the admin page). Unchanged rule rows
        keep their state; a condition raised under a rule that changed or was disabled is
        lowered here and judged again from the next reading under the new rule (its delay
        counts from there). Thresholds read at use (technical, baseline, discharge) apply at
        once; the BP schedule from the next dose; smoothing windows at the next start."""
        old = [row for rows in self._rows.values() for row in rows]
        before = {row.rule.id for row in old if row.triggered}
        self.policy = policy
        self.engine.audio_pause_s = policy.audio_pause_s
        self._rows, self._rows_by_condition = _rule_rows(policy.rules, old)
        out: list[PipelineEvent] = []
        self._apply_limits(out, t)
        for condition in sorted(before):
            rows = self._rows_by_condition.get(condition, [])
            if not any(row.triggered for row in rows):
                out += self.engine.lower(t, condition, reason="rule changed by an admin")
        return out

    # -- conditions -------------------------------------------------------------------------
    def _condition_changed(self, t: float, condition: str) -> list[AlarmEvent]:
        rows = self._rows_by_condition[condition]
        hit = next((r for r in rows if r.triggered), None)
        if hit is None:
            last = next((r.value for r in rows if r.value is not None), None)
            return self.engine.lower(t, condition, value=last, reason="back inside the limit")
        rule = hit.rule
        base = self.baseline.get(rule.channel) if rule.relative or self._relative_on else None
        limit = hit.limit
        assert limit is not None and hit.value is not None
        confirm = f" on {rule.confirm_count} readings" if rule.confirm_count > 1 else ""
        delay = f" for {rule.delay_s:g} s" if rule.delay_s else ""
        return self.engine.raise_(
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

    def _pulse_of_last_cycle(self, t: float, source: str, value: float | None) -> bool:
        """Cuffs report their pulse rate with SBP, DBP and MAP, often after them (BLE 2A35,
        SunTech): the cycle closed at MAP, so a pulse of the same source and time joins it."""
        last = self.bp_readings[-1] if self.bp_readings else None
        if (
            last is None
            or self._assembler.pending
            or (last.t, last.source) != (t, source)
            or last.pulse_rate is not None
        ):
            return False
        self.bp_readings[-1] = replace(last, pulse_rate=value)
        return True

    def _on_cuff(self, result: BpReading | CuffFailure) -> list[PipelineEvent]:
        t = result.t
        out: list[PipelineEvent] = []
        if isinstance(result, CuffFailure):
            self.rejected["bp"] += 1
            if self.phase in IN_SESSION:
                out += self.engine.raise_(
                    t,
                    "cuff_error",
                    kind=_TECH,
                    channel="sbp",
                    priority=Priority.LOW,
                    reason=result.reason,
                )
            return out
        if self.bp_readings and t <= self.bp_readings[-1].t:
            # A cycle delivered twice or late: the newest reading is the patient's state; an
            # older one must not clear an alarm, confirm one, or move the baseline.
            self.rejected["bp_out_of_order"] += 1
            return out
        out += self.engine.lower(t, "cuff_error", reason="valid cuff reading")
        self.bp_readings.append(result)
        if self.schedule is not None:
            self.schedule.reading(t)
            if self.schedule.overdue_for(t) is None:
                out += self.engine.lower(t, "bp_overdue", reason="BP reading arrived")
        changed: list[str] = []
        confirm_needed = False
        values = {"sbp": result.sbp, "dbp": result.dbp, "map": result.map}
        for channel, value in values.items():
            for row in self._rows[channel]:
                if evaluate_episodic(row, t, value) is not None and row.rule.id not in changed:
                    changed.append(row.rule.id)
        for channel in values:
            for row in self._rows[channel]:
                # This reading violated a confirming row that is still unconfirmed.
                rule = row.rule
                confirming = rule.confirm_count > 1 and row.hits and row.hits[-1] == t
                if confirming and not any(r.triggered for r in self._rows_by_condition[rule.id]):
                    confirm_needed = True
        # The most urgent first when one reading changes several conditions.
        changed.sort(key=lambda c: -RANK[self._rows_by_condition[c][0].rule.priority])
        for condition in changed:
            out += self._condition_changed(t, condition)
        if confirm_needed:
            out.append(BpRequest(t, self.room, "confirmation reading"))
        if self.phase == Phase.PRE_DOSE:
            derived = self._derived(t)
            sbp = derived.sbp if derived.sbp is not None else result.sbp
            dbp = derived.dbp if derived.dbp is not None else result.dbp
            self.advisories = pre_dose_advisory(sbp, dbp, self.session.age, self.policy.baseline)
        return out

    # -- timers -----------------------------------------------------------------------------
    def _timers(self, now: float) -> list[PipelineEvent]:
        self._timer_due = now + TIMER_STEP_S
        out: list[PipelineEvent] = []
        if self._assembler.pending:
            for result in self._assembler.flush(now):
                out += self._on_cuff(result)
        engine = self.engine
        if self.phase in IN_SESSION:
            # Each check is called only when it may have something to do (they run for
            # every room every second): fresh oximetry with no stale alarm, no respiration.
            last_valid, after = self._last_valid, self.policy.technical.stale_after_s
            for channel, condition in _STALE_CONDITIONS:
                last = last_valid[channel]
                if last is None or now - last >= after or engine.present.get(condition):
                    out += self._stale(now)
                    break
            if self._resp_sources or engine.present.get(RESP_STALE):
                out += self._resp_stale(now)
            if self._probe_off_since is not None:
                out += self._probe_off(now)
            if self._down_since or self.engine.present.get("device_disconnected"):
                out += self._disconnected(now)
            if self._garbled or self.engine.present.get("device_garbled"):
                out += self._garbled_alarm(now)
            out += self._bp_schedule(now)
            out += self._phases(now)
        if self._line_blocked or self.engine.present.get(CO2_LINE_BLOCKED):
            out += self._co2_line(now)  # outside a session too, like device_failed
        if self._failed or self.engine.present.get("device_failed"):
            # Also outside a session (dashboard only there); its priority follows the phase.
            out += self._device_failed(now)
        if engine.current or engine.audio_paused_until is not None:
            out += engine.tick(now)  # escalation, the end of an audio pause
        return out

    def _stale(self, now: float) -> list[PipelineEvent]:
        out: list[PipelineEvent] = []
        after = self.policy.technical.stale_after_s
        started = self.session.started_t if self.session.started_t is not None else now
        present = self.engine.present
        for channel, condition in _STALE_CONDITIONS:
            last = self._last_valid[channel]
            if last is not None and now - last < after and not present.get(condition):
                continue  # fresh data, no alarm: the common case
            ref = started if last is None or last < started else last
            sources = self._possible_sources(channel)
            # A link that just came back gets the same grace as a new session.
            ref = max([ref, *(self._link_up.get(s, ref) for s in sources)])
            # Probe off and a lost device have their own alarms; stale means data stopped or
            # stayed invalid for another reason.
            explained = self._probe_off_since is not None or any(
                s in self._down_since or s in self._garbled for s in sources
            )
            if now - ref >= after and not explained:
                if not self.engine.present.get(condition):
                    out += self.engine.raise_(
                        now,
                        condition,
                        kind=_TECH,
                        channel=channel,
                        priority=Priority.MEDIUM,
                        reason=f"no valid {channel} sample for {now - ref:.0f} s",
                    )
            elif self.engine.present.get(condition) and explained:
                out += self.engine.lower(now, condition, reason="explained by probe off / link")
        return out

    def _resp_stale(self, now: float) -> list[PipelineEvent]:
        reason = resp_stale_reason(
            now,
            sources=self._resp_sources,
            last_valid=self._last_valid,
            session_started=self.session.started_t,
            # A blocked line has its own alarm: one fault, one alarm.
            down_since={**self._down_since, **self._line_blocked},
            link_up=self._link_up,
            after_s=self.policy.technical.resp_stale_after_s,
        )
        present = self.engine.present.get(RESP_STALE)
        if reason is not None and not present:
            return list(
                self.engine.raise_(
                    now,
                    RESP_STALE,
                    kind=_TECH,
                    channel="resp_rate",
                    priority=Priority.MEDIUM,
                    reason=reason,
                )
            )
        if reason is None and present:
            return list(self.engine.lower(now, RESP_STALE, reason="respiration data again"))
        return []

    def _present(self, channel: str, t: float) -> bool:
        """A current, usable value above 0 of `channel` (e.g. "with RR present")."""
        last = self._last_valid.get(channel)
        return (
            last is not None
            and t - last <= self.policy.technical.resp_stale_after_s
            and self.smoothed.get(channel, 0.0) > 0
        )

    def _possible_sources(self, channel: str) -> list[str]:
        """The sources that may deliver `channel`: the one it came from, or, before any
        reading of it, every device link heard of that is not known to be a cuff. A device
        that never delivered a reading (its port missing from the start) has no known
        channels, and its down link must still explain the oximetry it would send:
        `device_disconnected` already says what is wrong, and a second pair of alarms for
        the same fault teaches staff to ignore them. Cuffs are excluded so that a missing
        cuff cannot hide a connected but silent oximeter (the runtime names cuffs from the
        config, and any source sending pressure joins them)."""
        source = self._channel_source.get(channel)
        if source is not None:
            return [source]
        return [s for s in self.devices if s not in self._cuff_sources]

    def _probe_off(self, now: float) -> list[PipelineEvent]:
        since = self._probe_off_since
        assert since is not None
        medium = now - since >= self.policy.technical.probe_off_medium_after_s
        return list(
            self.engine.raise_(
                now,
                "probe_off",
                kind=_TECH,
                channel="spo2",
                priority=Priority.MEDIUM if medium else Priority.LOW,
                reason=f"oximeter reports no sensor for {now - since:.0f} s",
            )
        )

    def _disconnected(self, now: float) -> list[PipelineEvent]:
        after = self.policy.technical.disconnected_after_s
        # A failed driver has its own alarm (`device_failed`): one fault, one alarm.
        down = sorted(
            s
            for s, since in self._down_since.items()
            if now - since >= after and s not in self._failed
        )
        if down and self.phase in IN_SESSION:
            return self._device_alarm(now, "device_disconnected", f"no link to {', '.join(down)}")
        if not down:
            return list(self.engine.lower(now, "device_disconnected", reason="link restored"))
        return []

    def _garbled_alarm(self, now: float) -> list[PipelineEvent]:
        """`device_garbled` while a device's stream is noise: staff should check the cable
        and baud rate, not the patient (its values are held back, so `*_stale` would
        otherwise point at the patient)."""
        if self._garbled and self.phase in IN_SESSION:
            why = "; ".join(f"{s}: {d}" for s, d in sorted(self._garbled.items()))
            return self._device_alarm(now, "device_garbled", why)
        if not self._garbled:
            return list(self.engine.lower(now, "device_garbled", reason="stream clean again"))
        return []

    def _device_alarm(self, now: float, condition: str, reason: str) -> list[PipelineEvent]:
        """A device's technical alarm (medium, no channel: it concerns every channel)."""
        return list(
            self.engine.raise_(
                now, condition, kind=_TECH, channel=None, priority=Priority.MEDIUM, reason=reason
            )
        )

    def _device_failed(self, now: float) -> list[PipelineEvent]:
        """A driver stopped with an unexpected error (the supervisor restarts it). On the
        dashboard at once, with or without a session; low (never paged) outside a session,
        medium (paged) in one, as nobody's patient is watched by it otherwise."""
        if not self._failed:
            return list(self.engine.lower(now, "device_failed", reason="driver recovered"))
        failed = "; ".join(f"{s}: {why}" for s, why in sorted(self._failed.items()))
        in_session = self.phase in IN_SESSION
        return list(
            self.engine.raise_(
                now,
                "device_failed",
                kind=_TECH,
                channel=None,
                priority=Priority.MEDIUM if in_session else Priority.LOW,
                reason=f"driver failed, restarting ({failed})",
            )
        )

    def _co2_line(
        self, now: float, source: str | None = None, blocked: bool = False
    ) -> list[PipelineEvent]:
        """`co2_line_blocked` while a source says its CO2 line is blocked (a respiration
        reading flagged LINE_BLOCKED); the source's first unflagged EtCO2 reading clears it.
        Low outside a session, medium in one, like the other device technical alarms."""
        if source is not None and blocked:
            self._line_blocked.setdefault(source, now)
        elif source is not None:
            self._line_blocked.pop(source, None)
        if not self._line_blocked:
            return list(self.engine.lower(now, CO2_LINE_BLOCKED, reason="the line is clear"))
        priority = Priority.MEDIUM if self.phase in IN_SESSION else Priority.LOW
        reason = co2_line_blocked_reason(self._line_blocked)
        return list(
            self.engine.raise_(
                now, CO2_LINE_BLOCKED, kind=_TECH, channel="etco2", priority=priority, reason=reason
            )
        )

    def _bp_schedule(self, now: float) -> list[PipelineEvent]:
        out: list[PipelineEvent] = []
        sched = self.schedule
        if sched is None:
            if self.phase == Phase.PRE_DOSE:
                out += self._pre_dose_request(now)
            return out
        due = sched.next_due
        if now >= due and sched.requested_for != due:
            sched.requested_for = due
            out.append(
                BpRequest(now, self.room, f"scheduled BP at {(due - sched.dose_t) / 60:g} min")
            )
        late = sched.overdue_for(now)
        if late is not None:
            medium = late >= self.policy.bp_schedule.overdue_medium_after_s
            what = f"{(due - sched.dose_t) / 60:g}-min BP reading"
            if sched.is_mandatory(due):
                what = "mandatory " + what
            out += self.engine.raise_(
                now,
                "bp_overdue",
                kind=_TECH,
                channel="sbp",
                priority=Priority.MEDIUM if medium else Priority.LOW,
                reason=f"{what} late by {now - due:.0f} s",
            )
        return out

    def _pre_dose_request(self, now: float) -> list[PipelineEvent]:
        p = self.policy
        have = len(self.bp_readings) >= p.bp_schedule.pre_dose_readings and (
            bp_baseline(self.bp_readings, now, p.baseline)[0] is not None
        )
        last = self._last_pre_dose_request
        if have or (last is not None and now - last < p.bp_schedule.pre_dose_retry_s):
            return []
        self._last_pre_dose_request = now
        return [BpRequest(now, self.room, "pre-dose baseline reading")]

    def _phases(self, now: float) -> list[PipelineEvent]:
        dose_t = self.session.last_dose_t  # a top-up restarts the acute window and the clock
        if dose_t is None:
            return []
        if self.phase == Phase.DOSED and now - dose_t >= self.policy.recovery_after_s:
            return self._set_phase(now, Phase.RECOVERY, "acute window over")
        if self.phase not in (Phase.RECOVERY, Phase.DISCHARGE_READY):
            return []
        if now - dose_t < self.policy.discharge.min_after_dose_s:
            return []  # too early: the criteria need not be computed every second
        self.discharge_unmet = self._discharge_unmet(now)
        if not self.discharge_unmet and self.phase == Phase.RECOVERY:
            return self._set_phase(now, Phase.DISCHARGE_READY, "all discharge criteria met")
        if self.discharge_unmet and self.phase == Phase.DISCHARGE_READY:
            return self._set_phase(now, Phase.RECOVERY, "; ".join(self.discharge_unmet))
        return []

    def _discharge_unmet(self, now: float) -> list[str]:
        criteria = self._discharge_criteria(now)
        if criteria is self._discharge_memo.criteria:  # its unmet texts are kept with it
            return list(self._discharge_memo.unmet)
        return [c.text for c in criteria if not c.met]

    def _discharge_criteria(self, now: float) -> Sequence[Criterion]:
        dose_t = self.session.last_dose_t
        if dose_t is None:
            return [Criterion("time", False, "no dose marked")]
        stale = self.policy.technical.stale_after_s
        last = self._last_valid["pulse_rate"]
        pr = self.smoothed.get("pulse_rate") if last is not None and now - last <= stale else None
        last = self._last_valid["spo2"]
        spo2_now = self.smoothed.get("spo2") if last is not None and now - last <= stale else None
        return self._discharge_memo.update(
            now,
            dose_t,
            tuple(self.engine.current),
            self.bp_readings,
            self.baseline,
            self._spo2_ok_since if spo2_now is not None else None,
            pr,
            self.policy.discharge,
            spo2_now,
            self._spo2_ok_threshold,
            len(self.session.doses) > 1,
        )

    def _set_phase(self, t: float, phase: Phase, detail: str = "") -> list[PipelineEvent]:
        if phase == self.phase:
            return []
        self.phase = phase
        return [PhaseEvent(t=t, room=self.room, phase=phase.value, detail=detail)]

    # -- view -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The room's live state for the API and the dashboard."""
        proposed = None
        if self.phase == Phase.PRE_DOSE:
            proposed = self._derived(self._now).to_dict()
        limits: dict[str, list[dict[str, Any]]] = {}
        for condition, rows in self._rows_by_condition.items():
            limits[condition] = [
                {
                    "channel": r.rule.channel,
                    "comparator": r.rule.comparator,
                    "limit": r.limit,
                    "priority": r.rule.priority.value,
                    "relative": r.rule.relative,
                }
                for r in rows
                if r.limit is not None
            ]
        sched = self.schedule
        criteria = self._discharge_criteria(self._now) if self.phase in POST_DOSE else []
        return {
            "room": self.room,
            "phase": self.phase,
            "dose_t": self.dose_t,
            "latest": {ch: r.to_dict() for ch, r in self.latest.items()},
            "smoothed": dict(self.smoothed),
            "baseline": self.baseline.to_dict(),
            "alarms": [a.to_dict() for a in self.engine.current.values()],
            "audio_paused_until": self.engine.audio_paused_until,
            "audio_pause_s": self.engine.audio_pause_s,  # the clinic's setting, for the page
            "devices": {
                s: {"state": d.state.value, "t": d.t, "detail": d.detail}
                for s, d in self.devices.items()
            },
            "baseline_status": self.baseline_status,
            "baseline_proposed": proposed,
            "baseline_refused": list(self.baseline_refused),
            "advisories": list(self.advisories),
            "limits": limits,
            "bp": self.bp_readings[-1].to_dict() if self.bp_readings else None,
            "bp_due": sched.next_due if sched is not None and self.phase in POST_DOSE else None,
            "discharge": {
                "ready": self.phase == Phase.DISCHARGE_READY,
                "criteria": [c.to_dict() for c in criteria],
                "unmet": [c.text for c in criteria if not c.met],
                "reviewed_by": self.session.discharge_reviewed_by,
                "reviewed_t": self.session.discharge_reviewed_t,
                "outcome": self.session.discharge_outcome,
                "reviews": list(self.session.discharge_reviews),
            },
            "session": self.session.to_dict(),
            "history": [e.to_dict() for e in self.engine.history[-HISTORY_IN_SNAPSHOT:]],
            "log": list(self.log[-HISTORY_IN_SNAPSHOT:]) + list(self.engine.notes[-20:]),
            "rejected": dict(self.rejected),
        }


def _dose_entry(c: Control) -> tuple[dict[str, Any], str]:
    """The dose mark's audit entry from its control, or why its arguments are refused."""
    entry: dict[str, Any] = {"t": c.t, "by": c.by}
    route = c.args.get("route")
    if route is not None:
        if route not in DOSE_ROUTES:
            return entry, f"rejected: route {route!r} is not one of {', '.join(DOSE_ROUTES)}"
        entry["route"] = route
    amount = c.args.get("amount_mg")
    if amount is not None:
        if (
            not isinstance(amount, _NUMERIC)
            or isinstance(amount, bool)
            or not isfinite(amount)
            or not 0 < amount <= DOSE_MAX_MG
        ):
            return entry, f"rejected: amount_mg {amount!r} is not a dose in mg (0–{DOSE_MAX_MG:g})"
        entry["amount_mg"] = float(amount)
    return entry, ""
