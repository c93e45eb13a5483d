"""What every part of the journal shares: the file's read pool and its writer.

The ledger, queries and outbox (sessions.py, queries.py, outbox.py) are mixins over this
base, joined in `Journal` (facade.py); none of them knows another.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from monitor.store.journal.readpool import ReadPool
from monitor.store.journal.writer import GroupCommitWriter


class JournalParts:
    path: Path
    readonly: bool
    _pool: ReadPool
    _writer: GroupCommitWriter

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._pool.reader() as db:
            yield db

    def _put(self, item: tuple[Any, ...]) -> None:
        self._writer.put(item)

    def _barrier(self) -> None:
        """Reads see everything the process queued before them (one commit if any)."""
        self._writer.barrier()

    def call_in_writer(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer's connection between batches; its result (or exception)."""
        return self._writer.call(fn)
