"""The clinic-wide alarm log and the shift hand-off view, from the journal's audit entries.

An alarm *episode* is one condition in one room from the moment it became active until it
cleared: its transitions (`alarm` entries) share room, condition and `since`. The log shows
each episode once, with its highest priority, who acknowledged it and how long that took.
The functions on entries are pure (no I/O, no clock); the two queries read the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.report.model import AlarmEpisode, episodes
from monitor.report.query import _alarm_from
from monitor.store.journal import AuditEntry, Journal

#: An episode's transitions are looked for this long before and after the window (it began
#: before and still ran, or started inside and cleared later); longer ones show as open.
EPISODE_TAIL_S = 12 * 3600.0
MAX_SPAN_S = 92 * 86400.0  # a quarter: the log is a clinic's review, not a data export
#: Controls the hand-off view lists (session starts and ends come from the sessions table).
MAX_SESSION_S = 86400.0  # a session begun longer before the hand-off window is not looked for
HANDOFF_CONTROLS = ("dose", "note", "baseline", "confirm_baseline", "discharge_review")


@dataclass(frozen=True, slots=True)
class RoomEpisode:
    """An alarm episode (the reports' own grouping: monitor/report/model.py) and its room."""

    room: str
    episode: AlarmEpisode

    def to_dict(self) -> dict[str, Any]:
        return {"room": self.room, **self.episode.to_dict()}


def room_episodes(entries: list[AuditEntry]) -> list[RoomEpisode]:
    """`alarm` audit entries of any rooms grouped into episodes, by start time."""
    by_room: dict[str, list[AuditEntry]] = {}
    for e in entries:
        by_room.setdefault(str(e.payload.get("room") or e.room), []).append(e)
    out = [
        RoomEpisode(room, ep)
        for room, es in by_room.items()
        for ep in episodes([_alarm_from({**e.payload, "t": e.t}) for e in es])
    ]
    return sorted(out, key=lambda r: (r.episode.started, r.room, r.episode.condition))


@dataclass(frozen=True)
class LogFilter:
    t0: float
    t1: float
    room: str | None = None
    priority: str | None = None
    acknowledged_by: str | None = None  # "": not acknowledged
    kind: str | None = None  # physiological | technical

    def keeps(self, r: RoomEpisode) -> bool:
        ep = r.episode
        return (
            self.t0 <= ep.started < self.t1
            and (self.room is None or r.room == self.room)
            and (self.priority is None or ep.priority == self.priority)
            and (self.kind is None or ep.kind == self.kind)
            and (self.acknowledged_by is None or (ep.acknowledged_by or "") == self.acknowledged_by)
        )


#: Alarm transitions read for one log query (a busy clinic's quarter is ~70,000: 2.7 s).
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class AlarmLog:
    episodes: list[RoomEpisode]
    #: The window held more than MAX_ENTRIES transitions: the log stops early (said, never
    #: silently short); `complete_until` is where it is complete.
    truncated: bool = False
    complete_until: float | None = None


def alarm_log(journal: Journal, f: LogFilter) -> AlarmLog:
    """Episodes that started in [f.t0, f.t1) and pass the filter (blocking: a thread)."""
    # Read a tail on both sides: an episode is grouped from its first transition (one that
    # began before the window is then not taken for one that began inside it), and ends later.
    entries = journal.audit_between(
        ["alarm"], f.t0 - EPISODE_TAIL_S, f.t1 + EPISODE_TAIL_S, limit=MAX_ENTRIES
    )
    truncated = len(entries) == MAX_ENTRIES
    until = entries[-1].t if truncated else None
    eps = room_episodes(entries)
    if until is not None:  # episodes starting after the last entry read may be missing
        eps = [r for r in eps if r.episode.started < until]
    return AlarmLog([r for r in eps if f.keeps(r)], truncated, until)


def handoff(journal: Journal, rooms: list[str], t0: float, t1: float) -> list[dict[str, Any]]:
    """Per room, what happened in [t0, t1): sessions (also those started earlier and still
    open or ended inside), alarm episodes, doses, notes and other clinical controls, and
    every acknowledgement with who made it. Rooms seen only in the journal are included."""
    started = journal.sessions(t0=t0 - MAX_SESSION_S, t1=t1)
    sessions = [s for s in started if s.ended is None or s.ended >= t0]
    eps = alarm_log(journal, LogFilter(t0, t1)).episodes
    controls = journal.audit_between(["control"], t0, t1)
    seen = {s.room for s in sessions} | {r.room for r in eps}
    names = list(rooms) + sorted(seen - set(rooms))
    out = []
    for room in names:
        events = [
            {
                "t": c.t,
                "event": c.payload.get("event"),
                "by": c.who,
                "args": c.payload.get("args", {}),
                "outcome": c.payload.get("outcome", ""),
            }
            for c in controls
            if c.room == room and c.payload.get("event") in HANDOFF_CONTROLS
        ]
        room_eps = [r.episode for r in eps if r.room == room]
        out.append(
            {
                "room": room,
                "sessions": [s.to_dict() for s in sessions if s.room == room],
                "alarms": [ep.to_dict() for ep in room_eps],
                "events": events,
                "acknowledgements": [
                    {
                        "t": ep.acknowledged,
                        "condition": ep.condition,
                        "by": ep.acknowledged_by,
                        "time_to_ack_s": ep.time_to_ack_s,
                    }
                    for ep in room_eps
                    if ep.acknowledged is not None
                ],
            }
        )
    return out
