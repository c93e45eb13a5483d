"""The local journal: SQLite in WAL mode, written before anything else.

Every reading and event is appended here first (durably) and forwarded to InfluxDB later by
the forwarder, which reads unsent rows by id and marks them sent; so InfluxDB being down
loses nothing and a crash between write and mark merely re-sends points that land on the
same series and timestamp (harmless).

Tables:
  points    every reading and event as a line-protocol row to forward, with its JSON payload
  audit     who did what: controls, baselines and limits, phase changes, alarm transitions,
            notifications, notes, config changes, logins. Hash-chained: each entry stores
            sha256(previous hash + canonical JSON of the entry), so editing or deleting an
            entry breaks the chain at that entry (`vigil audit verify`).
  sessions  one row per room session: pseudonym/initials only, start, dose, end and who.

A write failure never raises into the caller: it returns None and sets `failed` and
`last_error`, so the runtime can raise the `journal_failed` alarm and keep monitoring.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.store import lineproto

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first audit entry
MAX_PATIENT_CHARS = 16  # initials or a pseudonym, never a name: messages carry no identity

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


def _utc_stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d-%H%M%S")


class Journal:
    """The journal file. Synchronous and fast; one instance per process."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.failed = False
        self.last_error = ""
        self.appended = 0
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no journal at {self.path}")
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed row survives power loss, not only a process crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        self._db.row_factory = sqlite3.Row
        self._head = self._load_head()
        self._open_sessions: dict[str, str] = {
            r["room"]: r["id"]
            for r in self._db.execute(
                "SELECT room, id FROM sessions WHERE ended IS NULL ORDER BY started"
            )
        }

    def close(self) -> None:
        self._db.close()

    def _load_head(self) -> str:
        row = self._db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return str(row["hash"]) if row else GENESIS

    # -- writing --------------------------------------------------------------------------
    def _write(self, do: Any) -> Any:
        """Run `do(db)` in one transaction; on failure record it and return None."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = do(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if not self.failed:
                log.error("journal %s cannot be written: %s", self.path, exc)
            self.failed = True
            self.last_error = f"{type(exc).__name__}: {exc}"
            return None
        self.failed = False
        self.last_error = ""
        return result

    def append(self, kind: str, room: str | None, t: float, line: str, payload: Any) -> int | None:
        """Append one reading or event to forward; its row id, or None when the write failed."""
        session = self._open_sessions.get(room) if room else None

        def do(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "INSERT INTO points (t, kind, room, session, line, payload) VALUES (?,?,?,?,?,?)",
                (t, kind, room, session, line, canonical_json(payload)),
            )
            return int(cur.lastrowid or 0)

        rid = self._write(do)
        if rid is not None:
            self.appended += 1
        return rid  # type: ignore[no-any-return]

    def audit(
        self,
        kind: str,
        who: str | None,
        payload: dict[str, Any],
        *,
        t: float | None = None,
        room: str | None = None,
        session: str | None = None,
    ) -> int | None:
        """Append a hash-chained audit entry (also forwarded to InfluxDB as `audit`).

        It joins `session` when given, else the room's open session, if any.
        """
        t = time.time() if t is None else float(t)
        if session is None and room:
            session = self._open_sessions.get(room)
        payload = json.loads(canonical_json(payload))  # what is stored is what is hashed

        def do(db: sqlite3.Connection) -> tuple[int, str]:
            # Read the head inside the (IMMEDIATE) transaction: `vigil users` appends from
            # another process while the app runs, and a cached head would fork the chain.
            prev = self._load_head()
            cur = db.execute(
                "INSERT INTO audit (t, kind, who, room, session, payload, prev_hash, hash) "
                "VALUES (?,?,?,?,?,?,?,'')",
                (t, kind, who, room, session, canonical_json(payload), prev),
            )
            aid = int(cur.lastrowid or 0)
            entry = AuditEntry(aid, t, kind, who, room, session, payload, prev, "")
            h = entry_hash(prev, entry.hashed_fields())
            db.execute("UPDATE audit SET hash = ? WHERE id = ?", (h, aid))
            line = lineproto.line(
                "audit",
                {"kind": kind, "room": room or ""},
                {
                    "id": aid,
                    "who": who or "",
                    "session": session or "",
                    "payload": canonical_json(payload),
                    "hash": h,
                },
                t,
            )
            db.execute(
                "INSERT INTO points (t, kind, room, session, line, payload) VALUES (?,?,?,?,?,?)",
                (t, "audit", room, session, line, canonical_json({"audit_id": aid})),
            )
            return aid, h

        result = self._write(do)
        if result is None:
            return None
        self._head = result[1]
        return int(result[0])

    def record(self, kind: str, payload: dict[str, Any]) -> int | None:
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

        def do(db: sqlite3.Connection) -> str:
            sid, n = base, 1
            while db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone():
                n += 1
                sid = f"{base}-{n}"
            db.execute(
                "INSERT INTO sessions (id, room, patient, started, started_by) VALUES (?,?,?,?,?)",
                (sid, room, patient, t, who),
            )
            return sid

        sid = self._write(do)
        if sid is not None:
            self._open_sessions[room] = sid
        return sid  # type: ignore[no-any-return]

    def mark_dose(self, room: str, t: float, who: str | None) -> None:
        sid = self._open_sessions.get(room)
        if sid is not None:
            self._write(
                lambda db: db.execute(
                    "UPDATE sessions SET dose_t = ?, dosed_by = ? WHERE id = ?", (t, who, sid)
                )
            )

    def end_session(self, room: str, t: float, who: str | None) -> None:
        sid = self._open_sessions.pop(room, None)
        if sid is not None:
            self._write(
                lambda db: db.execute(
                    "UPDATE sessions SET ended = ?, ended_by = ? WHERE id = ?", (t, who, sid)
                )
            )

    # -- forwarding -----------------------------------------------------------------------
    def unsent(self, limit: int) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT id, line FROM points WHERE forwarded = 0 ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [(int(r["id"]), str(r["line"])) for r in rows]

    def mark_forwarded(self, ids: Sequence[int]) -> bool:
        if not ids:
            return True
        # Ids come in ascending runs from unsent(); one range update is cheapest.
        lo, hi = min(ids), max(ids)
        done = self._write(
            lambda db: db.execute(
                "UPDATE points SET forwarded = 1 WHERE id BETWEEN ? AND ? AND forwarded = 0",
                (lo, hi),
            )
        )
        return done is not None

    def count_unsent(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM points WHERE forwarded = 0").fetchone()[0]
        )

    def count_points(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self._db.execute("SELECT count(*) FROM points").fetchone()[0])
        q = "SELECT count(*) FROM points WHERE kind = ?"
        return int(self._db.execute(q, (kind,)).fetchone()[0])

    # -- reading --------------------------------------------------------------------------
    def sessions(
        self, room: str | None = None, t0: float | None = None, t1: float | None = None
    ) -> list[SessionRow]:
        """Sessions that started in [t0, t1), optionally in one room, oldest first."""
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
        rows = self._db.execute(sql + " ORDER BY started, id", args).fetchall()
        return [SessionRow(**dict(r)) for r in rows]

    def session(self, sid: str) -> SessionRow | None:
        row = self._db.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        return SessionRow(**dict(row)) if row else None

    def audit_entries(
        self, *, session: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[AuditEntry]:
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
        return [self._entry(r) for r in self._db.execute(sql + " ORDER BY id", args)]

    def points(
        self, room: str, t0: float, t1: float, kinds: Iterable[str] | None = None
    ) -> list[PointRow]:
        sql = "SELECT id, t, kind, room, session, payload FROM points WHERE room = ? AND t >= ? "
        sql += "AND t <= ?"
        args: list[Any] = [room, t0, t1]
        if kinds is not None:
            ks = list(kinds)
            sql += f" AND kind IN ({','.join('?' * len(ks))})"
            args.extend(ks)
        return [
            PointRow(r["id"], r["t"], r["kind"], r["room"], r["session"], json.loads(r["payload"]))
            for r in self._db.execute(sql + " ORDER BY t, id", args)
        ]

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
        row = self._db.execute(
            "SELECT * FROM audit WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
        ).fetchone()
        return self._entry(row) if row else None

    def iter_audit(self) -> Iterator[AuditEntry]:
        for r in self._db.execute("SELECT * FROM audit ORDER BY id"):
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
        return {
            "status": "failed" if self.failed else "ok",
            "path": str(self.path),
            "unsent": self.count_unsent() if not self.failed else None,
            "appended": self.appended,
            "last_error": self.last_error,
        }
