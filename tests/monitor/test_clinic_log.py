"""The clinic-wide alarm log and the hand-off from a real journal (SQLite in tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import clinic_log
from monitor.clinic_log import LogFilter, alarm_log, handoff
from monitor.store.journal import Journal

T0 = 1_800_000_000.0


def alarm(j: Journal, t: float, room: str, condition: str, state: str, since: float,
          priority: str = "medium", by: str | None = None) -> None:  # fmt: skip
    payload = {"type": "alarm", "room": room, "condition": condition, "kind": "physiological",
               "channel": "spo2", "priority": priority, "state": state, "since": since,
               "t": t, "by": by, "tier": 1, "value": 88.0, "limit": 90.0}  # fmt: skip
    j.audit("alarm", by, payload, t=t, room=room)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3")
    # Room A: spo2_low acknowledged by ana after 40 s; escalated to high before that.
    alarm(j, T0, "A", "spo2_low", "active", T0)
    alarm(j, T0 + 20, "A", "spo2_low", "active", T0, priority="high")
    alarm(j, T0 + 40, "A", "spo2_low", "acknowledged", T0, priority="high", by="ana")
    alarm(j, T0 + 100, "A", "spo2_low", "cleared", T0, priority="high", by="ana")
    # Room B: never acknowledged, still on; began an hour later.
    alarm(j, T0 + 3600, "B", "hr_high", "active", T0 + 3600)
    sid = j.start_session("B", T0 + 3000, "P-7", "doc")
    assert sid is not None
    j.audit("control", "doc", {"event": "dose", "args": {}, "t": T0 + 3100, "outcome": "ok"},
            t=T0 + 3100, room="B")  # fmt: skip
    j.audit("control", "ana", {"event": "note", "args": {"text": "calm"}, "t": T0 + 3200,
                               "outcome": "ok"}, t=T0 + 3200, room="B")  # fmt: skip
    j.flush()
    yield j
    j.close()


def rows(j: Journal, **kw: object) -> list[tuple[str, str, str, str | None, float | None]]:
    log = alarm_log(j, LogFilter(T0 - 10, T0 + 7200, **kw))  # type: ignore[arg-type]
    return [
        (
            r.room,
            r.episode.condition,
            r.episode.priority,
            r.episode.acknowledged_by,
            r.episode.time_to_ack_s,
        )  # fmt: skip
        for r in log.episodes
    ]


def test_episodes_with_who_acknowledged_and_how_fast(journal: Journal) -> None:
    assert rows(journal) == [
        ("A", "spo2_low", "high", "ana", 40.0),
        ("B", "hr_high", "medium", None, None),
    ]
    assert rows(journal, room="B") == [("B", "hr_high", "medium", None, None)]
    assert rows(journal, priority="high") == [("A", "spo2_low", "high", "ana", 40.0)]
    assert rows(journal, acknowledged_by="ana") == [("A", "spo2_low", "high", "ana", 40.0)]
    assert rows(journal, acknowledged_by="") == [("B", "hr_high", "medium", None, None)]
    assert rows(journal, kind="technical") == []
    # An episode that started before the window is not this window's.
    assert alarm_log(journal, LogFilter(T0 + 10, T0 + 600)).episodes == []


def test_a_log_too_long_says_where_it_stops(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_log, "MAX_ENTRIES", 3)
    log = alarm_log(journal, LogFilter(T0 - 10, T0 + 7200))
    assert (log.truncated, log.complete_until) == (True, T0 + 40)
    assert [r.episode.condition for r in log.episodes] == ["spo2_low"]


def test_hand_off_per_room(journal: Journal) -> None:
    a, b = handoff(journal, ["A", "B"], T0 + 1800, T0 + 7200)
    assert (a["room"], a["alarms"], a["sessions"], a["events"]) == ("A", [], [], [])
    assert [s["patient"] for s in b["sessions"]] == ["P-7"]  # still running
    assert [(e["event"], e["by"]) for e in b["events"]] == [("dose", "doc"), ("note", "ana")]
    assert [x["condition"] for x in b["alarms"]] == ["hr_high"]
    assert b["acknowledgements"] == []
