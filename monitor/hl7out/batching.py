"""Which journal readings go out in which PCD-01 message, and how far the cursor may move.
Pure: rows and the time come in; messages to send and cursor positions come out.

every_reading: one message per room and moment (the frames of one read share a time).
per_minute: one message per room and clock minute with the latest usable value of each
  channel in that minute (what EHR flowsheets want); a channel whose readings in that minute
  were all unusable goes out as "cannot be obtained" (OBX-11 X). A minute is complete when
  the room has a reading of a later minute, or `grace_s` after the minute ended (readings
  are committed to the journal within the commit window, well inside that).

The cursor may only move past rows whose message was acknowledged: `safe_cursor` is the
highest id below every row still waiting (in a message not yet acknowledged or a minute
not yet complete). After a restart Vigil reads on from that cursor, so a message may be
sent again (at-least-once); the message control id is derived from the content's position
(first row id, or room and minute), so a receiver can drop the repeat.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from monitor.core.models import Reading
from monitor.hl7out.mdc import METRICS
from monitor.hl7out.pcd01 import Unavailable, sendable
from monitor.store.journal import PointRow

Periodicity = Literal["every_reading", "per_minute"]
MINUTE_S = 60.0


def reading_of(payload: dict[str, object]) -> Reading | None:
    """The Reading a journal row holds (None when the payload is not one)."""
    try:
        value = payload.get("value")
        return Reading(
            t=float(payload["t"]),  # type: ignore[arg-type]
            channel=str(payload["channel"]),
            value=None if value is None else float(value),  # type: ignore[arg-type]
            unit=str(payload.get("unit", "")),
            status=frozenset(str(s) for s in payload.get("status", ()) or ()),  # type: ignore[attr-defined]
            source=str(payload.get("source", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: a room's readings, with the journal rows it covers."""

    control_id: str
    room: str
    session: str | None
    readings: tuple[Reading, ...]
    unavailable: tuple[Unavailable, ...]
    first_id: int
    last_id: int
    minute: int | None = None  # per_minute: the minute (POSIX minutes)


@dataclass
class _Minute:
    room: str
    minute: int
    session: str | None
    first_id: int
    last_id: int = 0
    latest: dict[str, Reading] = field(default_factory=dict)  # channel -> latest usable
    seen: dict[str, Reading] = field(default_factory=dict)  # channel -> latest of any kind


class Batcher:
    def __init__(self, periodicity: Periodicity, *, start_id: int = 0, grace_s: float = 5.0):
        self.periodicity = periodicity
        self.grace_s = grace_s
        self.fed_id = start_id  # the last row id fed
        self._ready: deque[Outgoing] = deque()  # complete, in order, not yet acknowledged
        self._open: dict[str, _Minute] = {}  # per_minute: room -> its current minute
        self._done_minute: dict[str, int] = {}  # room -> last minute sent (no late repeats)
        self._handed = False  # the head of _ready is being sent: never extend it

    @property
    def pending(self) -> int:
        """Messages complete and waiting to be sent."""
        return len(self._ready)

    def feed(self, rows: list[PointRow]) -> None:
        """Rows of kind `reading`, by ascending id (Journal.points_after)."""
        for row in rows:
            self.fed_id = max(self.fed_id, row.id)
            r = reading_of(row.payload)
            if r is None or r.channel not in METRICS or row.room is None:
                continue
            if self.periodicity == "every_reading":
                self._feed_each(row, r)
            else:
                self._feed_minute(row, r)

    def _feed_each(self, row: PointRow, r: Reading) -> None:
        if not sendable(r):
            return
        last = self._ready[-1] if self._ready else None
        # Same room, same moment (one read's frames): one message, by replacing the last
        # entry while it has not been handed out to be sent (see `next`).
        if (
            last is not None
            and last.room == row.room
            and last.readings[-1].t == r.t
            and (not self._handed or len(self._ready) > 1)
        ):
            self._ready[-1] = Outgoing(
                last.control_id, last.room, last.session, (*last.readings, r), (),
                last.first_id, row.id,
            )  # fmt: skip
            return
        assert row.room is not None
        self._ready.append(Outgoing(f"R{row.id}", row.room, row.session, (r,), (), row.id, row.id))

    def _feed_minute(self, row: PointRow, r: Reading) -> None:
        assert row.room is not None
        minute = math.floor(r.t / MINUTE_S)
        if minute <= self._done_minute.get(row.room, -1):
            return  # late for a minute already sent
        cur = self._open.get(row.room)
        if cur is not None and minute > cur.minute:
            self._close(cur)
            cur = None
        elif cur is not None and minute < cur.minute:
            return  # late (clock step back): the newer minute is the one kept
        if cur is None:
            cur = self._open[row.room] = _Minute(row.room, minute, row.session, row.id)
        cur.last_id = row.id
        cur.seen[r.channel] = r
        if sendable(r):
            cur.latest[r.channel] = r

    def _close(self, m: _Minute) -> None:
        del self._open[m.room]
        self._done_minute[m.room] = m.minute
        missing = tuple(
            Unavailable(r.t, ch, r.source) for ch, r in m.seen.items() if ch not in m.latest
        )
        if not m.latest and not missing:
            return
        self._ready.append(
            Outgoing(
                f"M{m.room}-{m.minute}", m.room, m.session, tuple(m.latest.values()), missing,
                m.first_id, m.last_id, m.minute,
            )
        )  # fmt: skip

    def tick(self, now: float, *, caught_up: bool) -> None:
        """Close the minutes that are over (only once the journal has been read to its end:
        during a backlog a later row of the same minute may still be unread)."""
        if self.periodicity != "per_minute" or not caught_up:
            return
        for m in sorted(self._open.values(), key=lambda m: m.first_id):
            if now >= (m.minute + 1) * MINUTE_S + self.grace_s:
                self._close(m)

    def next(self) -> Outgoing | None:
        """The next message to send (the same one until `done`)."""
        if not self._ready:
            return None
        self._handed = True
        return self._ready[0]

    def done(self, out: Outgoing) -> None:
        """`out` was acknowledged (or given up): forget it."""
        if self._ready and self._ready[0] is out:
            self._ready.popleft()
        self._handed = False

    def safe_cursor(self) -> int:
        """The highest row id the journal cursor may move to now."""
        waiting = [o.first_id for o in self._ready] + [m.first_id for m in self._open.values()]
        return min(waiting) - 1 if waiting else self.fed_id
