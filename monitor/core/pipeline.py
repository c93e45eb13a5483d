"""One room's pipeline: condition ▶ baseline ▶ rules ▶ alarms. Pure: no I/O, no clock.

This module orchestrates the room; each idea has its own home beside it:

    limits.py     the physiological rule rows (rules.py) with their limits and memory
    technical.py  the technical alarm table and its one evaluator (links, probe, sources)
    engine.py     the alarm state machine both feed (latching, ack, escalation, audio pause)
    controls.py   the typed controls and their wire form; handlers.py what each one does
    phases.py     the phases after the dose and the discharge clock; schedule.py BP slots
    snapshot.py   the typed room snapshot (the API's and the live page's contract)

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
from collections.abc import Iterable
from math import isfinite
from typing import Any

from monitor.core.baseline import Baseline, bp_baseline, continuous_baseline
from monitor.core.conditioning import (
    PLAUSIBLE,
    BpAssembler,
    BpReading,
    TimeRollingMedian,
)
from monitor.core.controls import Control, Resumed
from monitor.core.cuff import cuff_cycle, join_pulse
from monitor.core.discharge import CriteriaMemo, spo2_threshold
from monitor.core.engine import AlarmEngine
from monitor.core.handlers import HANDLERS
from monitor.core.limits import Limits
from monitor.core.models import (
    EXCLUDING_FLAGS,
    AlarmEvent,
    Channel,
    DeviceState,
    Flag,
    PhaseEvent,
    Reading,
)
from monitor.core.phases import advance, discharge_now
from monitor.core.policy import CorePolicy
from monitor.core.respiration import breaths_counted
from monitor.core.rules import (
    CONTINUOUS_CHANNELS,
    EPISODIC_CHANNELS,
    RESPIRATION_CHANNELS,
    evaluate_continuous,
)
from monitor.core.schedule import BpRequest, BpSchedule
from monitor.core.session import IN_SESSION, Phase, SessionInfo
from monitor.core.snapshot import RoomSnapshot, room_snapshot
from monitor.core.technical import CO2_LINE, PROBE_OFF, Technical

PipelineEvent = AlarmEvent | PhaseEvent | BpRequest

#: Oximeter flags meaning "no sensor on the patient" (probe_off technical alarm).
PROBE_FLAGS: frozenset[str] = frozenset({Flag.PROBE_OFF, Flag.SEARCHING, Flag.SENSOR_FAULT})
#: Cuff readings that are not the patient's BP now (EXCLUDING_FLAGS keeps them out of the
#: continuous channels; a cuff cycle needs its own check, as motion etc. do not void it).
NOT_MEASURED_NOW: frozenset[str] = frozenset({Flag.STORED, Flag.DEMO})
#: A value carrying these is noise, not a sign that the sensor is back on the patient.
UNTRUSTED_FLAGS: frozenset[str] = frozenset({Flag.IMPLAUSIBLE, Flag.GARBLED, Flag.UNVERIFIED})
TIMER_STEP_S = 1.0  # timers are checked at most once per second of input time
# The channel groups as sets of plain strings, for the per-reading membership tests.
_EPISODIC: frozenset[str] = frozenset(map(str, EPISODIC_CHANNELS))
_RESPIRATION: frozenset[str] = frozenset(map(str, RESPIRATION_CHANNELS))
_CUFF_PRESSURE = str(Channel.CUFF_PRESSURE)  # an enum member lookup costs ~0.1 µs
_ETCO2 = str(Channel.ETCO2)


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
        self.rejected: Counter[str] = Counter()  # implausible values by channel
        self.log: list[dict[str, Any]] = []  # controls with who and the outcome (audit)
        self._smoothers = {
            ch: TimeRollingMedian(p.conditioning.smoothing_window_s) for ch in CONTINUOUS_CHANNELS
        }
        self._use_limits(Limits(p.rules))
        self._last_valid: dict[str, float | None] = {ch: None for ch in CONTINUOUS_CHANNELS}
        # Links, probe and sources, and the technical alarm table's evaluator (technical.py).
        self.tech = tech = Technical(self.engine, p, self._last_valid)
        self._assembler = BpAssembler(p.conditioning.bp_group_s)
        # Sources known to be BP cuffs: their pulse_rate is the cuff's, never the oximeter's.
        # The runtime may name them from the device config; any source that sends a
        # pressure channel joins (a BLE cuff's inflation pulse comes before its first SBP).
        self._cuff_sources = tech.cuff_sources
        self._cuff_sources.update(cuff_sources)
        # Sources expected to deliver respiration (configured, or heard from): resp_stale.
        self._resp_sources = tech.resp_sources
        self._resp_sources.update(resp_sources)
        self._channel_source = tech.channel_source
        self._now = float("-inf")
        self._timer_due = float("-inf")
        self.discharge_memo = CriteriaMemo()  # the discharge criteria, asked every second
        # Before this time the phases have nothing to do (phases.advance says when it looks;
        # a control or a phase change may move the dose or the phase: it looks again).
        self.phase_due = float("-inf")
        self.reset_session()

    def reset_session(self) -> None:
        self.session = SessionInfo()
        self.baseline = Baseline()  # the baseline in use (after the dose)
        self.baseline_status = "none"  # none | derived | entered | confirmed | refused
        self.baseline_refused: list[str] = []
        self.advisories: list[str] = []
        self.bp_readings: list[BpReading] = []
        self.schedule = None
        self.discharge_unmet: list[str] = []
        self.entered: dict[str, float] = {}
        self.entered_by: str | None = None
        self._pre_dose: dict[str, deque[tuple[float, float]]] = {
            ch: deque() for ch in CONTINUOUS_CHANNELS
        }
        # The same dict as the technical state's: cleared, not replaced.
        self._last_valid.update(dict.fromkeys(CONTINUOUS_CHANNELS))
        self.tech.reset()
        self.tech.started = None
        self.spo2_ok_since: float | None = None
        self.spo2_ok_threshold = spo2_threshold(self.baseline, self.policy.discharge)
        self._last_pre_dose_request: float | None = None
        self.relative_on = False
        self.apply_limits([])

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
    def schedule(self) -> BpSchedule | None:
        """The BP schedule after the dose (the technical table's `bp_overdue` reads it)."""
        return self.tech.schedule

    @schedule.setter
    def schedule(self, schedule: BpSchedule | None) -> None:
        self.tech.schedule = schedule

    @property
    def devices(self) -> dict[str, DeviceState]:
        return self.tech.devices

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
            if channel == "pulse_rate" and join_pulse(
                self.bp_readings, self._assembler.pending, t, source, reading.value
            ):
                return out
            for result in self._assembler.add(t, channel, reading.value, reading.status, source):
                out += cuff_cycle(self, result)
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
            line_blocked = self.tech.line_blocked
            if blocked != (source in line_blocked) and (blocked or channel == _ETCO2):
                if blocked:
                    line_blocked.setdefault(source, t)
                else:
                    line_blocked.pop(source, None)
                out += self.tech.check(CO2_LINE, t, self.phase in IN_SESSION)
        if status and status & PROBE_FLAGS and not respiration:
            if self.tech.probe_off_since is None:
                self.tech.probe_off_since = t
                if self.phase in IN_SESSION:
                    out += self.tech.check(PROBE_OFF, t, True)
            return out
        # Only oximetry ends probe off: a capnograph's breaths say nothing about the sensor.
        if (
            self.tech.probe_off_since is not None
            and value is not None
            and not respiration
            and not (status and status & UNTRUSTED_FLAGS)  # trusted
        ):
            self.tech.probe_off_since = None
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
        if last is None or t - last > self._gap_s[channel]:
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
                        out += self.condition_changed(t, row.rule.id)
                    continue
                if evaluate_continuous(row, t, smoothed) is not None:
                    out += self.condition_changed(t, row.rule.id)
                if row.triggered or row.pending_since is not None:
                    engaged = True
            self._engaged[channel] = engaged
        if channel == "spo2":
            if (
                smoothed < self.spo2_ok_threshold
                or last is None
                or t - last > self.policy.technical.stale_after_s
            ):
                self.spo2_ok_since = t if smoothed >= self.spo2_ok_threshold else None
            elif self.spo2_ok_since is None:
                self.spo2_ok_since = t
        return out

    def device_state(self, state: DeviceState) -> list[PipelineEvent]:
        t = state.t
        out: list[PipelineEvent] = self._timers(t) if t >= self._timer_due else []
        self._now = max(self._now, t)
        out += self.tech.device_state(state, self.phase in IN_SESSION)
        return out

    def tick(self, now: float) -> list[PipelineEvent]:
        """Advance the room's timers to `now` (the runtime calls this every second)."""
        self._now = max(self._now, now)
        return self._timers(now)

    def control(self, control: Control) -> list[PipelineEvent]:
        t = control.t
        # `resumed` first says what the time since the last input was (nobody watching),
        # so the timers must not judge that gap before it is applied.
        due = t >= self._timer_due and not isinstance(control, Resumed)
        out: list[PipelineEvent] = self._timers(t) if due else []
        self._now = max(self._now, t)
        outcome, events = self._dispatch(control)
        self.phase_due = float("-inf")
        out += events
        entry = control.to_dict()
        entry["outcome"] = outcome
        self.log.append(entry)
        return out

    def _dispatch(self, c: Control) -> tuple[str, list[PipelineEvent]]:
        """The control's handler (handlers.py): its outcome for the audit log, its events."""
        handler = HANDLERS.get(type(c))
        if handler is None:
            return "ignored: unknown event", []
        return handler(self, c)

    def end_pre_dose(self) -> None:
        """The dose is marked: the pre-dose windows have given the baseline."""
        for window in self._pre_dose.values():
            window.clear()

    def _use_limits(self, limits: Limits) -> None:
        self.limits = limits
        # The feed's per-sample lookups, without one more attribute hop.
        self._rows, self._rows_by_condition = limits.rows, limits.by_condition
        self._quiet, self._engaged = limits.quiet, limits.engaged
        # A gap longer than this (the channel's staleness) restarts its rules' dwell timers.
        tech = self.policy.technical
        self._gap_s = {
            ch: tech.resp_stale_after_s if ch in _RESPIRATION else tech.stale_after_s
            for ch in CONTINUOUS_CHANNELS
        }

    # -- baseline and limits ----------------------------------------------------------------
    def derived_baseline(self, dose_t: float) -> Baseline:
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

    def confirm_baseline(self, t: float, by: str | None) -> list[PipelineEvent]:
        self.baseline_status = "confirmed"
        self.baseline_refused = []
        self.session.baseline_confirmed_by, self.session.baseline_confirmed_t = by, t
        self.relative_on = True
        self.spo2_ok_threshold = spo2_threshold(self.baseline, self.policy.discharge)
        out: list[PipelineEvent] = []
        self.apply_limits(out, t)
        return out

    def apply_limits(self, out: list[PipelineEvent], t: float = 0.0) -> None:
        """Recompute every row's effective limit; relative rows need a confirmed baseline."""
        for condition in self.limits.apply(self.baseline, self.relative_on):
            out += self.condition_changed(t, condition)

    def set_policy(self, policy: CorePolicy, t: float) -> list[PipelineEvent]:
        """The clinic's rules changed while the room runs (the admin page). Unchanged rule rows
        keep their state; a condition raised under a rule that changed or was disabled is
        lowered here and judged again from the next reading under the new rule (its delay
        counts from there). Thresholds read at use (technical, baseline, discharge) apply at
        once; the BP schedule from the next dose; smoothing windows at the next start."""
        before = self.limits.triggered()
        self.policy = self.tech.policy = policy
        self.engine.audio_pause_s = policy.audio_pause_s
        self._use_limits(Limits(policy.rules, self.limits.all_rows()))
        out: list[PipelineEvent] = []
        self.apply_limits(out, t)
        for condition in sorted(before):
            rows = self._rows_by_condition.get(condition, [])
            if not any(row.triggered for row in rows):
                out += self.engine.lower(t, condition, reason="rule changed by an admin")
        return out

    # -- conditions -------------------------------------------------------------------------
    def condition_changed(self, t: float, condition: str) -> list[AlarmEvent]:
        return self.limits.alarm(self.engine, t, condition, self.baseline, self.relative_on)

    # -- timers -----------------------------------------------------------------------------
    def _timers(self, now: float) -> list[PipelineEvent]:
        self._timer_due = now + TIMER_STEP_S
        out: list[PipelineEvent] = []
        if self._assembler.pending:
            for result in self._assembler.flush(now):
                out += cuff_cycle(self, result)
        engine = self.engine
        in_session = self.phase in IN_SESSION
        sched = self.tech.schedule
        if in_session and (sched is None or now >= sched.next_due):  # else nothing is due
            out += self._bp_requests(now)
        # The technical alarm table (technical.py); outside a session only device_failed.
        out += self.tech.evaluate(now, in_session)
        if in_session and now >= self.phase_due:
            out += advance(self, now)  # phases.py: after the dose, the discharge clock
        if engine.current or engine.audio_paused_until is not None:
            out += engine.tick(now)  # escalation, the end of an audio pause
        return out

    def _present(self, channel: str, t: float) -> bool:
        """A current, usable value above 0 of `channel` (e.g. "with RR present")."""
        last = self._last_valid.get(channel)
        return (
            last is not None
            and t - last <= self.policy.technical.resp_stale_after_s
            and self.smoothed.get(channel, 0.0) > 0
        )

    def _bp_requests(self, now: float) -> list[PipelineEvent]:
        """Ask the cuff to measure: before the dose for the baseline (until the readings a
        baseline needs are in), then on schedule (`bp_overdue` is the technical table's)."""
        sched = self.tech.schedule
        if sched is not None:
            return [*sched.request(now, self.room)]  # empty until its slot is due
        p, last = self.policy, self._last_pre_dose_request
        if self.phase != Phase.PRE_DOSE or (
            last is not None and now - last < p.bp_schedule.pre_dose_retry_s
        ):
            return []
        if len(self.bp_readings) >= p.bp_schedule.pre_dose_readings and (
            bp_baseline(self.bp_readings, now, p.baseline)[0] is not None
        ):
            return []
        self._last_pre_dose_request = now
        return [BpRequest(now, self.room, "pre-dose baseline reading")]

    def unmet_criteria(self, now: float) -> list[str]:
        criteria = discharge_now(self, now)
        if criteria is self.discharge_memo.criteria:  # its unmet texts are kept with it
            return list(self.discharge_memo.unmet)
        return [c.text for c in criteria if not c.met]

    def set_phase(self, t: float, phase: Phase, detail: str = "") -> list[PipelineEvent]:
        if phase == self.phase:
            return []
        self.phase = phase
        self.phase_due = float("-inf")
        return [PhaseEvent(t=t, room=self.room, phase=phase.value, detail=detail)]

    # -- view -------------------------------------------------------------------------------
    def snapshot(self) -> RoomSnapshot:
        """The room's live state for the API and the dashboard (`to_dict`: its JSON)."""
        return room_snapshot(self, self._now)
