"""A session as the replayable JSONL of `vigil replay` (format: issue #4).

One object per line, `t` in seconds since the session start:
  {"t": 0, "room": "A", "type": "event", "event": "session_start"}
  {"t": 12.0, "room": "A", "type": "reading", "channel": "spo2", "value": 97, "status": []}
  {"t": 1500, "room": "A", "type": "event", "event": "ack", "condition": "bp_rise"}
Events are the controls staff gave (session_start, baseline, dose, ack, audio_pause, note,
session_end) with their arguments flattened into the line.

`record_line` has the shape of the core's `monitor.core.recording.to_record_line`: when that
lands, the lead may swap it in here (the output must not change).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from monitor.core.models import Control, Reading
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

# A recording is for replaying against changed rules, often away from the clinic: it carries
# no patient pseudonym or initials.
IDENTITY_KEYS = frozenset({"patient", "initials", "pseudonym"})


def _num(v: float | None) -> float | int | None:
    """Whole numbers as ints (97, not 97.0), like the recordings people write by hand."""
    if v is None:
        return None
    return int(v) if float(v).is_integer() else round(float(v), 6)


def record_line(room: str, item: Reading | Control, origin: float = 0.0) -> dict[str, Any]:
    t = _num(item.t - origin)
    if isinstance(item, Reading):
        return {
            "t": t,
            "room": room,
            "type": "reading",
            "channel": item.channel,
            "value": _num(item.value),
            "status": sorted(item.status),
        }
    args = {k: v for k, v in item.args.items() if k not in IDENTITY_KEYS}
    return {"t": t, "room": room, "type": "event", "event": item.event, **args}


def items(rec: SessionRecord) -> list[Reading | Control]:
    """Readings and controls of the session, in time order (controls first on a tie)."""
    out: list[tuple[float, int, Reading | Control]] = []
    for e in rec.entries("control"):
        ev = e.payload.get("event")
        if not ev:
            continue
        args = e.payload.get("args") or {}
        out.append((e.t, 0, Control(t=e.t, event=str(ev), args=dict(args), by=e.who)))
    for r in rec.readings:
        status = frozenset(s for s in r.status.split(",") if s)
        out.append((r.t, 1, Reading(r.t, r.channel, r.value, "", status, r.source)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [x[2] for x in out]


def lines(rec: SessionRecord, tick: Tick = no_tick) -> Iterator[str]:
    room, origin = rec.session.room, rec.session.started
    for n, item in enumerate(items(rec), 1):
        yield json.dumps(record_line(room, item, origin), separators=(", ", ": ")) + "\n"
        if n % 1000 == 0:
            tick(1000)


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    return "".join(lines(rec, tick)).encode()
