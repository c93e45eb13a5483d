"""The journal's rows as frozen dataclasses, and their reading from SQLite rows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from monitor.store.journal.chain import AuditEntry


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
class PointRow:
    id: int
    t: float
    kind: str
    room: str | None
    session: str | None
    payload: dict[str, Any]


def parse_payload(data: Any) -> dict[str, Any]:
    """A row's JSON payload; a damaged one reads as {"unparseable": ...}, never raises (an
    outbox must not stop at one bad row)."""
    try:
        payload = json.loads(data)
    except (TypeError, ValueError):
        return {"unparseable": str(data)}
    return payload if isinstance(payload, dict) else {"unparseable": str(data)}


def audit_entry(r: sqlite3.Row) -> AuditEntry:
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
