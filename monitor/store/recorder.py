"""What the runtime records: readings, events, controls and hub messages into the journal.

The journal is written first (queued here, group-committed by its writer thread); the
forwarder sends committed rows on to InfluxDB. When the journal cannot be written its writer
reports it (`Journal.outcomes`): the lines it could not write go to the InfluxStore's memory
queue (so they are not lost while InfluxDB is up) and `journal_failed` is raised; InfluxDB down
for long raises `storage_degraded`. Both go to `on_alarm`, which the runtime publishes like any
alarm event. With `retention_days` set, readings older than that which InfluxDB already has
are pruned from the journal every `prune_every_s` (audit entries never are).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from monitor.core.controls import Control
from monitor.core.models import AlarmEvent, DeviceState, PhaseEvent, Reading
from monitor.store import lineproto
from monitor.store.forwarder import Forwarder
from monitor.store.health import StorageAlarms
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal, SessionRow, canonical_json

log = logging.getLogger(__name__)
DAY_S = 86_400.0
PRUNE_EVERY_S = 3_600.0

# Hub message types the runtime journals itself (or that are not worth keeping).
# `room`: a whole room's view (after a resume), which the journal has as its inputs already.
# `notification`: recorded through `notification()` (alerts/host.py), not a second time here.
_NOT_FROM_HUB = frozenset(
    {"reading", "device", "alarm", "phase", "heartbeat", "snapshot", "room", "notification"}
)
# Controls that change a session's record.
PSEUDONYM_KEY = "pseudonym"  # the session_start argument (monitor/api/routes/events.py)
STOPPED_REASON = "Vigil stopped during the session"


def accepted(outcome: str) -> bool:
    """The core applied the control: its outcome is "ok" or "ok: ..." (else "ignored: ...",
    "rejected: ..." or "failed: ...")."""
    return outcome == "ok" or outcome.startswith("ok:")


class Recorder:
    def __init__(
        self,
        journal: Journal,
        store: InfluxStore,
        *,
        batch_s: float = 1.0,
        degraded_after_s: float = 60.0,
        on_alarm: Callable[[AlarmEvent], None] = lambda e: None,
        clock: Callable[[], float] = time.time,
        retention_days: float | None = None,
        prune_every_s: float = PRUNE_EVERY_S,
    ) -> None:
        self.journal = journal
        self.retention_days = retention_days or None  # 0 or None: keep everything
        self.prune_every_s = prune_every_s
        self.pruned = 0
        self.store = store
        self.clock = clock
        self.on_alarm = on_alarm
        self.alarms = StorageAlarms(degraded_after_s=degraded_after_s)
        self._last_ns: dict[tuple[str, str, str], int] = {}
        self.readings = 0  # received (GET /metrics)
        self.forwarder = Forwarder(
            journal, store, self.alarms, batch_s=batch_s, on_alarm=self._alarm, clock=clock
        )

    def _alarm(self, event: AlarmEvent) -> None:
        self.on_alarm(event)

    def drain(self) -> None:
        """Act on what the journal's writer reported: lines it could not write go to InfluxDB's
        memory queue (not lost while InfluxDB is up); `journal_failed` raised or cleared."""
        for outcome in self.journal.outcomes():
            for line in outcome.lines:
                self.store.enqueue(line)
            for event in self.alarms.journal(self.clock(), outcome.ok, outcome.error):
                self.on_alarm(event)

    def _point(self, kind: str, room: str | None, t: float, line: str, payload: Any) -> None:
        self.journal.append(kind, room, t, line, payload)
        self.drain()

    # -- what the runtime calls -----------------------------------------------------------
    def reading(self, room: str, r: Reading) -> None:
        self.readings += 1
        line = lineproto.reading_line(room, r)
        # InfluxDB keeps one point per series and timestamp. Frames that arrive in one read
        # share a receive time, so a later reading of the same series would overwrite an
        # earlier one: space them 1 ns apart (the journal keeps the reading's own time).
        key = (room, r.channel, r.source)
        head, _, stamp = line.rpartition(" ")
        ns = max(int(stamp), self._last_ns.get(key, -1) + 1)
        self._last_ns[key] = ns
        self._point("reading", room, r.t, f"{head} {ns}", r.to_dict())

    def device(self, room: str, s: DeviceState) -> None:
        payload = {"source": s.source, "state": s.state.value, "detail": s.detail, "t": s.t}
        self._point("device", room, s.t, lineproto.device_line(room, s), payload)

    def event(self, e: AlarmEvent | PhaseEvent) -> None:
        """An alarm transition or phase change: a point to forward and an audit entry."""
        if isinstance(e, AlarmEvent):
            self._point("alarm", e.room, e.t, lineproto.alarm_line(e), e.to_dict())
            self.audit("alarm", e.by, e.to_dict(), t=e.t, room=e.room)
        else:
            self._point("phase", e.room, e.t, lineproto.phase_line(e), e.to_dict())
            self.audit("phase", None, e.to_dict(), t=e.t, room=e.room)

    def notification(self, message: dict[str, Any]) -> None:
        """A paging record (alerts/host.py): a `notification` point to forward and an audit
        entry, like an alarm transition; the journal is its only way to InfluxDB."""
        room = str(message["room"]) if message.get("room") else None
        line = lineproto.notification_line(message)
        self._point("notification", room, float(message["t"]), line, message)
        self.journal.record("notification", dict(message))
        self.drain()

    def control_before(self, room: str, c: Control, outcome: str = "ok") -> None:
        """A control the pipeline has just decided on (`outcome` from its log), recorded before
        the events it caused: a session the core started is opened first, so the control's
        audit entry and those events join it. A refused session_start opens nothing."""
        if c.event == "session_start" and accepted(outcome):
            patient = str(c.args.get(PSEUDONYM_KEY) or "")
            self.journal.start_session(room, c.t, patient, c.by)
            self.drain()  # writes are queued: their failures come back from the writer
        payload = {"event": c.event, "args": c.args, "t": c.t, "outcome": outcome}
        self.audit("control", c.by, payload, t=c.t, room=room)

    def control_after(
        self, room: str, c: Control, snapshot: dict[str, Any], outcome: str = "ok"
    ) -> None:
        """After the control's events: record the confirmed baseline, close sessions; only
        for a control the core applied (an ignored second dose must not move the dose)."""
        if not accepted(outcome):
            return
        if c.event == "dose" and len(snapshot.get("session", {}).get("doses", ())) > 1:
            return  # a top-up: the session's dose time and baseline stay the first dose's
        if c.event in ("dose", "baseline"):
            if c.event == "dose":
                self.journal.mark_dose(room, c.t, c.by)
            baseline = {"baseline": snapshot.get("baseline"), "limits": snapshot.get("limits")}
            self.audit("baseline", c.by, baseline, t=c.t, room=room)
        elif c.event == "session_end":
            self.journal.end_session(room, c.t, c.by)

    def close_stale_sessions(
        self, which: Sequence[tuple[SessionRow, str]] | None = None
    ) -> list[str]:
        """At start-up: end sessions a previous run left open (the process stopped during
        them): `which` with why (every open one when None), at its last journal entry (its
        start if none) so its record's duration stops growing; audited. The ids closed."""
        stale = self.journal.open_sessions()
        todo = [(s, "") for s in stale] if which is None else list(which)
        closed: list[str] = []
        for s, why in todo:
            # A later session in the same room bounds this one (an older bug could leave two).
            later = [o.started for o in stale if o.room == s.room and o.started > s.started]
            last = self.journal.last_entry_t(s.room, s.id, s.started, min(later, default=None))
            end = max(s.started, last if last is not None else s.started)
            self.journal.close_session(s.id, end, STOPPED_REASON)
            payload = {"reason": STOPPED_REASON, "ended": end, "closed_at": self.clock()}
            if why:
                payload["why"] = why
            self.audit("session_closed", None, payload, t=end, room=s.room, session=s.id)
            log.warning(
                "room %s: session %s left open by a previous run: %s%s",
                s.room,
                s.id,
                STOPPED_REASON,
                f" ({why})" if why else "",
            )
            closed.append(s.id)
        return closed

    def hub_message(self, message: dict[str, Any]) -> None:
        """Hub listener: journal what other parts publish (notifications, ...)."""
        kind = str(message.get("type", ""))
        if kind and kind not in _NOT_FROM_HUB:
            self.journal.record(kind, dict(message))
            self.drain()

    def audit(
        self,
        kind: str,
        who: str | None,
        payload: dict[str, Any],
        *,
        t: float | None = None,
        room: str | None = None,
        session: str | None = None,
    ) -> bool:
        """For other parts (logins, config changes, notes): an audit entry with who."""
        t = self.clock() if t is None else t
        queued = self.journal.audit(kind, who, payload, t=t, room=room, session=session)
        self.drain()
        return queued

    def config(self, settings: dict[str, Any], who: str | None = None) -> bool | None:
        """Audit the configuration when it differs from the last one recorded (secrets are
        the caller's to leave out)."""
        last = self.journal.last_audit("config")
        if last is not None and last.payload == json.loads(canonical_json(settings)):
            return None
        return self.audit("config", who, settings)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def notify() -> None:  # from the writer thread
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self.drain)

        self.journal.on_outcome = notify
        self.drain()
        if self.retention_days:
            pruner = asyncio.create_task(self._prune_loop(), name="journal-retention")
            try:
                await self.forwarder.run()
            finally:
                pruner.cancel()
                await asyncio.wait([pruner])  # its end, never ours (see watchdog.stopping)
        else:
            await self.forwarder.run()

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:  # a bug here must not stop forwarding
                log.exception("journal retention failed")
            await asyncio.sleep(self.prune_every_s)

    async def prune(self) -> int:
        """Delete readings older than `retention_days` that InfluxDB already has (in short
        transactions on the journal's writer thread); how many."""
        if not self.retention_days:
            return 0
        before = self.clock() - self.retention_days * DAY_S
        total = 0
        while True:
            n = await asyncio.to_thread(self.journal.prune, before)
            total += n
            if n == 0:
                break
        self.pruned += total
        if total:
            log.info(
                "journal retention: %d readings older than %s days pruned",
                total,
                self.retention_days,
            )
        return total

    async def committed(self) -> bool:
        """Wait until everything recorded so far is committed (without blocking the loop)."""
        ok = await self.journal.committed()
        self.drain()
        return ok

    def sync(self) -> bool:
        """Blocking `committed()` for tests and the CLI."""
        ok = self.journal.flush()
        self.drain()
        return ok

    async def final_flush(self) -> None:
        await self.forwarder.forward_once()

    def close(self) -> None:
        self.journal.on_outcome = None
        self.journal.close()

    def health(self) -> dict[str, Any]:
        return {
            **self.journal.health(),
            "forwarded": self.forwarder.forwarded,
            "retention_days": self.retention_days,
            "pruned": self.pruned,
            "alarms": sorted(self.alarms.active),
        }
