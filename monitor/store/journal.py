"""The local journal: SQLite in WAL mode, written before anything else.

Every reading and event is appended here first and forwarded to InfluxDB later by the
forwarder, which reads unsent committed rows by id and marks them sent; so InfluxDB being down
loses nothing and a crash between write and mark merely re-sends points that land on the
same series and timestamp (harmless).

Group commit, off the event loop: `append`, `audit` and the session writes only queue the row
(its id and, for audit entries, its hash are assigned at once, in call order, under a lock).
One writer thread commits the queue in batches: one transaction and one fsync
(synchronous=FULL) per `commit_window_s` (default 0.1 s). A crash or power loss loses at most
the rows queued in the last window and the commit in progress; the forwarder only ever sends
committed rows, so nothing reaches InfluxDB that the journal could lose. Reads use their own
connections and see every committed row; the read methods the API and reports use first commit
what this process queued (`_barrier`), so a caller reads its own writes.

Reads block (a long session's readings take seconds; the barrier waits for a commit), so the
server calls them from worker threads, never on its event loop (monitor/api/routes/offload.py).
Each read borrows a connection from a small pool for its duration (`_reader`): a connection is
never used by two threads at once, and concurrent reads run side by side (WAL).

Tables:
  points    every reading and event as a line-protocol row to forward, with its JSON payload
  audit     who did what: controls, baselines and limits, phase changes, alarm transitions,
            notifications, notes, config changes, logins. Hash-chained: each entry stores
            sha256(previous hash + canonical JSON of the entry), so editing or deleting an
            entry breaks the chain at that entry (`vigil audit verify`).
  sessions  one row per room session: pseudonym/initials only, start, dose, end and who.
  cursors   the last point id another outbox sent (e.g. "hl7_pcd01"): a second reader of
            `points` beside InfluxDB's `forwarded` flag (monitor/hl7out/sender.py).

A write failure never raises into the caller: the writer sets `failed` and `last_error`, keeps
the rows in memory and retries them in order (so the hash chain has no hole), and reports a
`WriteOutcome` with the lines it could not write, so the recorder can raise `journal_failed`,
hand the lines to InfluxDB's memory queue and keep monitoring.

Retention (`prune`): readings older than N days are deleted once forwarded; audit entries are
never pruned, so the chain stays verifiable end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.private_files import make_private
from monitor.store import lineproto

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first audit entry
MAX_PATIENT_CHARS = 16  # initials or a pseudonym, never a name: messages carry no identity
# Group commit: the writer commits what arrived within this window after the first queued row
# in one transaction and one fsync. A crash (or power loss) loses at most the rows queued in
# the last window plus the commit in progress; nothing is forwarded before it is committed.
COMMIT_WINDOW_S = 0.1
MAX_BATCH = 20_000  # rows per transaction at most (a burst commits early)
MAX_BACKLOG = 500_000  # rows held in memory while the journal fails (~25 min of 100 rooms)
RETRY_S = 1.0  # a failing journal is retried this often (and at every flush)
PRUNE_CHUNK = 5_000  # readings deleted per transaction, so pruning never stalls commits

# Queue item tags (tuples keep the hot path cheap).
_POINT, _AUDIT, _SQL = "p", "a", "x"
_INSERT_POINT = "INSERT INTO points (t, kind, room, session, line, payload) VALUES (?,?,?,?,?,?)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    room TEXT,
    session TEXT,
    line TEXT NOT NULL,
    payload TEXT NOT NULL,
    forwarded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS points_unsent ON points (id) WHERE forwarded = 0;
CREATE INDEX IF NOT EXISTS points_room_t ON points (room, t);
CREATE INDEX IF NOT EXISTS points_kind_t ON points (kind, t);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    who TEXT,
    room TEXT,
    session TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_session ON audit (session, t);
CREATE INDEX IF NOT EXISTS audit_kind_t ON audit (kind, t);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    patient TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    started_by TEXT,
    dose_t REAL,
    dosed_by TEXT,
    ended REAL,
    ended_by TEXT
);
CREATE INDEX IF NOT EXISTS sessions_room_started ON sessions (room, started);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
"""


def canonical_json(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, no NaN (so hashes are reproducible)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    t: float
    kind: str
    who: str | None
    room: str | None
    session: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "t": self.t,
            "kind": self.kind,
            "who": self.who,
            "room": self.room,
            "session": self.session,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    room: str
    patient: str
    started: float
    started_by: str | None
    dose_t: float | None
    dosed_by: str | None
    ended: float | None
    ended_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    bad: AuditEntry | None = None
    bad_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PointRow:
    id: int
    t: float
    kind: str
    room: str | None
    session: str | None
    payload: dict[str, Any]


def _payload(data: Any) -> dict[str, Any]:
    """A point's JSON payload; a damaged one reads as {"unparseable": ...}, never raises (an
    outbox must not stop at one bad row)."""
    try:
        payload = json.loads(data)
    except (TypeError, ValueError):
        return {"unparseable": str(data)}
    return payload if isinstance(payload, dict) else {"unparseable": str(data)}


def _line(item: tuple[Any, ...]) -> str:
    return str(item[5])


def _chain_head(db: sqlite3.Connection) -> tuple[int, str]:
    """The next audit id and the last hash, read inside the writing transaction."""
    row = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS)


def _utc_stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d-%H%M%S")


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


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What the writer thread reports to the event loop: the journal failing or writing again,
    and the lines of readings/events it could not write (to go to InfluxDB's memory queue)."""

    ok: bool
    error: str
    lines: tuple[str, ...] = ()


class Journal:
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
        self.commit_window_s = commit_window_s
        self.max_batch = max_batch
        self.max_backlog = max_backlog
        self.retry_s = retry_s
        self.failed = False
        self.last_error = ""
        self.appended = 0
        self.commits = 0  # transactions committed by the writer (each one fsync)
        self.dropped = 0  # point rows given up after a long failure (their lines went to InfluxDB)
        self.unsent_counted: int | None = None  # the latest count_unsent() (for health)
        self.outboxes: set[str] = set()  # cursors whose rows prune() keeps until delivered
        # Called from the writer thread whenever an outcome is queued (the Recorder hands it
        # to its event loop with call_soon_threadsafe).
        self.on_outcome: Callable[[], None] | None = None
        self._outcomes: deque[WriteOutcome] = deque()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queued = 0  # items queued (producer side only)
        self._written = 0  # items committed or given up (writer thread only)
        self._thread: threading.Thread | None = None
        self._wdb: sqlite3.Connection | None = None
        # Read connections: idle ones wait here; a read takes one for its duration.
        self._readers_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._closed = False
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no journal at {self.path}")
        else:
            make_private(self.path)  # pseudonyms, notes and the audit
            wdb = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            wdb.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed row survives power loss, not only a process crash.
            wdb.execute("PRAGMA synchronous=FULL")
            wdb.executescript(SCHEMA)
            self._wdb = wdb
        self._sids: set[str] = set()  # session ids made here (they may not be committed yet)
        with self._reader() as db:
            self._open_sessions: dict[str, str] = {
                r["room"]: r["id"]
                for r in db.execute(
                    "SELECT room, id FROM sessions WHERE ended IS NULL ORDER BY started"
                )
            }
        if self._wdb is not None:
            self._thread = threading.Thread(
                target=self._writer, name=f"journal-writer {self.path.name}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Commit everything queued, stop the writer, close the file."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._wdb is not None:
            self._wdb.close()
        with self._readers_lock:
            self._closed = True
            idle, self._idle_readers = self._idle_readers, []
        for db in idle:  # a read still running closes its connection when it ends
            db.close()

    # -- read connections -----------------------------------------------------------------
    def _connect_reader(self) -> sqlite3.Connection:
        # Reads (reports, queries, the forwarder) use their own connections: in WAL mode they
        # see every committed row and never wait for the writer. check_same_thread=False
        # because a pooled connection serves one thread after another (never two at once).
        if self.readonly:
            uri = f"file:{self.path}?mode=ro"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A read connection for this caller alone until the block ends (the pool grows to
        the number of concurrent reads; a connection is never shared between threads)."""
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"journal {self.path} is closed")
            db = self._idle_readers.pop() if self._idle_readers else None
        if db is None:
            db = self._connect_reader()
        try:
            yield db
        finally:
            with self._readers_lock:
                keep = not self._closed
                if keep:
                    self._idle_readers.append(db)
            if not keep:
                db.close()

    def _load_head(self) -> str:
        with self._reader() as db:
            row = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return str(row["hash"]) if row else GENESIS

    # -- queueing (the callers' side: cheap, never touches the disk) ------------------------
    def _put(self, item: tuple[Any, ...]) -> None:
        if self._wdb is None:
            raise sqlite3.OperationalError(f"journal {self.path} is open read-only")
        self._queued += 1
        self._queue.put(item)

    def pending(self) -> int:
        """Rows and updates queued but not yet committed."""
        return self._queued - self._written

    def append(self, kind: str, room: str | None, t: float, line: str, payload: Any) -> None:
        """Queue one reading or event to forward.

        Durable within the commit window; a failing journal keeps it in memory and retries
        (its line also goes to InfluxDB through `WriteOutcome.lines`). Row ids are given by
        the writer at commit time, so another process may append to the same file."""
        session = self._open_sessions.get(room) if room else None
        data = canonical_json(payload)
        with self._lock:
            self._put((_POINT, t, kind, room, session, line, data))
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
            self._put((_AUDIT, t, kind, who, room, session, payload, data))
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

    # -- sessions -------------------------------------------------------------------------
    def open_session(self, room: str) -> str | None:
        return self._open_sessions.get(room)

    def start_session(self, room: str, t: float, patient: str, who: str | None) -> str | None:
        """Open a session for the room (ending any still open there); its id."""
        patient = patient.strip()[:MAX_PATIENT_CHARS]
        previous = self._open_sessions.get(room)
        if previous is not None:
            self.end_session(room, t, "superseded by a new session")
        base = f"{room}-{_utc_stamp(t)}"
        sid, n = base, 1
        # A primary-key lookup (microseconds): fine on the event loop, where controls arrive.
        with self._reader() as db:
            while (
                sid in self._sids
                or db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone()
            ):
                n += 1
                sid = f"{base}-{n}"
        self._sids.add(sid)
        self._put(
            (
                _SQL,
                "INSERT INTO sessions (id, room, patient, started, started_by) VALUES (?,?,?,?,?)",
                (sid, room, patient, t, who),
            )
        )
        self._open_sessions[room] = sid
        return sid

    def mark_dose(self, room: str, t: float, who: str | None) -> None:
        sid = self._open_sessions.get(room)
        if sid is not None:
            q = "UPDATE sessions SET dose_t = ?, dosed_by = ? WHERE id = ?"
            self._put((_SQL, q, (t, who, sid)))

    def end_session(self, room: str, t: float, who: str | None) -> None:
        sid = self._open_sessions.pop(room, None)
        if sid is not None:
            q = "UPDATE sessions SET ended = ?, ended_by = ? WHERE id = ?"
            self._put((_SQL, q, (t, who, sid)))

    def open_sessions(self) -> list[SessionRow]:
        """Sessions not ended (at start-up: those a previous run left open), oldest first."""
        self._barrier()
        with self._reader() as db:
            rows = db.execute(
                "SELECT * FROM sessions WHERE ended IS NULL ORDER BY started, id"
            ).fetchall()
        return [SessionRow(**dict(r)) for r in rows]

    def last_entry_t(self, room: str, sid: str, t0: float, t1: float | None = None) -> float | None:
        """The time of the last entry of a session: the room's last point in [t0, t1) or the
        session's last audit entry (both index lookups)."""
        self._barrier()
        t1 = float("inf") if t1 is None else t1
        with self._reader() as db:
            point = db.execute(
                "SELECT max(t) FROM points WHERE room = ? AND t >= ? AND t < ?", (room, t0, t1)
            ).fetchone()[0]
            audit = db.execute(
                "SELECT max(t) FROM audit WHERE session = ? AND t < ?", (sid, t1)
            ).fetchone()[0]
        times = [float(t) for t in (point, audit) if t is not None]
        return max(times) if times else None

    def close_session(self, sid: str, t: float, who: str | None) -> None:
        """End one session by id (a stale one need not be its room's open session)."""
        for room, open_sid in list(self._open_sessions.items()):
            if open_sid == sid:
                del self._open_sessions[room]
        q = "UPDATE sessions SET ended = ?, ended_by = ? WHERE id = ? AND ended IS NULL"
        self._put((_SQL, q, (t, who, sid)))

    # -- the writer thread ----------------------------------------------------------------
    def _writer(self) -> None:
        assert self._wdb is not None
        db = self._wdb
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
                lines = tuple(_line(i) for i in batch[handed:] if i[0] == _POINT)
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
                    if tag == _POINT:
                        points.append(item[1:])
                        continue
                    if points:
                        db.executemany(_INSERT_POINT, points)
                        points = []
                    if tag == _AUDIT:
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
                        db.execute(_INSERT_POINT, (t, "audit", room, session, line, pt))
                        chain = (aid + 1, h)
                    else:
                        db.execute(item[1], item[2])
                if points:
                    db.executemany(_INSERT_POINT, points)
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
            if excess > 0 and item[0] == _POINT:
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

    def call_in_writer(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer's connection between batches; its result (or exception)."""
        if self._thread is None:
            raise sqlite3.OperationalError(f"journal {self.path} is open read-only")
        call = _Call(fn)
        self._queue.put(call)
        call.event.wait()
        if isinstance(call.result, Exception):
            raise call.result
        return call.result

    def _barrier(self) -> None:
        """Reads see everything the process queued before them (one commit if any)."""
        if self._thread is not None and self.pending():
            self.flush()

    # -- forwarding and retention ---------------------------------------------------------
    def unsent(self, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """Committed rows not yet forwarded, by id (only durable rows are ever forwarded);
        `after_id`: past those already sent whose mark is not committed yet."""
        with self._reader() as db:
            rows = db.execute(
                "SELECT id, line FROM points WHERE forwarded = 0 AND id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [(int(r["id"]), str(r["line"])) for r in rows]

    def mark_forwarded(self, ids: Sequence[int]) -> bool:
        """Queue marking these rows sent (`committed()` waits for it). A mark lost in a crash
        only re-sends points, harmlessly."""
        if not ids:
            return True
        # Ids come in ascending runs from unsent(); one range update is cheapest.
        q = "UPDATE points SET forwarded = 1 WHERE id BETWEEN ? AND ? AND forwarded = 0"
        self._put((_SQL, q, (min(ids), max(ids))))
        return not self.failed

    # -- other outboxes: a named cursor over `points` ----------------------------------------
    def cursor(self, name: str) -> int | None:
        """The last point id the outbox `name` has delivered (None: it never ran here)."""
        with self._reader() as db:
            row = db.execute("SELECT last_id FROM cursors WHERE name = ?", (name,)).fetchone()
        return int(row["last_id"]) if row else None

    def last_point_id(self) -> int:
        """The newest committed point's id (0 in an empty journal)."""
        with self._reader() as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM points").fetchone()[0])

    def set_cursor(self, name: str, last_id: int) -> None:
        """Queue moving the cursor forward (never back); `committed()` waits for it. A move
        lost in a crash only re-sends: outboxes are at-least-once."""
        q = (
            "INSERT INTO cursors (name, last_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
            "SET last_id = excluded.last_id WHERE excluded.last_id > cursors.last_id"
        )
        self._put((_SQL, q, (name, int(last_id))))

    def points_after(self, after_id: int, kind: str, limit: int) -> list[PointRow]:
        """Committed points of `kind` with id > `after_id`, by id (blocks: off the loop)."""
        with self._reader() as db:
            rows = db.execute(
                "SELECT id, t, kind, room, session, payload FROM points "
                "WHERE id > ? AND kind = ? ORDER BY id LIMIT ?",
                (after_id, kind, limit),
            ).fetchall()
        return [
            PointRow(r["id"], r["t"], r["kind"], r["room"], r["session"], _payload(r["payload"]))
            for r in rows
        ]

    def prune(self, before_t: float, *, limit: int = PRUNE_CHUNK) -> int:
        """Delete up to `limit` readings older than `before_t` that InfluxDB already has; how
        many. Only `reading` rows: audit entries (and their points), sessions, alarms, phases
        and device states are never pruned, so `vigil audit verify` still walks the whole
        chain. Runs on the writer thread in its own short transaction (call it until 0)."""

        def do(db: sqlite3.Connection) -> int:
            # Nor rows a running outbox (HL7 out) has still to deliver: below every cursor.
            held = [
                int(r[0]) if r else 0
                for r in (
                    db.execute("SELECT last_id FROM cursors WHERE name = ?", (n,)).fetchone()
                    for n in sorted(self.outboxes)
                )
            ]
            cur = db.execute(
                "DELETE FROM points WHERE id IN (SELECT id FROM points WHERE kind = 'reading' "
                "AND t < ? AND forwarded = 1 AND id <= ? LIMIT ?)",
                (before_t, min(held, default=2**63 - 1), limit),
            )
            return int(cur.rowcount)

        return int(self.call_in_writer(do))

    def count_unsent(self) -> int:
        """Rows not yet forwarded (a count over SQLite: off the event loop); `health()`
        shows the latest count."""
        self._barrier()
        with self._reader() as db:
            n = int(db.execute("SELECT count(*) FROM points WHERE forwarded = 0").fetchone()[0])
        self.unsent_counted = n
        return n

    def count_points(self, kind: str | None = None) -> int:
        self._barrier()
        with self._reader() as db:
            if kind is None:
                return int(db.execute("SELECT count(*) FROM points").fetchone()[0])
            q = "SELECT count(*) FROM points WHERE kind = ?"
            return int(db.execute(q, (kind,)).fetchone()[0])

    # -- reading --------------------------------------------------------------------------
    def sessions(
        self, room: str | None = None, t0: float | None = None, t1: float | None = None
    ) -> list[SessionRow]:
        """Sessions that started in [t0, t1), optionally in one room, oldest first."""
        self._barrier()
        where: list[str] = []
        args: list[Any] = []
        if room:
            where.append("room = ?")
            args.append(room)
        if t0 is not None:
            where.append("started >= ?")
            args.append(t0)
        if t1 is not None:
            where.append("started < ?")
            args.append(t1)
        sql = "SELECT * FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._reader() as db:
            rows = db.execute(sql + " ORDER BY started, id", args).fetchall()
        return [SessionRow(**dict(r)) for r in rows]

    def session(self, sid: str) -> SessionRow | None:
        self._barrier()
        with self._reader() as db:
            row = db.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        return SessionRow(**dict(row)) if row else None

    def audit_entries(
        self, *, session: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[AuditEntry]:
        self._barrier()
        sql = "SELECT * FROM audit"
        args: list[Any] = []
        where: list[str] = []
        if session is not None:
            where.append("session = ?")
            args.append(session)
        if kinds is not None:
            ks = list(kinds)
            where.append(f"kind IN ({','.join('?' * len(ks))})")
            args.extend(ks)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._reader() as db:
            return [self._entry(r) for r in db.execute(sql + " ORDER BY id", args)]

    def audit_between(
        self, kinds: Iterable[str], t0: float, t1: float, *, limit: int = 100_000
    ) -> list[AuditEntry]:
        """Entries of `kinds` with t in [t0, t1), every room, oldest first, at most `limit`
        (the clinic-wide alarm log and the hand-off view: monitor/clinic_log.py)."""
        self._barrier()
        ks = list(kinds)
        sql = (
            f"SELECT * FROM audit WHERE kind IN ({','.join('?' * len(ks))}) AND t >= ? "
            "AND t < ? ORDER BY t, id LIMIT ?"
        )
        with self._reader() as db:
            return [self._entry(r) for r in db.execute(sql, [*ks, t0, t1, limit])]

    def points(
        self, room: str, t0: float, t1: float, kinds: Iterable[str] | None = None
    ) -> list[PointRow]:
        self._barrier()
        sql = "SELECT id, t, kind, room, session, payload FROM points WHERE room = ? AND t >= ? "
        sql += "AND t <= ?"
        args: list[Any] = [room, t0, t1]
        if kinds is not None:
            ks = list(kinds)
            sql += f" AND kind IN ({','.join('?' * len(ks))})"
            args.extend(ks)
        with self._reader() as db:
            return [
                PointRow(
                    r["id"], r["t"], r["kind"], r["room"], r["session"], json.loads(r["payload"])
                )
                for r in db.execute(sql + " ORDER BY t, id", args)
            ]

    def reading_values(
        self, room: str, t0: float, t1: float
    ) -> list[tuple[Any, Any, Any, Any, Any]]:
        """A room's readings in [t0, t1] as (t, channel, value, status as a JSON array,
        source) tuples from their payloads, oldest first.

        For long sessions (100,000s of readings): SQLite takes the fields out of the JSON, so
        Python makes one tuple per reading instead of a dict and a `PointRow`. Fewer objects
        means shorter pauses of the garbage collector, whose full passes stop every thread,
        the event loop's too."""
        self._barrier()
        sql = (
            "SELECT json_extract(payload, '$.t'), json_extract(payload, '$.channel'), "
            "json_extract(payload, '$.value'), json_extract(payload, '$.status'), "
            "json_extract(payload, '$.source') FROM points "
            "WHERE room = ? AND t >= ? AND t <= ? AND kind = 'reading' ORDER BY t, id"
        )
        with self._reader() as db:
            cur = db.cursor()
            cur.row_factory = None  # plain tuples
            return cur.execute(sql, (room, t0, t1)).fetchall()

    def room_controls(self, room: str, t0: float, t1: float) -> list[AuditEntry]:
        """A room's `control` entries in [t0, t1) outside any session (before a session
        starts: acknowledgements of alarms raised while the patient was connected)."""
        self._barrier()
        sql = (
            "SELECT * FROM audit WHERE kind = 'control' AND room = ? AND session IS NULL "
            "AND t >= ? AND t < ? ORDER BY id"
        )
        with self._reader() as db:
            return [self._entry(r) for r in db.execute(sql, (room, t0, t1))]

    def device_states_before(self, room: str, t: float) -> list[dict[str, Any]]:
        """Each of a room's device sources' last recorded link state before `t` (payloads of
        `device` points): how the links stood when a session began (for resuming it)."""
        self._barrier()
        # SQLite takes the other columns from the row holding max(t) (one per source).
        sql = (
            "SELECT payload, max(t) FROM points WHERE room = ? AND kind = 'device' AND t < ? "
            "GROUP BY json_extract(payload, '$.source') ORDER BY max(t)"
        )
        with self._reader() as db:
            return [json.loads(r[0]) for r in db.execute(sql, (room, t))]

    @staticmethod
    def _entry(r: sqlite3.Row) -> AuditEntry:
        try:
            payload = json.loads(r["payload"])
        except (TypeError, ValueError):
            payload = {"unparseable": str(r["payload"])}
        return AuditEntry(
            id=r["id"],
            t=r["t"],
            kind=r["kind"],
            who=r["who"],
            room=r["room"],
            session=r["session"],
            payload=payload,
            prev_hash=r["prev_hash"],
            hash=r["hash"],
        )

    def last_audit(self, kind: str) -> AuditEntry | None:
        self._barrier()
        with self._reader() as db:
            row = db.execute(
                "SELECT * FROM audit WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
            ).fetchone()
        return self._entry(row) if row else None

    def iter_audit(self) -> Iterator[AuditEntry]:
        self._barrier()
        with self._reader() as db:  # held while the caller iterates
            for r in db.execute("SELECT * FROM audit ORDER BY id"):
                yield self._entry(r)

    def verify(self) -> VerifyResult:
        """Walk the audit chain; the first entry whose hash or link does not hold."""
        prev, last_id, checked = GENESIS, 0, 0
        for e in self.iter_audit():
            if e.id != last_id + 1:
                return VerifyResult(
                    False, checked, e, e.id, f"entries {last_id + 1}..{e.id - 1} are missing"
                )
            if e.prev_hash != prev:
                return VerifyResult(
                    False, checked, e, e.id, "its link to the previous entry does not match"
                )
            if entry_hash(prev, e.hashed_fields()) != e.hash:
                return VerifyResult(False, checked, e, e.id, "its content does not match its hash")
            prev, last_id, checked = e.hash, e.id, checked + 1
        return VerifyResult(True, checked)

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
