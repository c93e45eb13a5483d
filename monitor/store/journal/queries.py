"""Reads for reports, resuming a session, the clinic's alarm log and `vigil audit verify`.

Each read first commits what this process queued (`_barrier`), so a caller reads its own
writes, then borrows a pooled connection. They block: call them off the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from monitor.store.journal.chain import AuditEntry, VerifyResult, verify_chain
from monitor.store.journal.parts import JournalParts
from monitor.store.journal.rows import PointRow, audit_entry


class Queries(JournalParts):
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
            return [audit_entry(r) for r in db.execute(sql + " ORDER BY id", args)]

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
            return [audit_entry(r) for r in db.execute(sql, [*ks, t0, t1, limit])]

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
            return [audit_entry(r) for r in db.execute(sql, (room, t0, t1))]

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

    def count_points(self, kind: str | None = None) -> int:
        self._barrier()
        with self._reader() as db:
            if kind is None:
                return int(db.execute("SELECT count(*) FROM points").fetchone()[0])
            q = "SELECT count(*) FROM points WHERE kind = ?"
            return int(db.execute(q, (kind,)).fetchone()[0])

    def last_audit(self, kind: str) -> AuditEntry | None:
        self._barrier()
        with self._reader() as db:
            row = db.execute(
                "SELECT * FROM audit WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
            ).fetchone()
        return audit_entry(row) if row else None

    def iter_audit(self) -> Iterator[AuditEntry]:
        self._barrier()
        with self._reader() as db:  # held while the caller iterates
            for r in db.execute("SELECT * FROM audit ORDER BY id"):
                yield audit_entry(r)

    def verify(self) -> VerifyResult:
        """Walk the audit chain; the first entry whose hash or link does not hold."""
        return verify_chain(self.iter_audit())
