"""CSV of all readings and events of a session, one row each, in time order.

`time` is ISO 8601 in the clinic's zone with its offset (2026-11-23T02:00:01.000+01:00), `t`
POSIX seconds. On alarm rows `who` is who made that transition (an acknowledgement, the
session end; empty when it happened by itself), `acknowledged_by`/`acknowledged_at` who
acknowledged the episode and when, and `ended` how it ended (resolved, acknowledged,
session_end): separate facts, so an alarm that went away after an ack never reads as cleared
by the person who acknowledged it.
"""

from __future__ import annotations

import csv
import io
import json

from monitor.clinic_time import iso as clinic_iso
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

COLUMNS = [
    "time",
    "t",
    "room",
    "session",
    "type",
    "channel",
    "value",
    "valid",
    "status",
    "condition",
    "priority",
    "state",
    "limit",
    "baseline",
    "who",
    "acknowledged_by",
    "acknowledged_at",
    "ended",
    "detail",
]


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    s = rec.session
    rows: list[tuple[float, int, dict[str, str]]] = []
    for n, r in enumerate(rec.readings, 1):
        rows.append(
            (
                r.t,
                1,
                {
                    "t": f"{r.t:.3f}",
                    "type": "reading",
                    "channel": r.channel,
                    "value": _fmt(r.value),
                    "valid": "true" if r.valid else "false",
                    "status": r.status,
                    "detail": r.source,
                },
            )
        )
        if n % 1000 == 0:
            tick(1000)
    for a in rec.alarms:
        rows.append(
            (
                a.t,
                0,
                {
                    "t": f"{a.t:.3f}",
                    "type": "alarm",
                    "condition": a.condition,
                    "value": _fmt(a.value),
                    "priority": a.priority,
                    "state": a.state,
                    "limit": _fmt(a.limit),
                    "baseline": _fmt(a.baseline),
                    "who": a.by,
                    "acknowledged_by": a.acknowledged_by,
                    "acknowledged_at": clinic_iso(a.acknowledged_t, rec.timezone)
                    if a.acknowledged_t is not None
                    else "",
                    "ended": a.ended,
                    "detail": a.reason,
                },
            )
        )
    for p in rec.phases:
        rows.append((p.t, 0, {"t": f"{p.t:.3f}", "type": "phase", "state": p.phase}))
    for e in rec.audit:
        if e.kind in ("alarm", "phase"):
            continue  # the rows above already hold them
        rows.append(
            (
                e.t,
                0,
                {
                    "t": f"{e.t:.3f}",
                    "type": e.kind,
                    "who": e.who or "",
                    "detail": json.dumps(e.payload, sort_keys=True),
                },
            )
        )
    rows.sort(key=lambda x: (x[0], x[1]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for t, _, row in rows:
        w.writerow({"time": clinic_iso(t, rec.timezone), "room": s.room, "session": s.id, **row})
    return buf.getvalue().encode()
