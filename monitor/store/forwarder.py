"""Forwards the journal's unsent rows to InfluxDB in batches, by id, and marks them sent.

Restart-safe: the journal, not memory, says what is unsent. A batch written but not yet
marked (a crash in between) is written again on restart; the points are idempotent (same
series, same timestamp), so that is harmless. Lines the journal could not take
(`journal_failed`) wait in the InfluxStore's memory queue and are flushed here too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from monitor.core.models import AlarmEvent
from monitor.store.health import StorageAlarms
from monitor.store.influx import MAX_BATCH_LINES, InfluxStore
from monitor.store.journal import Journal

log = logging.getLogger(__name__)


class Forwarder:
    def __init__(
        self,
        journal: Journal,
        store: InfluxStore,
        alarms: StorageAlarms,
        *,
        batch_s: float = 1.0,
        batch_lines: int = MAX_BATCH_LINES,
        on_alarm: Callable[[AlarmEvent], None] = lambda e: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.store = store
        self.alarms = alarms
        self.batch_s = batch_s
        self.batch_lines = batch_lines
        self.on_alarm = on_alarm
        self.clock = clock
        self.forwarded = 0
        self._database_ready = False

    async def forward_once(self) -> bool:
        """Send everything unsent; True when the journal is fully forwarded."""
        ok = await self._forward()
        for event in self.alarms.influx(self.clock(), ok, self.store.last_error):
            self.on_alarm(event)
        return ok

    async def _forward(self) -> bool:
        try:
            if not self._database_ready:
                await self.store.ensure_database()
                self._database_ready = True
        except Exception as exc:  # noqa: BLE001 - unreachable: report and retry next round
            self.store.status = "degraded"
            self.store.last_error = f"{type(exc).__name__}: {exc}"
            return False
        if self.store.pending and not await self.store.flush():
            return False
        # Commit what was queued before this round (off the loop), so it goes out now; only
        # committed rows are ever read below.
        await self.journal.committed()
        # After an outage there are many rounds of `batch_lines` rows: the next batch is read
        # (and made ready for the store) in a thread while this one is written, and marks are
        # committed by the journal's group commit meanwhile. Reads continue past the last id
        # sent, so an uncommitted mark never makes a row be read twice in one round.
        ids, lines = await asyncio.to_thread(self._next, 0)
        while ids:
            ahead = asyncio.ensure_future(asyncio.to_thread(self._next, ids[-1]))
            try:
                await self.store.write(lines, prepared=True)
            except Exception:  # noqa: BLE001 - the rows stay unsent and are retried
                await asyncio.gather(ahead, return_exceptions=True)
                return False
            self.journal.mark_forwarded(ids)
            self.forwarded += len(ids)
            ids, lines = await ahead
        # A failed mark only re-sends points next round: harmless, they are idempotent.
        return await self.journal.committed()

    def _next(self, after_id: int) -> tuple[list[int], list[str]]:
        """Up to `batch_lines` unsent rows after `after_id`: their ids, and their lines ready
        for the store (a worker thread: the rooms' pipelines on the event loop never wait).
        Few passes over the rows: this Python work competes with the writes for the GIL."""
        rows = self.journal.unsent(self.batch_lines, after_id)
        return [i for i, _ in rows], self.store.prepare([line for _, line in rows])

    async def run(self) -> None:
        while True:
            try:
                await self.forward_once()
            except Exception:  # a bug here must not stop forwarding for good
                log.exception("journal forwarder failed")
            await asyncio.sleep(self.batch_s)
