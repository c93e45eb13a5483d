"""A session as the replayable JSONL of `vigil replay` (format: issue #4), written by the
core's own `monitor.core.recording.to_record_line`, so export and replay cannot drift apart.

`t` is in seconds since the session start. Events are the controls staff gave
(session_start, baseline, dose, ack, audio_pause, session_end, ...) with their arguments and
who gave them; readings carry channel, value, status and source.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.core.controls import Control, control_from_dict
from monitor.core.models import CANONICAL_UNIT, Reading
from monitor.core.recording import to_record_line
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

# A recording is for replaying against changed rules, often away from the clinic: it carries
# no patient pseudonym or initials.
IDENTITY_KEYS = frozenset({"pseudonym"})  # the one identity a session carries


def items(rec: SessionRecord) -> list[Reading | Control]:
    """Readings and controls of the session, in time order (controls first on a tie), with
    times relative to the session start."""
    origin = rec.session.started
    out: list[tuple[float, int, Reading | Control]] = []
    for e in rec.entries("control"):
        ev = e.payload.get("event")
        if not ev:
            continue
        args = {k: v for k, v in (e.payload.get("args") or {}).items() if k not in IDENTITY_KEYS}
        wire = {"t": e.t - origin, "event": str(ev), "args": args, "by": e.who}
        out.append((e.t, 0, control_from_dict(wire)))
    for r in rec.readings:
        status = frozenset(s for s in r.status.split(",") if s)
        unit = CANONICAL_UNIT.get(r.channel, "")
        out.append((r.t, 1, Reading(r.t - origin, r.channel, r.value, unit, status, r.source)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [x[2] for x in out]


def lines(rec: SessionRecord, tick: Tick = no_tick) -> Iterator[str]:
    room = rec.session.room
    for n, item in enumerate(items(rec), 1):
        yield to_record_line(room, item) + "\n"
        if n % 1000 == 0:
            tick(1000)


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    return "".join(lines(rec, tick)).encode()
