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
        while True:
            # A read of up to `batch_lines` rows (and, after an outage, many rounds of them):
            # in a thread, so the rooms' pipelines on the event loop never wait for it.
            rows = await asyncio.to_thread(self.journal.unsent, self.batch_lines)
            if not rows:
                return True
            try:
                await self.store.write([line for _, line in rows])
            except Exception:  # noqa: BLE001 - the rows stay unsent and are retried
                return False
            self.journal.mark_forwarded([i for i, _ in rows])
            # The mark must be committed before the next unsent() read, or the same rows
            # would be read again.
            if not await self.journal.committed():
                return False  # re-sent next round: harmless, the points are idempotent
            self.forwarded += len(rows)

    async def run(self) -> None:
        while True:
            try:
                await self.forward_once()
            except Exception:  # a bug here must not stop forwarding for good
                log.exception("journal forwarder failed")
            await asyncio.sleep(self.batch_s)
