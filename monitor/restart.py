"""Start-up after a stop: the sessions a previous run left open are resumed or closed.

`begin()` (at start-up) decides for each open session (monitor/resume.py `plan`) and closes
the ones not resumed. Each resumed room's consumer task first awaits `resume(room)`: the
room's core is rebuilt from the journal in a worker thread (the event loop keeps serving the
other rooms, the API and the drivers, whose inputs wait in the room's queue), swapped in, and
told that Vigil is back (`resumed`: links reconnecting, `monitoring_interrupted` raised). The
notifier learns of the alarms nobody acknowledged, so paging resumes for them (not for the
acknowledged ones). `/api/health` says `degraded` while a room is resuming, when a resume
failed, and while a resumed room's `monitoring_interrupted` is unacknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from monitor.config import RoomConfig, Settings
from monitor.core.models import AlarmEvent, AlarmState, Event
from monitor.core.pipeline import MONITORING_INTERRUPTED, PipelineEvent, RoomPipeline
from monitor.core.session import IN_SESSION
from monitor.hub import Hub
from monitor.resume import ENDED, FAILED, RESUMED, Rebuilt, plan, rebuild, records, resumed_control
from monitor.rooms import Room
from monitor.store.journal import SessionRow
from monitor.store.recorder import Recorder

log = logging.getLogger(__name__)


class Pages(Protocol):
    def on_event(self, event: Event) -> None: ...


class Runtime(Protocol):
    """What a restart reads of the running Vigil (monitor/runtime.py), which it does not import:
    the runtime composes it (docs/architecture.md)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def rooms(self) -> Mapping[str, Room]: ...
    @property
    def recorder(self) -> Recorder: ...
    @property
    def hub(self) -> Hub: ...
    @property
    def notifier(self) -> Pages: ...

    def new_pipeline(self, rc: RoomConfig) -> RoomPipeline: ...

    def room_view(self, room: Room) -> dict[str, Any]: ...


HOUR_S = 3600.0


def process_started_at(pid: int | str = "self") -> float | None:
    """When a process started (Unix time, to the clock tick), from Linux's /proc: the
    moment the time to protection counts from. None where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start, ticks since boot
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.time() - (since_boot - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Restart:
    def __init__(self, vigil: Runtime) -> None:
        self.vigil = vigil
        self._todo: dict[str, SessionRow] = {}  # taken by each room's task when it starts
        self._resuming: set[str] = set()  # until its room is resumed (or failed)
        self.rooms: dict[str, dict[str, Any]] = {}  # room → what became of its session
        self.protection_back_t: float | None = None  # every resumed room evaluating again
        self.process_started_t = process_started_at()

    def begin(self, now: float) -> None:
        """Decide for every session a previous run left open; close those not resumed."""
        v = self.vigil
        max_age_s = v.settings.resume_max_age_h * HOUR_S
        decided = plan(v.recorder.journal.open_sessions(), v.rooms.keys(), now, max_age_s)
        if decided.close:
            v.recorder.close_stale_sessions(decided.close)
        self._todo = dict(decided.resume)
        self._resuming = set(self._todo)
        for rid, s in self._todo.items():
            self.rooms[rid] = {"session": s.id, "state": "resuming"}
        if not self._todo:
            self.protection_back_t = now

    async def resume(self, room: Room, sources: Sequence[str]) -> list[PipelineEvent]:
        """Rebuild the room's core if its session is to be resumed (once: a restarted room
        task does not replay again), `sources` being the device links this run has; the
        events of Vigil being back, for the caller to publish like any others."""
        rid = room.config.id
        session = self._todo.pop(rid, None)
        if session is None:
            return []
        v = self.vigil
        status = self.rooms[rid]
        restarted_t = v.started_at if v.started_at is not None else v.clock()
        try:
            rebuilt, last_t = await asyncio.to_thread(self._rebuild, room, session, restarted_t)
            gap_s = max(0.0, restarted_t - last_t)
            control = resumed_control(restarted_t, gap_s, sources)
            events = rebuilt.pipeline.control(control)
        except Exception as exc:  # a room that cannot be rebuilt starts empty, visibly
            log.exception("room %s: session %s could not be resumed", rid, session.id)
            v.recorder.close_stale_sessions([(session, FAILED.format(error=exc))])
            status.update(state="failed", error=f"{type(exc).__name__}: {exc}")
            self._settled(rid)
            return []
        pipeline = room.pipeline = rebuilt.pipeline
        # The replayed transitions were published before the stop; the notifier learns what
        # is still unacknowledged (the caller publishes what `resumed` changed): an active
        # one as of now, so its page is not followed at once by a repeat; a latched
        # (resolved) one keeps its repeat clock, so a repeat due in the gap goes out now.
        changed = {e.condition for e in events if isinstance(e, AlarmEvent)}
        for alarm in list(pipeline.active.values()):
            if alarm.condition in changed or alarm.state == AlarmState.ACKNOWLEDGED:
                continue
            late = alarm.state == AlarmState.RESOLVED
            v.notifier.on_event(alarm if late else replace(alarm, t=restarted_t))
        payload = {
            "event": control.event,
            "args": control.args,
            "t": control.t,
            "outcome": pipeline.log[-1]["outcome"],
            "last_entry_t": last_t,
            "inputs": rebuilt.inputs,
            "rebuild_s": round(rebuilt.took_s, 3),
            "phase": pipeline.phase,
        }
        # The audit entry is also the input a later restart replays (monitor/resume.py).
        v.recorder.audit(RESUMED, control.by, payload, t=control.t, room=rid, session=session.id)
        if pipeline.phase not in IN_SESSION:
            # The core's record ends the session (its end was journaled, the session row's
            # update was lost with the last commit window): the journal follows the core.
            v.recorder.close_stale_sessions([(session, ENDED)])
        status.update(
            state="resumed" if pipeline.phase in IN_SESSION else "closed",
            gap_s=round(gap_s, 3),
            inputs=rebuilt.inputs,
            rebuild_s=round(rebuilt.took_s, 3),
            phase=pipeline.phase,
        )
        log.warning(
            "room %s: resumed session %s (phase %s) after %.0f s without monitoring; "
            "%d journal inputs replayed in %.2f s",
            rid,
            session.id,
            pipeline.phase,
            gap_s,
            rebuilt.inputs,
            rebuilt.took_s,
        )
        # Open dashboards got the idle room at connect: the rebuilt one replaces it.
        v.hub.publish({"type": "room", **v.room_view(room)})
        self._settled(rid)
        return events

    def _rebuild(
        self, room: Room, session: SessionRow, restarted_t: float
    ) -> tuple[Rebuilt, float]:
        """In a worker thread: the room's inputs replayed into a fresh pipeline, and the time
        of the session's last journal entry before the restart (the stop; this process may
        already journal for the room, e.g. the notifier cancelling a predecessor's pages)."""
        journal = self.vigil.recorder.journal
        recs = records(journal, session, until=restarted_t)
        rebuilt = rebuild(recs, self.vigil.new_pipeline(room.config))
        last = journal.last_entry_t(session.room, session.id, session.started, restarted_t)
        last_t = max(rebuilt.last_t, last if last is not None else -math.inf, session.started)
        return rebuilt, last_t

    def _settled(self, rid: str) -> None:
        self._resuming.discard(rid)
        if self._resuming or self.protection_back_t is not None:
            return
        v = self.vigil
        self.protection_back_t = v.clock()
        started = self.process_started_t or v.started_at or self.protection_back_t
        log.warning(
            "protection back: %d room(s) resumed, alarms evaluated again %.2f s after the "
            "process started",
            sum(1 for s in self.rooms.values() if s["state"] == "resumed"),
            self.protection_back_t - started,
        )

    def health(self) -> dict[str, Any]:
        """The rooms resumed (or not) at start-up; `ok` False while that needs attention."""
        rooms = {}
        for rid, status in self.rooms.items():
            room = self.vigil.rooms.get(rid)
            alarm = room.pipeline.active.get(MONITORING_INTERRUPTED) if room else None
            unacked = alarm is not None and alarm.state != AlarmState.ACKNOWLEDGED
            rooms[rid] = {**status, "interruption_unacknowledged": unacked}
        ok = all(
            s["state"] in ("resumed", "closed") and not s["interruption_unacknowledged"]
            for s in rooms.values()
        )
        return {
            "status": "ok" if ok else "resuming" if self._resuming else "attention",
            "rooms": rooms,
            "protection_back_t": self.protection_back_t,
            "protection_back_s": (
                None
                if self.protection_back_t is None or self.process_started_t is None
                else round(self.protection_back_t - self.process_started_t, 3)
            ),
        }
