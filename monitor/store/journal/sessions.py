"""The session ledger: one row per room session (pseudonym/initials only), start, dose, end
and who; the open session of each room, which readings and audit entries join."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.store.journal.parts import JournalParts
from monitor.store.journal.rows import SessionRow
from monitor.store.journal.writer import SQL

MAX_PATIENT_CHARS = 16  # initials or a pseudonym, never a name: messages carry no identity


def _utc_stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d-%H%M%S")


class SessionLedger(JournalParts):
    _open_sessions: dict[str, str]  # room -> its open session's id
    _sids: set[str]  # session ids made here (they may not be committed yet)

    def _load_open_sessions(self) -> None:
        self._sids = set()
        with self._reader() as db:
            self._open_sessions = {
                r["room"]: r["id"]
                for r in db.execute(
                    "SELECT room, id FROM sessions WHERE ended IS NULL ORDER BY started"
                )
            }

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
                SQL,
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
            self._put((SQL, q, (t, who, sid)))

    def end_session(self, room: str, t: float, who: str | None) -> None:
        sid = self._open_sessions.pop(room, None)
        if sid is not None:
            q = "UPDATE sessions SET ended = ?, ended_by = ? WHERE id = ?"
            self._put((SQL, q, (t, who, sid)))

    def close_session(self, sid: str, t: float, who: str | None) -> None:
        """End one session by id (a stale one need not be its room's open session)."""
        for room, open_sid in list(self._open_sessions.items()):
            if open_sid == sid:
                del self._open_sessions[room]
        q = "UPDATE sessions SET ended = ?, ended_by = ? WHERE id = ? AND ended IS NULL"
        self._put((SQL, q, (t, who, sid)))

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
