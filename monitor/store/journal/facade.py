"""`Journal`: one object over the journal file, joining its parts (see the package docstring)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.private_files import make_private
from monitor.store.journal.chain import canonical_json
from monitor.store.journal.outbox import Outbox
from monitor.store.journal.queries import Queries
from monitor.store.journal.readpool import ReadPool
from monitor.store.journal.schema import open_for_writing
from monitor.store.journal.sessions import SessionLedger
from monitor.store.journal.writer import (
    AUDIT,
    COMMIT_WINDOW_S,
    MAX_BACKLOG,
    MAX_BATCH,
    POINT,
    RETRY_S,
    GroupCommitWriter,
    WriteOutcome,
)


class Journal(SessionLedger, Queries, Outbox):
    """The journal file; one instance per process.

    Writers (append, audit, sessions, mark_forwarded) only queue: a row id and the audit hash
    are assigned at once, in call order, under a lock, so the chain is ordered even with
    several producer threads. One writer thread commits what is queued in group commits.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        readonly: bool = False,
        commit_window_s: float = COMMIT_WINDOW_S,
        max_batch: int = MAX_BATCH,
        max_backlog: int = MAX_BACKLOG,
        retry_s: float = RETRY_S,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.appended = 0
        self.unsent_counted = None
        self.outboxes = set()
        self._lock = threading.Lock()
        self._pool = ReadPool(self.path, readonly=readonly)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no journal at {self.path}")
            wdb = None
        else:
            make_private(self.path)  # pseudonyms, notes and the audit
            wdb = open_for_writing(self.path)
        self._writer = GroupCommitWriter(
            self.path,
            wdb,
            commit_window_s=commit_window_s,
            max_batch=max_batch,
            max_backlog=max_backlog,
            retry_s=retry_s,
        )
        self._load_open_sessions()
        self._writer.start()

    def close(self) -> None:
        """Commit everything queued, stop the writer, close the file."""
        self._writer.close()
        self._pool.close()

    # -- writing (the callers' side: cheap, never touches the disk) ------------------------
    def append(self, kind: str, room: str | None, t: float, line: str, payload: Any) -> None:
        """Queue one reading or event to forward.

        Durable within the commit window; a failing journal keeps it in memory and retries
        (its line also goes to InfluxDB through `WriteOutcome.lines`). Row ids are given by
        the writer at commit time, so another process may append to the same file."""
        session = self._open_sessions.get(room) if room else None
        data = canonical_json(payload)
        with self._lock:
            self._put((POINT, t, kind, room, session, line, data))
            self.appended += 1

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
        """Queue a hash-chained audit entry (also forwarded to InfluxDB as `audit`); False
        while the journal is failing (the entry waits in memory and is written, in its place
        in the chain, once the journal writes again; it is not durable yet).

        The entry's id and hash are given by the writer inside the commit's transaction,
        from the chain's head as stored: `vigil users` may append from another process while
        the service runs, and the chain stays one chain.

        It joins `session` when given, else the room's open session, if any.
        """
        t = time.time() if t is None else float(t)
        if session is None and room:
            session = self._open_sessions.get(room)
        payload = json.loads(canonical_json(payload))  # what is stored is what is hashed
        data = canonical_json(payload)
        with self._lock:
            self._put((AUDIT, t, kind, who, room, session, payload, data))
        return not self.failed

    def record(self, kind: str, payload: dict[str, Any]) -> bool:
        """Audit any message published on the hub (notifications, ...) by its own fields."""
        who = payload.get("by") or payload.get("who")
        t = payload.get("t")
        return self.audit(
            kind,
            str(who) if who else None,
            payload,
            t=float(t) if isinstance(t, (int, float)) else None,
            room=str(payload["room"]) if payload.get("room") else None,
        )

    # -- the writer's state and waits (monitor/store/journal/writer.py) --------------------
    @property
    def failed(self) -> bool:
        return self._writer.failed

    @property
    def last_error(self) -> str:
        return self._writer.last_error

    @property
    def commits(self) -> int:
        """Transactions committed by the writer (each one fsync)."""
        return self._writer.commits

    @property
    def dropped(self) -> int:
        """Point rows given up after a long failure (their lines went to InfluxDB)."""
        return self._writer.dropped

    @property
    def commit_window_s(self) -> float:
        return self._writer.commit_window_s

    @property
    def on_outcome(self) -> Callable[[], None] | None:
        """Called from the writer thread whenever an outcome is queued (the Recorder hands
        it to its event loop with call_soon_threadsafe)."""
        return self._writer.on_outcome

    @on_outcome.setter
    def on_outcome(self, notify: Callable[[], None] | None) -> None:
        self._writer.on_outcome = notify

    def pending(self) -> int:
        """Rows and updates queued but not yet committed."""
        return self._writer.pending()

    def outcomes(self) -> list[WriteOutcome]:
        """Take what the writer reported since the last call (the caller's thread)."""
        return self._writer.outcomes()

    def flush(self) -> bool:
        """Commit everything queued so far now and wait for it; False when it failed (blocks:
        for the CLI, tests and reads, not the event loop's hot path: use `committed()`)."""
        return self._writer.flush()

    async def committed(self) -> bool:
        """Like `flush()`, without blocking the event loop."""
        return await self._writer.committed()

    def health(self) -> dict[str, Any]:
        """Cheap (no SQL; safe on the event loop): `unsent` is the latest `count_unsent()`,
        which the health route runs in a worker thread just before."""
        return {
            "status": "failed" if self.failed else "ok",
            "path": str(self.path),
            "unsent": self.unsent_counted if not self.failed else None,
            "appended": self.appended,
            "pending": self.pending(),
            "dropped": self.dropped,
            "commits": self.commits,
            "commit_window_s": self.commit_window_s,
            "last_error": self.last_error,
        }
