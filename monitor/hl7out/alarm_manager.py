"""Alarms to a hospital alarm manager: IHE PCD ACM ORU^R40 over MLLP, beside Apprise.

A dedicated `[alerts.alarm_manager]` section rather than a contact URL: a contact receives
*pages* (first, repeats every 30-60 s, escalations, withdrawn once acknowledged) at one tier,
whereas an alarm manager takes over delivery and needs the alarm's *lifecycle*: every
transition once (start, escalation, acknowledgement, latch, end), in order, for every room.

The journal is the outbox, as for PCD-01: every alarm transition is journaled before the
notifier sees it; this channel reads the committed `alarm` rows after its own cursor
(`hl7_acm`), woken by each transition (so a report leaves within the journal's commit window),
sends each and waits for its ACK before the next. A failed attempt is retried with backoff, in
order, so nothing is lost while the alarm manager is down, nor across a restart of Vigil
(at-least-once: the control id, MSH-10, is the same when a report is sent again). After
`retry_attempts` failed attempts in a row the rooms with reports waiting get `notify_failed`
(as any paging channel that cannot deliver); the first answer clears it, unless the phones
cannot be paged either (a room has one notify_failed, held up by whichever channel fails).
An AE/AR answer is final for that report: logged, counted and recorded, not resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from alerts.message import condition_label
from alerts.policy import technical_control
from monitor.core.controls import Control
from monitor.core.models import AlarmEvent, AlarmState, Event
from monitor.hl7out.acm import alarm_of, alert_id, encode_oru_r40
from monitor.hl7out.config import AlarmManagerConfig
from monitor.hl7out.mllp import LinkError, MllpLink
from monitor.hl7out.outbox import Pseudonyms, open_cursor
from monitor.store.journal import Journal, PointRow

log = logging.getLogger(__name__)

CURSOR = "hl7_acm"
BY = "alarm manager"  # who raised notify_failed (the audit trail says so)
READ_ROWS = 200
POLL_S = 1.0  # also read without a wake-up (an alarm journaled by another path)
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 15.0


class AlarmManager:
    def __init__(
        self,
        config: AlarmManagerConfig,
        journal: Journal,
        *,
        retry_attempts: int,
        inject: Callable[[str, Control], None],
        record: Callable[..., None],
        clock: Callable[[], float] = time.time,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        poll_s: float = POLL_S,
        phones_failing: Callable[[str], bool] = lambda room: False,
    ) -> None:
        self.config = config
        self.journal = journal
        self.retry_attempts = retry_attempts
        self._inject = inject
        self._record = record
        self.clock = clock
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.poll_s = poll_s
        # The room has one notify_failed: the notifier's phone tiers may hold it up too.
        self._phones_failing = phones_failing
        self.link = MllpLink.to(config)
        self.pseudonyms = Pseudonyms(journal)
        self.cursor: int | None = None  # None until run() opened it
        self.waiting: list[PointRow] = []  # read, not yet answered (head first)
        self._wake = asyncio.Event()
        self._acked: set[tuple[str, str, float | None]] = set()  # episodes acknowledged
        self.failing_rooms: set[str] = set()  # rooms notify_failed was raised in for us
        self.sent = 0
        self.rejected = 0
        self.unsendable = 0  # journal rows that are not an alarm (damaged): skipped
        self.last_error = ""

    def on_event(self, event: Event) -> None:
        """A transition was published (and journaled before): read it now, not at the poll."""
        if isinstance(event, AlarmEvent):
            self._wake.set()

    # -- delivery -------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            self.cursor = await open_cursor(self.journal, CURSOR)
            while True:
                try:
                    await self.deliver_pending()
                except Exception:  # a bug here must not end alarm reports for good
                    log.exception("alarm manager: delivery failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            await self.link.aclose()

    async def deliver_pending(self) -> None:
        """Send every committed alarm row after the cursor, in order (retrying as needed)."""
        assert self.cursor is not None
        await self.journal.committed()
        while rows := await asyncio.to_thread(
            self.journal.points_after, self.cursor, "alarm", READ_ROWS
        ):
            self.waiting = rows
            while self.waiting:
                row = self.waiting[0]
                event = alarm_of(row.payload)
                if event is None:
                    log.error("alarm manager: journal row %d is not an alarm; skipped", row.id)
                    self.unsendable += 1
                else:
                    await self._deliver(event, row.session)
                self.waiting.pop(0)
                self.cursor = row.id
                self.journal.set_cursor(CURSOR, row.id)
            await self.journal.committed()

    async def _deliver(self, event: AlarmEvent, session: str | None) -> None:
        key = (event.room, event.condition, event.since)
        if event.state == AlarmState.ACKNOWLEDGED:
            self._acked.add(key)
        acked = key in self._acked
        if event.state == AlarmState.CLEARED:
            self._acked.discard(key)
        control_id = f"{alert_id(event)}.{event.state.value}.{round(event.t * 1000)}"
        message = encode_oru_r40(
            event,
            pseudonym=await self.pseudonyms.of(session),
            control_id=control_id,
            now=self.clock(),
            label=condition_label(event.condition),
            acknowledged=acked,
            endpoints=self.config.endpoints,
        )
        attempt = 0
        while True:
            attempt += 1
            started = self.clock()
            try:
                ack = await self.link.send(message, control_id)
                break
            except LinkError as exc:
                self.last_error = str(exc)
                self._delivery(event, attempt, "failed", str(exc), started)
                if attempt == self.retry_attempts:
                    self._unreachable(str(exc))
                delay = self.backoff_initial_s * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, self.backoff_max_s))
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
        rooms = {r.room for r in self.waiting if r.room} - self.failing_rooms
        for room in sorted(rooms):
            log.warning("room %s: %s", room, reason)
            self.failing_rooms.add(room)
            self._inject(room, technical_control(self.clock(), AlarmState.ACTIVE, reason, BY))

    def _reachable(self) -> None:
        if not self.failing_rooms:
            return
        reason = "alarm manager reachable again"
        log.warning("%s (rooms %s)", reason, ", ".join(sorted(self.failing_rooms)))
        for room in sorted(self.failing_rooms):
            if not self._phones_failing(room):  # else it stays until the phones are reached
                self._inject(room, technical_control(self.clock(), AlarmState.CLEARED, reason, BY))
        self.failing_rooms.clear()

    def health(self) -> dict[str, Any]:
        return {
            "status": "degraded" if self.failing_rooms else "ok",
            "receiver": f"{self.config.host}:{self.config.port}",
            "connected": self.link.connected,
            "waiting": len(self.waiting),
            "cursor": self.cursor,
            "sent": self.sent,
            "rejected": self.rejected,
            "unsendable": self.unsendable,
            "last_error": self.last_error,
        }
