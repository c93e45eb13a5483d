"""Resume after a restart: rebuild each room's core state from the journal and carry on.

The journal holds every input a room's core was given: readings and device states (`points`)
and controls with their arguments and who gave them (`control` audit entries, each with the
core's outcome). Replaying a session's inputs through a fresh `RoomPipeline`, with the same
ticks `vigil replay` makes (monitor/core/replay.py), rebuilds what the core had decided: the
phase and dose time, the baseline with who confirmed it, the limits, alarms with their
acknowledgements and escalation tier, the audio pause, the BP schedule and the discharge
state. The events the replay causes happened before the stop (they are in the journal
already): the caller discards them, so nothing is paged or journaled twice.

A session older than `resume_max_age_h` is closed instead, as before (Vigil stopped during
it). Pure except `records`, which reads the journal (call it off the event loop).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from monitor.core.controls import Control, Resumed, control_from_dict
from monitor.core.models import CANONICAL_UNIT, DeviceState, LinkState, Reading
from monitor.core.pipeline import RoomPipeline
from monitor.core.recording import Record
from monitor.core.replay import replay
from monitor.store.journal import Journal, SessionRow

RESUMED = "resumed"  # the audit entry, and the control the core applies (core/handlers.py resumed)
# Why a session left open is closed rather than resumed (the `session_closed` audit entry).
TOO_OLD = "older than resume_max_age_h at the restart"
NOT_CONFIGURED = "its room is no longer configured"
SUPERSEDED = "a later session of its room was open"
FAILED = "it could not be resumed: {error}"
ENDED = "its inputs end it (the session's end was not written before the stop)"
# Audit entries that are inputs to the core: a staff (or storage, notifier) control, and a
# previous restart's `resumed` (so a second restart rebuilds the first one's gap too).
_INPUT_KINDS = ("control", RESUMED)
_ORDER = {"device": 0, "control": 1, "reading": 2}  # on a tie: links, then people, then data
_NO_FLAGS: frozenset[str] = frozenset()
_NO_STATUS = (None, "", "[]")
# Inputs this long before the session started are replayed too (not before the room's
# previous session ended): an alarm raised while the patient was being connected, latched
# and not yet acknowledged when the session started, must survive a restart as well.
LEAD_S = 600.0


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """What start-up does with the sessions a previous run left open."""

    resume: dict[str, SessionRow]  # room → the session to carry on
    close: list[tuple[SessionRow, str]]  # sessions to close, with the reason


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """A room's core rebuilt from its journal: `inputs` replayed, the last at `last_t`."""

    pipeline: RoomPipeline
    inputs: int
    last_t: float
    took_s: float


def plan(
    open_sessions: Sequence[SessionRow], rooms: Collection[str], now: float, max_age_s: float
) -> ResumePlan:
    """Resume each configured room's latest open session started less than `max_age_s` ago;
    close the others with the reason."""
    resume: dict[str, SessionRow] = {}
    close: list[tuple[SessionRow, str]] = []
    for s in sorted(open_sessions, key=lambda s: (s.started, s.id), reverse=True):
        if s.room not in rooms:
            close.append((s, NOT_CONFIGURED))
        elif s.room in resume:
            close.append((s, SUPERSEDED))
        elif now - s.started >= max_age_s:
            close.append((s, TOO_OLD))
        else:
            resume[s.room] = s
    close.sort(key=lambda c: (c[0].started, c[0].id))
    return ResumePlan(resume, close)


def records(
    journal: Journal, session: SessionRow, until: float = math.inf, lead_s: float = LEAD_S
) -> list[Record]:
    """The session's inputs before `until` (the restart: what the running process writes is
    not the past) in time order, as `vigil replay` takes them, from `lead_s` before its
    start (or its room's previous session's end): each source's link state then, the
    readings, device states and controls (with the pseudonym, unlike an exported recording).
    Blocking: reads the journal."""
    room = session.room
    t0 = session.started - lead_s
    for earlier in journal.sessions(room, t1=session.started):
        if earlier.id != session.id and earlier.ended is not None:
            t0 = max(t0, earlier.ended)
    timed: list[tuple[float, int, Reading | Control | DeviceState]] = []
    for d in journal.device_states_before(room, t0):
        # As of the first input: replay ticks from an older time would only cost time.
        timed.append((t0, -1, replace(_device(d), t=t0)))
    for p in journal.points(room, t0, until, ["device"]):
        if p.t < until:
            timed.append((p.t, _ORDER["device"], _device(p.payload)))
    before = journal.room_controls(room, t0, session.started)
    for e in before + journal.audit_entries(session=session.id, kinds=_INPUT_KINDS):
        event = e.payload.get("event")
        if not event or str(e.payload.get("outcome", "ok")).startswith("failed"):
            continue  # a control the core failed on live would fail here too
        t = float(e.payload.get("t", e.t))
        if t >= until:
            continue
        args = e.payload.get("args") or {}
        control = control_from_dict({"t": t, "event": str(event), "args": args, "by": e.who})
        timed.append((t, _ORDER["control"], control))
    for t, channel, value, status_json, source in journal.reading_values(room, t0, until):
        if t >= until:
            continue
        # Most readings carry no flag: no JSON to parse (a 6-h session has 100,000s).
        status = _NO_FLAGS if status_json in _NO_STATUS else frozenset(json.loads(status_json))
        unit = CANONICAL_UNIT.get(channel, "")
        value = None if value is None else float(value)
        timed.append((t, _ORDER["reading"], Reading(t, channel, value, unit, status, source or "")))
    timed.sort(key=lambda x: (x[0], x[1]))
    return [Record(room, item) for _, _, item in timed]


def _device(payload: dict[str, object]) -> DeviceState:
    t = payload.get("t")
    return DeviceState(
        float(t) if isinstance(t, int | float) else 0.0,
        str(payload.get("source", "")),
        LinkState(str(payload.get("state"))),
        str(payload.get("detail", "")),
    )


def rebuild(
    recs: Sequence[Record],
    pipeline: RoomPipeline,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> Rebuilt:
    """Replay `recs` into `pipeline` (the events are the past's: discarded)."""
    t_start = clock()
    pipelines = {pipeline.room: pipeline}
    for _ in replay(recs, pipelines=pipelines):
        pass
    last_t = recs[-1].item.t if recs else -math.inf
    return Rebuilt(pipeline, len(recs), last_t, clock() - t_start)


def resumed_control(t: float, gap_s: float, sources: Sequence[str] | None = None) -> Resumed:
    """The control that tells the rebuilt core Vigil is back at `t` after `gap_s`, with the
    device link sources the restarted run has (when known)."""
    reason = f"Vigil was not monitoring for {gap_s:.0f} s (restarted); check the patient"
    listed = None if sources is None else tuple(sorted(sources))
    return Resumed(t, round(gap_s, 3), reason, listed, by="vigil")
