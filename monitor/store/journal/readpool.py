"""The journal's read connections: each read borrows one for its duration.

A connection is never used by two threads at once, and concurrent reads run side by side
(WAL). Reads block, so the server calls them from worker threads, never on its event loop
(monitor/api/routes/offload.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from monitor.store.journal.schema import open_for_reading


class ReadPool:
    def __init__(self, path: Path, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._lock = threading.Lock()
        self.idle: list[sqlite3.Connection] = []  # connections waiting for the next read
        self._closed = False

    @contextlib.contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read connection for this caller alone until the block ends (the pool grows to
        the number of concurrent reads; a connection is never shared between threads)."""
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"journal {self.path} is closed")
            db = self.idle.pop() if self.idle else None
        if db is None:
            db = open_for_reading(self.path, readonly=self.readonly)
        try:
            yield db
        finally:
            with self._lock:
                keep = not self._closed
                if keep:
                    self.idle.append(db)
            if not keep:
                db.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self.idle = self.idle, []
        for db in idle:  # a read still running closes its connection when it ends
            db.close()
