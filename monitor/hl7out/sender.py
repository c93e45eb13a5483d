"""IHE PCD-01 out: the journal is the outbox; readings go to the receiver in order.

Reads committed `reading` rows after its own journal cursor (`hl7_pcd01`, beside InfluxDB's
`forwarded` flag), batches them (batching.py), sends each message over MLLP and waits for
its ACK before the next. Only an accepting ACK (AA/CA) or a message given up moves the
cursor, so while the receiver is down nothing is lost: the readings wait in the journal and
go out in order when it is back. Semantics: at-least-once (a crash between an ACK and the
cursor's commit sends that message again, with the same control id).

An AE/AR answer (the receiver cannot take this message) is retried `reject_attempts` times,
then the message is skipped and counted (`rejected`, with the last reason in /api/health): a
message the receiver will never take must not hold every later reading back. The receiver
unreachable for `down_after_s` raises `hl7_out_down` (low, technical) in every room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from monitor.core.models import AlarmEvent
from monitor.hl7out.batching import Batcher, Outgoing
from monitor.hl7out.config import Hl7OutConfig
from monitor.hl7out.health import LinkAlarm
from monitor.hl7out.mllp import LinkError, MllpLink
from monitor.hl7out.outbox import Pseudonyms, open_cursor
from monitor.hl7out.pcd01 import encode_oru_r01
from monitor.store.journal import Journal

log = logging.getLogger(__name__)

CURSOR = "hl7_pcd01"
READ_ROWS = 2_000  # journal rows per read
MAX_READY = 1_000  # messages batched ahead of the link at most (memory bound)
POLL_S = 1.0
BACKOFF_MAX_S = 30.0


class Pcd01Sender:
    def __init__(
        self,
        journal: Journal,
        config: Hl7OutConfig,
        *,
        on_alarm: Callable[[AlarmEvent], None] = lambda e: None,
        clock: Callable[[], float] = time.time,
        poll_s: float = POLL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.journal = journal
        journal.outboxes.add(CURSOR)  # retention keeps what is not delivered yet
        self.config = config
        self.on_alarm = on_alarm
        self.clock = clock
        self.poll_s = poll_s
        self.backoff_max_s = backoff_max_s
        self.link = MllpLink.to(config)
        self.alarm = LinkAlarm(down_after_s=config.down_after_s)
        self.batcher: Batcher | None = None  # made from the stored cursor when run starts
        self.cursor = 0
        self.state = "starting"  # starting, up, down, rejecting
        self.sent = 0  # messages accepted
        self.rejected = 0  # messages given up after AE/AR
        self.last_error = ""
        self.last_rejection = ""
        self.last_ack_t: float | None = None
        self._rejections = 0  # AE/AR answers to the current message
        self.pseudonyms = Pseudonyms(journal)
        self._failures = 0

    # -- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            try:
                ok = await self.send_once()
            except Exception:  # a bug here must not stop the outbox for good
                log.exception("hl7 out: sender failed")
                ok = False
            self._failures = 0 if ok else self._failures + 1
            wait = self.poll_s if ok else min(self.poll_s * 2**self._failures, self.backoff_max_s)
            await asyncio.sleep(wait)

    async def send_once(self) -> bool:
        """Read what is new, send what is ready; False when the link failed. The first call
        opens the cursor (at the journal's end when this output never ran before)."""
        if self.batcher is None:
            self.cursor = await open_cursor(self.journal, CURSOR)
            self.batcher = Batcher(self.config.periodicity, start_id=self.cursor)
        b = self.batcher
        await self.journal.committed()  # what was queued before this round goes out now
        while True:
            caught_up = True
            if b.pending < MAX_READY:
                rows = await asyncio.to_thread(
                    self.journal.points_after, b.fed_id, "reading", READ_ROWS
                )
                b.feed(rows)
                caught_up = len(rows) < READ_ROWS
            b.tick(self.clock(), caught_up=caught_up)
            if b.pending == 0 and caught_up:
                self._advance(b.safe_cursor())
                await self.journal.committed()
                return True
            while (out := b.next()) is not None:
                if not await self._send(out):
                    await self.journal.committed()
                    return False
                b.done(out)
                self._advance(b.safe_cursor())
            await self.journal.committed()

    async def _send(self, out: Outgoing) -> bool:
        """True when `out` is done with (accepted, or given up after rejections)."""
        message = encode_oru_r01(
            room=out.room,
            pseudonym=await self.pseudonyms.of(out.session),
            readings=out.readings,
            unavailable=out.unavailable,
            control_id=out.control_id,
            now=self.clock(),
            endpoints=self.config.endpoints,
        )
        try:
            ack = await self.link.send(message, out.control_id)
        except LinkError as exc:
            if self.state != "down":
                log.warning("hl7 out: receiver %s:%s unreachable: %s", *self._where, exc)
            self.state, self.last_error = "down", str(exc)
            self._alarms(False, str(exc))
            return False
        self._alarms(True)
        self.last_ack_t = self.clock()
        if ack.accepted:
            if self.state != "up":
                log.info("hl7 out: receiver %s:%s accepts messages", *self._where)
            self.state, self._rejections = "up", 0
            self.sent += 1
            return True
        self._rejections += 1
        self.state = "rejecting"
        self.last_rejection = f"{ack.code} for {out.control_id}: {ack.text or 'no reason given'}"
        if self._rejections < self.config.reject_attempts:
            log.warning("hl7 out: %s (will retry)", self.last_rejection)
            return False
        log.error("hl7 out: %s; skipped after %d attempts", self.last_rejection, self._rejections)
        self.rejected += 1
        self._rejections = 0
        return True

    def _advance(self, cursor: int) -> None:
        if cursor > self.cursor:
            self.cursor = cursor
            self.journal.set_cursor(CURSOR, cursor)

    def _alarms(self, ok: bool, detail: str = "") -> None:
        for event in self.alarm.update(self.clock(), ok, detail):
            self.on_alarm(event)

    @property
    def _where(self) -> tuple[str, int]:
        return self.config.host, self.config.port

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.link.aclose()

    def health(self) -> dict[str, Any]:
        """For /api/health: `degraded` while `hl7_out_down` is raised or the receiver refuses
        what it is sent (readings are not reaching it either way)."""
        down = self.alarm.raised_at is not None or self.state == "rejecting"
        return {
            "status": "degraded" if down else "ok",
            "state": self.state,
            "receiver": f"{self.config.host}:{self.config.port}",
            "periodicity": self.config.periodicity,
            "sent": self.sent,
            "rejected": self.rejected,
            "waiting_messages": self.batcher.pending if self.batcher else 0,
            "cursor": self.cursor,
            "down_since": self.alarm.down_since,
            "last_ack_t": self.last_ack_t,
            "last_error": self.last_error,
            "last_rejection": self.last_rejection,
        }
