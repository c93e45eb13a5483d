"""The journal's writer thread: group commit, flush and barrier, write outcomes.

Callers only queue a row (`put`: cheap, never touches the disk). One thread commits the queue
in batches: one transaction and one fsync (synchronous=FULL) per `commit_window_s`. A crash or
power loss loses at most the rows queued in the last window and the commit in progress; the
forwarder only ever sends committed rows, so nothing reaches InfluxDB that the journal could
lose. Audit entries get their id and hash here, inside the commit's transaction, from the
chain's head as stored (another process, `vigil users`, may append to the same file).

A write failure never raises into the caller: the writer sets `failed` and `last_error`, keeps
the rows in memory and retries them in order (so the hash chain has no hole), and reports a
`WriteOutcome` with the lines it could not write, so the recorder can raise `journal_failed`,
hand the lines to InfluxDB's memory queue and keep monitoring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.store import lineproto
from monitor.store.journal.chain import GENESIS, AuditEntry, canonical_json, entry_hash
from monitor.store.journal.schema import INSERT_POINT

log = logging.getLogger("monitor.store.journal")

# Group commit: the writer commits what arrived within this window after the first queued row
# in one transaction and one fsync. A crash (or power loss) loses at most the rows queued in
# the last window plus the commit in progress; nothing is forwarded before it is committed.
COMMIT_WINDOW_S = 0.1
MAX_BATCH = 20_000  # rows per transaction at most (a burst commits early)
MAX_BACKLOG = 500_000  # rows held in memory while the journal fails (~25 min of 100 rooms)
RETRY_S = 1.0  # a failing journal is retried this often (and at every flush)

# Queue item tags (tuples keep the hot path cheap):
#   (POINT, t, kind, room, session, line, payload JSON)
#   (AUDIT, t, kind, who, room, session, payload, payload JSON)
#   (SQL, statement, args)
POINT, AUDIT, SQL = "p", "a", "x"


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What the writer thread reports to the event loop: the journal failing or writing again,
    and the lines of readings/events it could not write (to go to InfluxDB's memory queue)."""

    ok: bool
    error: str
    lines: tuple[str, ...] = ()


class _Flush:
    """A marker: commit everything queued before it now, then report the outcome."""

    __slots__ = ("done",)

    def __init__(self, done: Callable[[bool], None]) -> None:
        self.done = done


class _Call:
    """A marker: run `fn(db)` on the writer's connection after the current batch commits
    (pruning, which runs its own short transactions; test hooks)."""

    __slots__ = ("event", "fn", "result")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        self.fn = fn
        self.event = threading.Event()
        self.result: Any = None


_STOP = object()


def _line(item: tuple[Any, ...]) -> str:
    return str(item[5])


def _chain_head(db: sqlite3.Connection) -> tuple[int, str]:
    """The next audit id and the last hash, read inside the writing transaction."""
    row = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS)


class GroupCommitWriter:
    """The queue and the thread that commits it; `db` None: a read-only journal (no thread,
    `put` raises)."""

    def __init__(
        self,
        path: Path,
        db: sqlite3.Connection | None,
        *,
        commit_window_s: float = COMMIT_WINDOW_S,
        max_batch: int = MAX_BATCH,
        max_backlog: int = MAX_BACKLOG,
        retry_s: float = RETRY_S,
    ) -> None:
        self.path = path
        self.commit_window_s = commit_window_s
        self.max_batch = max_batch
        self.max_backlog = max_backlog
        self.retry_s = retry_s
        self.failed = False
        self.last_error = ""
        self.commits = 0  # transactions committed (each one fsync)
        self.dropped = 0  # point rows given up after a long failure (their lines went to InfluxDB)
        # Called from the writer thread whenever an outcome is queued (the Recorder hands it
        # to its event loop with call_soon_threadsafe).
        self.on_outcome: Callable[[], None] | None = None
        self._outcomes: deque[WriteOutcome] = deque()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queued = 0  # items queued (producer side only)
        self._written = 0  # items committed or given up (writer thread only)
        self._db = db
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._db is not None:
            self._thread = threading.Thread(
                target=self._run, name=f"journal-writer {self.path.name}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Commit everything queued, stop the thread, close the connection."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._db is not None:
            self._db.close()

    # -- the callers' side: cheap, never touches the disk ----------------------------------
    def put(self, item: tuple[Any, ...]) -> None:
        if self._db is None:
            raise sqlite3.OperationalError(f"journal {self.path} is open read-only")
        self._queued += 1
        self._queue.put(item)

    def pending(self) -> int:
        """Rows and updates queued but not yet committed."""
        return self._queued - self._written

    def outcomes(self) -> list[WriteOutcome]:
        """Take what the writer reported since the last call (the caller's thread)."""
        out: list[WriteOutcome] = []
        while self._outcomes:
            out.append(self._outcomes.popleft())
        return out

    # -- waiting for the disk -------------------------------------------------------------
    def flush(self) -> bool:
        """Commit everything queued so far now and wait for it; False when it failed.

        Blocks the caller for one commit: for the CLI, tests and reads that must see their
        own writes, not for the event loop's hot path (use `committed()` there)."""
        thread = self._thread
        if thread is None:
            return not self.failed
        done = threading.Event()
        result: list[bool] = []

        def finish(ok: bool) -> None:
            result.append(ok)
            done.set()

        self._queue.put(_Flush(finish))
        # A read in a worker thread may get here while the server closes the journal: once
        # the writer has ended nothing will answer, so stop waiting then.
        while not done.wait(0.5):
            if not thread.is_alive():
                return not self.failed
        return result[0]

    async def committed(self) -> bool:
        """Like `flush()`, without blocking the event loop."""
        if self._thread is None:
            return not self.failed
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()

        def finish(ok: bool) -> None:
            def settle() -> None:
                if not future.done():
                    future.set_result(ok)

            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle)

        self._queue.put(_Flush(finish))
        return await future

    def call(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer's connection between batches; its result (or exception)."""
        if self._thread is None:
            raise sqlite3.OperationalError(f"journal {self.path} is open read-only")
        call = _Call(fn)
        self._queue.put(call)
        call.event.wait()
        if isinstance(call.result, Exception):
            raise call.result
        return call.result

    def barrier(self) -> None:
        """Reads see everything the process queued before them (one commit if any)."""
        if self._thread is not None and self.pending():
            self.flush()

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        assert self._db is not None
        db = self._db
        batch: list[tuple[Any, ...]] = []  # queued items not yet committed (retries first)
        handed = 0  # how many of `batch` had their lines handed over already
        while True:
            waiters: list[Callable[[bool], None]] = []
            calls: list[_Call] = []
            stop = False
            if not batch:
                stop = self._take(self._queue.get(), batch, waiters, calls)
            # Group commit: gather what arrives within the window after the first item.
            deadline = time.monotonic() + (self.retry_s if self.failed else self.commit_window_s)
            while not (stop or waiters or calls) and len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                stop = self._take(item, batch, waiters, calls)
            ok = self._commit(db, batch) if batch else True
            if ok:
                self._written += len(batch)
                self.commits += bool(batch)
                batch, handed = [], 0
                if self.failed:
                    self.failed, self.last_error = False, ""
                    self._report(WriteOutcome(True, ""))
            else:
                lines = tuple(_line(i) for i in batch[handed:] if i[0] == POINT)
                handed = len(batch)
                batch, handed = self._cap(batch, handed)
                self._report(WriteOutcome(False, self.last_error, lines))
            for done in waiters:
                done(ok)
            for call in calls:
                try:
                    call.result = call.fn(db)
                except Exception as exc:  # noqa: BLE001 - handed back to the caller
                    call.result = exc
                call.event.set()
            if stop:
                if batch:
                    log.error("journal %s: %d rows could not be written", self.path, len(batch))
                return

    def _take(
        self,
        item: Any,
        batch: list[tuple[Any, ...]],
        waiters: list[Callable[[bool], None]],
        calls: list[_Call],
    ) -> bool:
        """Sort one queue entry; True for the stop marker."""
        if isinstance(item, tuple):
            batch.append(item)
        elif isinstance(item, _Flush):
            waiters.append(item.done)
        elif isinstance(item, _Call):
            calls.append(item)
        else:  # the stop marker: commit what is queued, then end
            return True
        return False

    def _commit(self, db: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> bool:
        """One transaction and one fsync for the whole batch, rows in queue order."""
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                points: list[tuple[Any, ...]] = []
                chain: tuple[int, str] | None = None  # next audit id and head, read once
                for item in batch:
                    tag = item[0]
                    if tag == POINT:
                        points.append(item[1:])
                        continue
                    if points:
                        db.executemany(INSERT_POINT, points)
                        points = []
                    if tag == AUDIT:
                        if chain is None:
                            chain = _chain_head(db)
                        aid, prev = chain
                        _, t, kind, who, room, session, payload, data = item
                        entry = AuditEntry(aid, t, kind, who, room, session, payload, prev, "")
                        h = entry_hash(prev, entry.hashed_fields())
                        db.execute(
                            "INSERT INTO audit (id, t, kind, who, room, session, payload, "
                            "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
                            (aid, t, kind, who, room, session, data, prev, h),
                        )
                        line = lineproto.line(
                            "audit",
                            {"kind": kind, "room": room or ""},
                            {"id": aid, "who": who or "", "session": session or "",
                             "payload": data, "hash": h},
                            t,
                        )  # fmt: skip
                        pt = canonical_json({"audit_id": aid})
                        db.execute(INSERT_POINT, (t, "audit", room, session, line, pt))
                        chain = (aid + 1, h)
                    else:
                        db.execute(item[1], item[2])
                if points:
                    db.executemany(INSERT_POINT, points)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if not self.failed:
                log.error("journal %s cannot be written: %s", self.path, exc)
            self.failed = True
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def _cap(self, batch: list[tuple[Any, ...]], handed: int) -> tuple[list[tuple[Any, ...]], int]:
        """A long failure: give up the oldest reading/event rows beyond `max_backlog` (their
        lines went to InfluxDB already); audit entries and session rows are always kept, so
        the hash chain has no hole when the journal writes again."""
        excess = len(batch) - self.max_backlog
        if excess <= 0:
            return batch, handed
        kept: list[tuple[Any, ...]] = []
        for item in batch:
            if excess > 0 and item[0] == POINT:
                excess -= 1
                self.dropped += 1
                self._written += 1
                handed -= 1
                continue
            kept.append(item)
        return kept, max(handed, 0)

    def _report(self, outcome: WriteOutcome) -> None:
        self._outcomes.append(outcome)
        notify = self.on_outcome
        if notify is not None:
            try:
                notify()
            except Exception:  # noqa: BLE001 - e.g. the event loop is closed at shutdown
                log.debug("journal outcome not delivered", exc_info=True)
