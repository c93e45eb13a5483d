"""Technical alarms as data, beside the physiological rules (rules.py), and their one evaluator.

Each `TechnicalRule` row names a condition, its priority (in a session and, where it applies
there, outside one), what it worsens to and after which policy setting, its channel, and the
predicate that decides it. `Technical.evaluate(now)` runs every row with a predicate (the
room's timers call it once per second of input time); rows without one are raised on an
event: a failed cuff cycle (`cuff_error`), a restart (`monitoring_interrupted`), or another
part of Vigil through the `technical_alarm` control (`reported=True`: paging, storage, HL7).
All go through the same `AlarmEngine` as the physiological rules, so they latch, are
acknowledged and escalate the same way.

A predicate reads the room's `Technical` state and returns `Present(reason, for_s)`,
`Gone(reason)` or None (no change). To add a condition: a predicate here (if the room's data
decides it), one row in TECHNICAL_RULES, its label in alerts/message.py CONDITION_LABELS.

Pure: no I/O, no clock; the pipeline passes every time in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from operator import attrgetter

from monitor.core.engine import AlarmEngine
from monitor.core.models import AlarmEvent, AlarmKind, Channel, DeviceState, LinkState, Priority
from monitor.core.policy import CorePolicy
from monitor.core.respiration import (
    CO2_LINE_BLOCKED,
    RESP_STALE,
    co2_line_blocked_reason,
    resp_stale_reason,
)
from monitor.core.schedule import BpSchedule

#: Link states in which the device is reachable (garbled: up, but its bytes are noise).
LINK_UP = frozenset({LinkState.CONNECTED, LinkState.GARBLED})
#: Raised when Vigil comes back after a restart (`resumed` control, monitor/resume.py): it
#: reports an event (nobody watched for a while), not a lasting state, so acknowledging it
#: ends it.
MONITORING_INTERRUPTED = "monitoring_interrupted"
_TECH = AlarmKind.TECHNICAL


@dataclass(frozen=True, slots=True)
class Present:
    """The condition holds now; `for_s`: for how long (a row may worsen with it)."""

    reason: str
    for_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Gone:
    reason: str


Verdict = Present | Gone | None
Check = Callable[["Technical", float], Verdict]


@dataclass(frozen=True, slots=True)
class TechnicalRule:
    """One technical alarm condition (clinical-defaults.md "Technical alarms")."""

    id: str
    priority: Priority  # in a session (and when reported from outside, by default)
    channel: str | None = None  # None: it concerns every channel of the room
    check: Check | None = None  # None: raised on an event, not by the timers
    # Outside a session the row is evaluated only when it has a priority there.
    idle_priority: Priority | None = None
    worsens_to: Priority | None = None
    worsens_after: str = ""  # the CorePolicy setting (dotted path) after which it worsens
    reported: bool = False  # reported by another part of Vigil (`technical_alarm` control)
    # The `Technical` collection without which the row has nothing to do while its
    # condition is absent: the timers then skip it cheaply (every room, every second).
    watch: str = ""
    # A channel: the row has nothing to do while that channel's data is fresh (younger than
    # `technical.stale_after_s`) and its condition absent (the timers skip it then).
    fresh: str = ""

    def __post_init__(self) -> None:
        if (self.worsens_to is None) != (not self.worsens_after):
            raise ValueError(f"technical rule {self.id}: worsens_to needs worsens_after")
        if (self.watch or self.fresh) and self.check is None:
            raise ValueError(f"technical rule {self.id}: only a checked row watches")

    def priority_for(self, policy: CorePolicy, in_session: bool, for_s: float) -> Priority:
        if self.worsens_to is not None and for_s >= attrgetter(self.worsens_after)(policy):
            return self.worsens_to
        if in_session or self.idle_priority is None:
            return self.priority
        return self.idle_priority


class Technical:
    """One room's technical state (links, probe, sources) and the evaluator of the table.
    Mutable, owned by the room's pipeline, which keeps `last_valid` up to date."""

    def __init__(
        self, engine: AlarmEngine, policy: CorePolicy, last_valid: dict[str, float | None]
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.last_valid = last_valid  # channel -> time of its last valid sample (the room's)
        self.started: float | None = None  # the session's start
        self.schedule: BpSchedule | None = None  # the BP schedule after the dose
        self.probe_off_since: float | None = None
        self.devices: dict[str, DeviceState] = {}
        self.down_since: dict[str, float] = {}
        self.link_up: dict[str, float] = {}  # when each source's link last came back
        self.garbled: dict[str, str] = {}  # sources whose bytes are noise, with the detail
        self.failed: dict[str, str] = {}  # sources whose driver failed, with the reason
        self.line_blocked: dict[str, float] = {}  # sources whose CO2 line is blocked, since
        self.channel_source: dict[str, str] = {}
        self.cuff_sources: set[str] = set()
        self.resp_sources: set[str] = set()
        # The timed rows with their predicate and the collection each watches (never
        # replaced, only changed): the per-second loop reads no attribute by name.
        self._timed = _compile(self, TIMED_RULES)
        self._idle = _compile(self, IDLE_RULES)

    # -- the one evaluator ------------------------------------------------------------------
    def evaluate(self, now: float, in_session: bool) -> list[AlarmEvent]:
        """Every timer-checked row, in table order."""
        out: list[AlarmEvent] = []
        present = self.engine.present
        table = self._timed if in_session else self._idle
        if table.watched_ids.isdisjoint(present) and not any(table.watched):
            rows = table.unwatched  # nothing watched is on (the common case): C-speed test
        else:
            rows = table.rows
        last_valid, fresh_s = self.last_valid, self.policy.technical.stale_after_s
        for rule, check, watched, fresh in rows:
            if watched is not None and not watched and not present.get(rule.id):
                continue
            if fresh:
                last = last_valid[fresh]
                if last is not None and now - last < fresh_s and not present.get(rule.id):
                    continue
            verdict = check(self, now)
            if verdict is not None:
                out += self._apply(rule, verdict, now, in_session)
        return out

    def check(self, rule: TechnicalRule, now: float, in_session: bool) -> list[AlarmEvent]:
        """One row now (the pipeline also calls this when an input changes its condition)."""
        if not in_session and rule.idle_priority is None:
            return []
        assert rule.check is not None
        verdict = rule.check(self, now)
        return [] if verdict is None else self._apply(rule, verdict, now, in_session)

    def _apply(
        self, rule: TechnicalRule, verdict: Present | Gone, now: float, in_session: bool
    ) -> list[AlarmEvent]:
        if isinstance(verdict, Gone):
            return self.engine.lower(now, rule.id, reason=verdict.reason)
        return self.raise_(rule, now, verdict.reason, in_session, verdict.for_s)

    def raise_(
        self,
        rule: TechnicalRule,
        now: float,
        reason: str,
        in_session: bool = True,
        for_s: float = 0.0,
        priority: Priority | None = None,
    ) -> list[AlarmEvent]:
        """Raise `rule`'s condition (also for rows raised on an event)."""
        return self.engine.raise_(
            now,
            rule.id,
            kind=_TECH,
            channel=rule.channel,
            priority=priority or rule.priority_for(self.policy, in_session, for_s),
            reason=reason,
        )

    # -- inputs -----------------------------------------------------------------------------
    def reset(self) -> None:
        """A new session: links down now count from when they went down."""
        self.probe_off_since = None
        # In place: the evaluator holds each watched collection (see `_timed`).
        self.down_since.clear()
        self.down_since.update((s, d.t) for s, d in self.devices.items() if d.state not in LINK_UP)

    def device_state(self, state: DeviceState, in_session: bool) -> list[AlarmEvent]:
        t = state.t
        out: list[AlarmEvent] = []
        self.devices[state.source] = state
        failed = state.state == LinkState.FAILED
        if failed:
            self.failed[state.source] = state.detail
        elif self.failed.pop(state.source, None) is not None:
            out += self.check(DEVICE_FAILED, t, in_session)
        if state.state == LinkState.GARBLED:
            # The link is up but carries noise (drivers/quality.py): not a disconnect.
            self.garbled[state.source] = state.detail
            return out + self.check(DEVICE_GARBLED, t, in_session)
        if self.garbled.pop(state.source, None) is not None:
            out += self.check(DEVICE_GARBLED, t, in_session)
        if state.state == LinkState.CONNECTED:
            if self.down_since.pop(state.source, None) is not None:
                self.link_up[state.source] = t
            out += self.check(DEVICE_DISCONNECTED, t, in_session)
        else:
            # Down or failed: it explains the silence of its channels (no `*_stale`).
            self.down_since.setdefault(state.source, t)
            if failed:
                out += self.check(DEVICE_FAILED, t, in_session)
        return out

    def resumed(self, t: float, configured: tuple[str, ...] | None) -> None:
        """Vigil restarted at `t` (the `resumed` control, see pipeline): each link that was
        up counts as reconnecting from now; a link no longer `configured` is forgotten."""
        for source, state in list(self.devices.items()):
            if configured is not None and source not in configured:
                # Gone from the config: no alarm can be about a link nobody will report.
                del self.devices[source]
                self.down_since.pop(source, None)
                self.failed.pop(source, None)
                self.garbled.pop(source, None)
            elif state.state in LINK_UP:
                # A garbled stream starts over too: the restarted run judges it afresh.
                self.devices[source] = DeviceState(t, source, LinkState.CONNECTING, "restarted")
                self.down_since[source] = t
                self.garbled.pop(source, None)
        for source in self.channel_source.values():
            self.link_up[source] = t

    def possible_sources(self, channel: str) -> list[str]:
        """The sources that may deliver `channel`: the one it came from, or, before any
        reading of it, every device link heard of that is not known to be a cuff. A device
        that never delivered a reading (its port missing from the start) has no known
        channels, and its down link must still explain the oximetry it would send:
        `device_disconnected` already says what is wrong, and a second pair of alarms for
        the same fault teaches staff to ignore them. Cuffs are excluded so that a missing
        cuff cannot hide a connected but silent oximeter (the runtime names cuffs from the
        config, and any source sending pressure joins them)."""
        source = self.channel_source.get(channel)
        if source is not None:
            return [source]
        return [s for s in self.devices if s not in self.cuff_sources]


_Row = tuple[TechnicalRule, Check, Collection[object] | None, str]


@dataclass(frozen=True, slots=True)
class _Timed:
    """Timed rows bound to one room's state, for the per-second loop."""

    rows: tuple[_Row, ...]  # in table order: each with its predicate and watched collection
    unwatched: tuple[_Row, ...]  # the rows that watch nothing (checked every time)
    watched: tuple[Collection[object], ...]
    watched_ids: frozenset[str]


def _compile(room: Technical, rules: tuple[TechnicalRule, ...]) -> _Timed:
    rows: list[_Row] = []
    for rule in rules:
        assert rule.check is not None
        watched = getattr(room, rule.watch) if rule.watch else None
        rows.append((rule, rule.check, watched, rule.fresh))
    return _Timed(
        tuple(rows),
        tuple(r for r in rows if r[2] is None),
        tuple(r[2] for r in rows if r[2] is not None),
        frozenset(r[0].id for r in rows if r[2] is not None),
    )


# -- predicates (each: the room's technical state and now -> Present / Gone / None) ---------
def _stale(channel: str) -> Check:
    condition = channel + "_stale"

    def stale(room: Technical, now: float) -> Verdict:
        after = room.policy.technical.stale_after_s
        last = room.last_valid[channel]
        present = room.engine.present.get(condition)
        if last is not None and now - last < after and not present:
            return None  # fresh data, no alarm: the common case
        started = room.started if room.started is not None else now
        ref = started if last is None or last < started else last
        sources = room.possible_sources(channel)
        # A link that just came back gets the same grace as a new session.
        ref = max([ref, *(room.link_up.get(s, ref) for s in sources)])
        # Probe off and a lost device have their own alarms; stale means data stopped or
        # stayed invalid for another reason.
        explained = room.probe_off_since is not None or any(
            s in room.down_since or s in room.garbled for s in sources
        )
        if now - ref >= after and not explained:
            return None if present else Present(f"no valid {channel} sample for {now - ref:.0f} s")
        if present and explained:
            return Gone("explained by probe off / link")
        return None

    return stale


def _resp_stale(room: Technical, now: float) -> Verdict:
    if not room.resp_sources and not room.engine.present.get(RESP_STALE):
        return None
    reason = resp_stale_reason(
        now,
        sources=room.resp_sources,
        last_valid=room.last_valid,
        session_started=room.started,
        # A blocked line has its own alarm: one fault, one alarm.
        down_since={**room.down_since, **room.line_blocked},
        link_up=room.link_up,
        after_s=room.policy.technical.resp_stale_after_s,
    )
    return Gone("respiration data again") if reason is None else Present(reason)


def _probe_off(room: Technical, now: float) -> Verdict:
    since = room.probe_off_since
    if since is None:
        return None  # lowered by the first trusted value (the pipeline's feed)
    return Present(f"oximeter reports no sensor for {now - since:.0f} s", now - since)


def _disconnected(room: Technical, now: float) -> Verdict:
    if not room.down_since and not room.engine.present.get(DEVICE_DISCONNECTED.id):
        return None
    after = room.policy.technical.disconnected_after_s
    # A failed driver has its own alarm (`device_failed`): one fault, one alarm.
    down = sorted(
        s for s, since in room.down_since.items() if now - since >= after and s not in room.failed
    )
    if down:
        return Present(f"no link to {', '.join(down)}")
    return Gone("link restored")


def _garbled(room: Technical, now: float) -> Verdict:
    """While a device's stream is noise: staff should check the cable and baud rate, not the
    patient (its values are held back, so `*_stale` would otherwise point at the patient)."""
    if room.garbled:
        return Present("; ".join(f"{s}: {d}" for s, d in sorted(room.garbled.items())))
    return Gone("stream clean again") if room.engine.present.get(DEVICE_GARBLED.id) else None


def _bp_overdue(room: Technical, now: float) -> Verdict:
    sched = room.schedule
    late = sched.overdue_for(now) if sched is not None else None
    if sched is None or late is None:
        return None  # lowered when a reading arrives or a top-up restarts the schedule
    due = sched.next_due
    what = f"{(due - sched.dose_t) / 60:g}-min BP reading"
    if sched.is_mandatory(due):
        what = "mandatory " + what
    return Present(f"{what} late by {now - due:.0f} s", late)


def _co2_line(room: Technical, now: float) -> Verdict:
    """While a source says its CO2 line is blocked (a respiration reading flagged
    LINE_BLOCKED); the source's first unflagged EtCO2 reading clears it (the feed)."""
    if room.line_blocked:
        return Present(co2_line_blocked_reason(room.line_blocked))
    return Gone("the line is clear") if room.engine.present.get(CO2_LINE_BLOCKED) else None


def _device_failed(room: Technical, now: float) -> Verdict:
    """A driver stopped with an unexpected error (the supervisor restarts it): on the
    dashboard at once, with or without a session."""
    if room.failed:
        failed = "; ".join(f"{s}: {why}" for s, why in sorted(room.failed.items()))
        return Present(f"driver failed, restarting ({failed})")
    return Gone("driver recovered") if room.engine.present.get(DEVICE_FAILED.id) else None


_H, _M, _L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
_SPO2, _PR = str(Channel.SPO2), str(Channel.PULSE_RATE)
# fmt: off
SPO2_STALE = TechnicalRule("spo2_stale", _M, _SPO2, _stale(_SPO2), fresh=_SPO2)
PULSE_RATE_STALE = TechnicalRule("pulse_rate_stale", _M, _PR, _stale(_PR), fresh=_PR)
RESP_STALE_RULE = TechnicalRule(RESP_STALE, _M, "resp_rate", _resp_stale,
                                watch="resp_sources")
PROBE_OFF = TechnicalRule("probe_off", _L, _SPO2, _probe_off, worsens_to=_M,
                          worsens_after="technical.probe_off_medium_after_s")
DEVICE_DISCONNECTED = TechnicalRule("device_disconnected", _M, None, _disconnected,
                                    watch="down_since")
DEVICE_GARBLED = TechnicalRule("device_garbled", _M, None, _garbled, watch="garbled")
BP_OVERDUE = TechnicalRule("bp_overdue", _L, "sbp", _bp_overdue, worsens_to=_M,
                           worsens_after="bp_schedule.overdue_medium_after_s")
# Low (never paged) outside a session, medium (paged) in one: nobody's patient is watched
# by the device otherwise.
CO2_LINE = TechnicalRule(CO2_LINE_BLOCKED, _M, "etco2", _co2_line, idle_priority=_L,
                         watch="line_blocked")
DEVICE_FAILED = TechnicalRule("device_failed", _M, None, _device_failed, idle_priority=_L,
                              watch="failed")
CUFF_ERROR = TechnicalRule("cuff_error", _L, "sbp")  # a failed cuff cycle (pipeline)
INTERRUPTED = TechnicalRule(MONITORING_INTERRUPTED, _M)  # the `resumed` control

#: clinical-defaults.md "Technical alarms". The timers check the rows with a predicate in
#: this order; the order of a tick's events follows it.
TECHNICAL_RULES: tuple[TechnicalRule, ...] = (
    SPO2_STALE,
    PULSE_RATE_STALE,
    RESP_STALE_RULE,
    PROBE_OFF,
    DEVICE_DISCONNECTED,
    DEVICE_GARBLED,
    BP_OVERDUE,
    CO2_LINE,
    DEVICE_FAILED,
    CUFF_ERROR,
    INTERRUPTED,
    # Reported by other parts of Vigil (`technical_alarm` control), default priorities.
    TechnicalRule("notify_failed", _H, reported=True),  # alerts/failures.py
    TechnicalRule("storage_degraded", _L, reported=True),  # monitor/store
    TechnicalRule("journal_failed", _H, reported=True),
    TechnicalRule("hl7_out_down", _L, reported=True),  # the PCD-01 receiver (monitor/hl7out/)
)
# fmt: on
TECHNICAL: dict[str, TechnicalRule] = {r.id: r for r in TECHNICAL_RULES}
TIMED_RULES: tuple[TechnicalRule, ...] = tuple(r for r in TECHNICAL_RULES if r.check)
IDLE_RULES: tuple[TechnicalRule, ...] = tuple(r for r in TIMED_RULES if r.idle_priority)
#: Technical conditions other parts of Vigil report, with their default priority.
EXTERNAL_TECHNICAL: dict[str, str] = {r.id: r.priority.value for r in TECHNICAL_RULES if r.reported}
