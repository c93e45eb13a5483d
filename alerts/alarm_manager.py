"""Alarms to a hospital alarm manager: IHE PCD ACM ORU^R40 over MLLP, beside Apprise.

A dedicated `[alerts.alarm_manager]` section rather than a contact URL: a contact receives
*pages* (first, repeats every 30-60 s, escalations, withdrawn once acknowledged) at one tier,
whereas an alarm manager takes over delivery and needs the alarm's *lifecycle*: every
transition once (start, escalation, acknowledgement, latch, end), in order, for every room.
So it is fed every alarm transition the notifier sees, not the pages.

Transitions wait in an in-memory queue (bounded; the oldest are dropped and counted past
`MAX_QUEUED`) and go out one at a time, each waiting for its ACK; a failed attempt is retried
with backoff, in order. After `retry_attempts` failed attempts in a row the rooms with alarms
waiting get `notify_failed` (as any paging channel that cannot deliver); the first accepted
message clears it. An AE/AR answer is final for that message: logged, counted, not resent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from alerts.config import AlarmManagerConfig
from alerts.message import CONDITION_LABELS
from alerts.policy import technical_control
from monitor.core.models import AlarmEvent, AlarmState, Control, Event
from monitor.hl7out.acm import alert_id, encode_oru_r40
from monitor.hl7out.mllp import LinkError, MllpLink

log = logging.getLogger(__name__)

BY = "alarm manager"  # who raised notify_failed (the audit trail says so)
MAX_QUEUED = 10_000
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 15.0


class AlarmManager:
    def __init__(
        self,
        config: AlarmManagerConfig,
        *,
        retry_attempts: int,
        inject: Callable[[str, Control], None],
        record: Callable[..., None],
        session_of: Callable[[str], str | None] = lambda room: None,
        pseudonym_of: Callable[[str], str] = lambda session: "",
        clock: Callable[[], float] = time.time,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.config = config
        self.retry_attempts = retry_attempts
        self._inject = inject
        self._record = record
        self._session_of = session_of  # room -> its open session (cheap, in memory)
        self._pseudonym_of = pseudonym_of  # session -> pseudonym (SQL: called off the loop)
        self.clock = clock
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.link = MllpLink.to(config)
        self.queue: deque[tuple[AlarmEvent, str | None, bool]] = deque()
        self._wake = asyncio.Event()
        self._acked: set[tuple[str, str, float | None]] = set()  # episodes acknowledged
        self._failing_rooms: set[str] = set()  # rooms we raised notify_failed in
        self.sent = 0
        self.rejected = 0
        self.dropped = 0
        self.last_error = ""

    # -- input (the room's path: cheap, never raises) -------------------------------------------
    def on_event(self, event: Event) -> None:
        if not isinstance(event, AlarmEvent):
            return
        key = (event.room, event.condition, event.since)
        if event.state == AlarmState.ACKNOWLEDGED:
            self._acked.add(key)
        acked = key in self._acked
        if event.state == AlarmState.CLEARED:
            self._acked.discard(key)
        if len(self.queue) >= MAX_QUEUED:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append((event, self._session_of(event.room), acked))
        self._wake.set()

    # -- delivery -------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                while not self.queue:
                    self._wake.clear()
                    await self._wake.wait()
                await self._deliver_head()
        finally:
            await self.link.aclose()

    async def _deliver_head(self) -> None:
        event, session, acked = self.queue[0]
        pseudonym = await asyncio.to_thread(self._pseudonym_of, session) if session else ""
        control_id = f"{alert_id(event)}.{event.state.value}.{round(event.t * 1000)}"
        message = encode_oru_r40(
            event,
            pseudonym=pseudonym,
            control_id=control_id,
            now=self.clock(),
            label=CONDITION_LABELS.get(event.condition, event.condition.replace("_", " ")),
            acknowledged=acked,
            endpoints=self.config.endpoints,
        )
        attempt = 0
        while True:
            attempt += 1
            started = self.clock()
            try:
                ack = await self.link.send(message, control_id)
            except LinkError as exc:
                self.last_error = str(exc)
                self._delivery(event, attempt, "failed", str(exc), started)
                if attempt == self.retry_attempts:
                    self._unreachable(str(exc))
                delay = self.backoff_initial_s * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, self.backoff_max_s))
                continue
            break
        self.queue.popleft()
        self._reachable()
        if ack.accepted:
            self.sent += 1
            self._delivery(event, attempt, "delivered", "", started)
        else:
            self.rejected += 1
            why = f"{ack.code}: {ack.text or 'no reason given'}"
            log.error("alarm manager rejected %s/%s: %s", event.room, event.condition, why)
            self._delivery(event, attempt, "rejected", why, started)

    def _delivery(
        self, event: AlarmEvent, attempt: int, result: str, detail: str, started: float
    ) -> None:
        self._record(
            "delivery",
            room=event.room,
            condition=event.condition,
            priority=event.priority.value,
            kind=event.state.value,
            contact=BY,
            channel="mllp",
            attempt=attempt,
            result=result,
            detail=detail,
            latency_ms=round((self.clock() - started) * 1000, 1),
        )

    # -- notify_failed --------------------------------------------------------------------------
    def _unreachable(self, why: str) -> None:
        reason = f"alarm manager {self.config.host}:{self.config.port} unreachable: {why}"
        rooms = {e.room for e, _, _ in self.queue} - self._failing_rooms
        for room in sorted(rooms):
            log.warning("room %s: %s", room, reason)
            self._failing_rooms.add(room)
            self._inject(room, technical_control(self.clock(), AlarmState.ACTIVE, reason, BY))

    def _reachable(self) -> None:
        if not self._failing_rooms:
            return
        reason = "alarm manager reachable again"
        log.warning("%s (rooms %s)", reason, ", ".join(sorted(self._failing_rooms)))
        for room in sorted(self._failing_rooms):
            self._inject(room, technical_control(self.clock(), AlarmState.CLEARED, reason, BY))
        self._failing_rooms.clear()

    def health(self) -> dict[str, Any]:
        return {
            "status": "degraded" if self._failing_rooms else "ok",
            "receiver": f"{self.config.host}:{self.config.port}",
            "connected": self.link.connected,
            "queued": len(self.queue),
            "sent": self.sent,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }
