"""Audit queries: InfluxQL against InfluxDB, the journal for what InfluxDB lacks.

Sessions (who, pseudonym, dose time) and the hash-chained audit entries come from the
journal; readings, alarm transitions and phases come from InfluxDB by InfluxQL, so the same
queries run on InfluxDB 1.x, 2.x and 3.x. When InfluxDB cannot answer, the journal (which
holds everything) answers instead and the record says so (`source`).

The async methods run on the server's event loop, which also runs live monitoring: journal
reads and the conversion of a session's rows (a long session has ~100,000) run in a worker
thread (`run_in_threadpool`, monitor/api/routes/offload.py), only the awaits stay on the loop.
`sessions()` and `session()` block: callers on a loop run them in a thread too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from monitor.errors import SessionNotFound as SessionNotFound  # its home: monitor/errors.py
from monitor.report.model import (
    AlarmRow,
    ClinicStats,
    PhaseRow,
    ReadingRow,
    SessionRecord,
    clinic_stats,
    episodes,
)
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal, SessionRow

log = logging.getLogger(__name__)

PAGE = 10_000  # rows per InfluxQL page: servers may cap a response (max-row-limit)


#: 9999-12-31T23:59:59Z, the last time `datetime` can hold: larger "POSIX seconds" are garbage.
MAX_POSIX_S = 253_402_300_799


def _q(s: str) -> str:
    """An InfluxQL string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


class SessionQueries:
    def __init__(
        self,
        journal: Journal,
        store: InfluxStore,
        *,
        clock: Callable[[], float] = time.time,
        timezone: str = "UTC",
        paper: str = "A4",
    ) -> None:
        self.journal = journal
        self.store = store
        self.clock = clock
        self.timezone = timezone
        self.paper = paper

    # -- sessions -------------------------------------------------------------------------
    def sessions(
        self, room: str | None = None, t0: float | None = None, t1: float | None = None
    ) -> list[SessionRow]:
        return self.journal.sessions(room, t0, t1)

    def session(self, sid: str) -> SessionRow:
        s = self.journal.session(sid)
        if s is None:
            raise SessionNotFound(f"no session {sid!r}")
        return s

    async def find(self, sid: str) -> SessionRow:
        """`session()` off the event loop."""
        return await run_in_threadpool(self.session, sid)

    def window(self, s: SessionRow) -> tuple[float, float]:
        return s.started, s.ended if s.ended is not None else self.clock()

    # -- InfluxQL -------------------------------------------------------------------------
    async def _paged(self, select: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.store.query(f"{select} LIMIT {PAGE} OFFSET {offset}")
            rows.extend(page)
            if len(page) < PAGE:
                return rows
            offset += PAGE

    def _where(self, room: str, t0: float, t1: float) -> str:
        return (
            f"WHERE room = {_q(room)} AND {self.store.site_condition()} "
            f"AND time >= {_ns(t0)} AND time <= {_ns(t1)}"
        )

    async def readings(self, room: str, t0: float, t1: float) -> tuple[list[ReadingRow], str]:
        """Readings in a window, oldest first, and where they came from."""
        try:
            rows = await self._paged(
                f"SELECT value, valid, status, channel, source FROM reading "
                f"{self._where(room, t0, t1)}"
            )
        except Exception as exc:  # noqa: BLE001 - the journal holds the same readings
            log.warning("InfluxDB query failed (%s); reading the journal", exc)
            return await run_in_threadpool(self._journal_readings, room, t0, t1), "journal"
        return await run_in_threadpool(_influx_readings, rows), "influxdb"

    def _journal_readings(self, room: str, t0: float, t1: float) -> list[ReadingRow]:
        out = []
        for t, channel, value, status_json, source in self.journal.reading_values(room, t0, t1):
            status = json.loads(status_json) if status_json and status_json != "[]" else []
            out.append(
                ReadingRow(
                    t=float(t),
                    channel=channel,
                    value=_f(value),
                    valid=value is not None and not _excluded(frozenset(status)),
                    status=",".join(sorted(status)),
                    source=source or "",
                )
            )
        return out

    async def alarms(self, room: str, t0: float, t1: float) -> tuple[list[AlarmRow], str]:
        try:
            rows = await self._paged(
                'SELECT value, "limit", baseline, reason, "by", tier, worst, acknowledged_by, '
                "acknowledged_t, ended, condition, kind, priority, state FROM alarm "
                f"{self._where(room, t0, t1)}"
            )
        except Exception as exc:  # noqa: BLE001
            log.warning("InfluxDB query failed (%s); reading the journal", exc)
            points = await run_in_threadpool(self.journal.points, room, t0, t1, ["alarm"])
            return [_alarm_from(p.payload) for p in points], "journal"
        # One reading of an alarm point, whichever store it came from.
        return [_alarm_from({**r, "t": r["time"] / 1e9}) for r in rows], "influxdb"

    async def phases(self, room: str, t0: float, t1: float) -> list[PhaseRow]:
        try:
            rows = await self._paged(f"SELECT phase, detail FROM phase {self._where(room, t0, t1)}")
        except Exception:  # noqa: BLE001
            points = await run_in_threadpool(self.journal.points, room, t0, t1, ["phase"])
            return [PhaseRow(p.t, p.payload["phase"], p.payload.get("detail", "")) for p in points]
        return [PhaseRow(r["time"] / 1e9, r["phase"], r.get("detail") or "") for r in rows]

    # -- a whole session ------------------------------------------------------------------
    async def record(
        self, sid: str, *, with_readings: bool = True, generated_by: str = ""
    ) -> SessionRecord:
        """The session's record; with `generated_by` (a report for someone) it also carries
        when it was generated and the audit chain's verification result, for the footer."""
        s = await self.find(sid)
        t0, t1 = self.window(s)
        readings, src_r = await self.readings(s.room, t0, t1) if with_readings else ([], "influxdb")
        alarms, src_a = await self.alarms(s.room, t0, t1)
        phases = await self.phases(s.room, t0, t1)
        audit = await run_in_threadpool(self.journal.audit_entries, session=sid)
        return SessionRecord(
            session=s,
            end=t1,
            readings=readings,
            alarms=alarms,
            phases=phases,
            audit=audit,
            source="journal" if "journal" in (src_r, src_a) else "influxdb",
            episodes=episodes(alarms),
            timezone=self.timezone,
            paper=self.paper,
            generated_at=self.clock() if generated_by else None,
            generated_by=generated_by,
            audit_chain=await run_in_threadpool(self._chain) if generated_by else "",
        )

    def _chain(self) -> str:
        r = self.journal.verify()
        if r.ok:
            return f"intact ({r.checked} entries verified)"
        return f"BROKEN at entry {r.bad_id}: {r.reason} ({r.checked} entries before it intact)"

    async def timeline(self, sid: str) -> list[dict[str, Any]]:
        """Phases, alarm transitions, controls, baselines, notes, notifications, by time."""
        rec = await self.record(sid, with_readings=False)
        items: list[dict[str, Any]] = [
            {"t": p.t, "type": "phase", "phase": p.phase, "detail": p.detail} for p in rec.phases
        ]
        items += [{"type": "alarm", **_asdict(a)} for a in rec.alarms]
        for e in rec.audit:
            if e.kind in ("alarm", "phase"):
                continue  # already there from InfluxDB
            items.append({"t": e.t, "type": e.kind, "who": e.who, "id": e.id, **_flat(e.payload)})
        # On a tie the cause (a control) comes before its effect (the transition it caused).
        return sorted(items, key=lambda i: (i["t"], i["type"] != "control"))

    async def stats(
        self, t0: float | None, t1: float | None, room: str | None = None
    ) -> ClinicStats:
        per_session = []
        for s in await run_in_threadpool(self.sessions, room, t0, t1):
            a, b = self.window(s)
            alarms, _ = await self.alarms(s.room, a, b)
            per_session.append(episodes(alarms))
        return clinic_stats(per_session)


def _influx_readings(rows: list[dict[str, Any]]) -> list[ReadingRow]:
    return [
        ReadingRow(
            t=r["time"] / 1e9,
            channel=r["channel"],
            value=_f(r.get("value")),
            valid=bool(r.get("valid")),
            status=r.get("status") or "",
            source=r.get("source") or "",
        )
        for r in rows
    ]


def _excluded(status: frozenset[str]) -> bool:
    from monitor.core.models import EXCLUDING_FLAGS

    return bool(status & EXCLUDING_FLAGS)


def _alarm_from(d: dict[str, Any]) -> AlarmRow:
    return AlarmRow(
        t=float(d["t"]),
        condition=d["condition"],
        kind=d["kind"],
        priority=d["priority"],
        state=d["state"],
        value=_f(d.get("value")),
        limit=_f(d.get("limit")),
        baseline=_f(d.get("baseline")),
        reason=d.get("reason") or "",
        by=d.get("by") or "",
        tier=_tier(d.get("tier")),
        worst=_f(d.get("worst")),
        acknowledged_by=d.get("acknowledged_by") or "",
        acknowledged_t=_f(d.get("acknowledged_t")),
        ended=d.get("ended") or _legacy_ending(d["state"], d.get("reason") or ""),
    )


def _legacy_ending(state: str, reason: str) -> str:
    """How an alarm recorded before `ended` was stored ended, read from its reason."""
    if state != "cleared":
        return ""
    if reason.startswith("session ended"):
        return "session_end"
    if "after the condition resolved" in reason:
        return "acknowledged"
    return "resolved"


def _tier(v: Any) -> int:
    """Alarms recorded before the tier was stored read as tier 1."""
    try:
        return max(1, int(v))
    except (TypeError, ValueError):
        return 1


def _asdict(a: AlarmRow) -> dict[str, Any]:
    return {f: getattr(a, f) for f in a.__slots__}


def _flat(payload: dict[str, Any]) -> dict[str, Any]:
    """Payload keys for a timeline item, never overriding its own t/type/who/id."""
    return {k: v for k, v in payload.items() if k not in ("t", "type", "who", "id")}


def parse_when(text: str, *, end_of_day: bool = False, timezone: str = "UTC") -> float:
    """ISO date or date-time (in `timezone`, the clinic's, when it names no zone) or POSIX
    seconds → POSIX seconds.

    A bare date means the start of that day, or with `end_of_day` the start of the next, so
    `from=2026-11-01&to=2026-11-30` covers all of November 30.
    """
    from datetime import date, datetime, timedelta

    from monitor.clinic_time import zone

    tz = zone(timezone)

    text = text.strip()
    try:
        t = float(text)
    except ValueError:
        pass
    else:
        # "nan", "inf" and 1e300 parse as floats; each would end in a silent empty answer
        # or a crash further on.
        if not 0 <= t <= MAX_POSIX_S:
            raise ValueError(f"{text!r}: POSIX seconds must be between 0 and {MAX_POSIX_S}")
        return t
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            d += timedelta(days=1 if end_of_day else 0)  # calendar days: DST-safe
            return datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (YYYY-MM-DD), an ISO date-time or POSIX seconds"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.timestamp()
