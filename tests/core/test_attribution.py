"""Who acknowledged an alarm and how it ended are separate facts (issue #13): an alarm that
went away by itself after an ack is "ended: resolved, acknowledged by X", never "cleared by X".
The core's transitions, the InfluxDB line, the replay line and the report's episodes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from monitor.core.engine import AlarmEngine
from monitor.core.models import AlarmEvent, AlarmKind, Priority
from monitor.core.recording import event_line
from monitor.report.model import episodes
from monitor.report.query import _alarm_from
from monitor.store.lineproto import alarm_line

M, H = Priority.MEDIUM, Priority.HIGH
Step = Callable[[AlarmEngine], list[AlarmEvent]]


def up(t: float, prio: Priority = M) -> Step:
    return lambda e: e.raise_(
        t, "x", kind=AlarmKind.PHYSIOLOGICAL, channel="spo2", priority=prio, value=85.0
    )


def down(t: float) -> Step:
    return lambda e: e.lower(t, "x")


def ack(t: float, by: str = "nurse") -> Step:
    return lambda e: e.acknowledge(t, "x", by)


def end(t: float, by: str = "dr") -> Step:
    return lambda e: e.clear_all(t, "session ended by dr", by)


# (t, state, by, acknowledged_by, acknowledged_t, ended)
TIMELINES = [
    ("acked, then it went away by itself", [up(10), ack(12), down(20)],
     [(10, "active", None, None, None, ""), (12, "acknowledged", "nurse", "nurse", 12, ""),
      (20, "cleared", None, "nurse", 12, "resolved")]),
    ("latched high: acknowledged after it resolved", [up(10, H), down(20), ack(30)],
     [(10, "active", None, None, None, ""), (20, "resolved", None, None, None, ""),
      (30, "cleared", "nurse", "nurse", 30, "acknowledged")]),
    ("the session ended on an acknowledged alarm", [up(10), ack(12), end(40)],
     [(10, "active", None, None, None, ""), (12, "acknowledged", "nurse", "nurse", 12, ""),
      (40, "cleared", "dr", "nurse", 12, "session_end")]),
    ("worse after the ack: a new acknowledgement is needed", [up(10), ack(12), up(15, H)],
     [(10, "active", None, None, None, ""), (12, "acknowledged", "nurse", "nurse", 12, ""),
      (15, "active", None, None, None, "")]),
    ("nobody acknowledged: it resolved", [up(10), down(20)],
     [(10, "active", None, None, None, ""), (20, "cleared", None, None, None, "resolved")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "steps", "expected"), TIMELINES)
def test_engine_attribution(name: str, steps: list[Step], expected: list[tuple]) -> None:
    e = AlarmEngine("A")
    events = [ev for step in steps for ev in step(e)]
    got = [
        (ev.t, ev.state.value, ev.by, ev.acknowledged_by, ev.acknowledged_t, ev.ended)
        for ev in events
    ]
    assert got == expected


def _acked_then_resolved() -> list[AlarmEvent]:
    e = AlarmEngine("A")
    return [ev for step in (up(10), ack(12), down(20)) for ev in step(e)]


def test_influx_line_and_replay_line_keep_them_apart() -> None:
    cleared = _acked_then_resolved()[-1]
    line = alarm_line(cleared)
    assert 'by=""' in line and 'acknowledged_by="nurse"' in line
    assert "acknowledged_t=12.0" in line and 'ended="resolved"' in line
    replay = json.loads(event_line(cleared))
    assert "by" not in replay
    assert (replay["acknowledged_by"], replay["acknowledged_t"], replay["ended"]) == (
        "nurse",
        12,
        "resolved",
    )


def test_report_episode_from_stored_points() -> None:
    rows = [_alarm_from({**ev.to_dict(), "kind": ev.kind.value, "priority": ev.priority.value,
                         "state": ev.state.value}) for ev in _acked_then_resolved()]  # fmt: skip
    (ep,) = episodes(rows)
    assert (ep.acknowledged, ep.acknowledged_by, ep.how_ended, ep.ended_by) == (
        12,
        "nurse",
        "resolved",
        None,
    )


def test_report_reads_alarms_recorded_before_the_fields_existed() -> None:
    """Old points carry the acknowledger in `by` on a cleared point that ended by itself."""
    old = [
        {"t": 10, "condition": "x", "kind": "physiological", "priority": "medium",
         "state": "active"},
        {"t": 12, "condition": "x", "kind": "physiological", "priority": "medium",
         "state": "acknowledged", "by": "nurse", "reason": "acknowledged by nurse"},
        {"t": 20, "condition": "x", "kind": "physiological", "priority": "medium",
         "state": "cleared", "by": "nurse", "reason": ""},
        {"t": 30, "condition": "y", "kind": "physiological", "priority": "medium",
         "state": "active"},
        {"t": 40, "condition": "y", "kind": "physiological", "priority": "medium",
         "state": "cleared", "by": "dr", "reason": "session ended by dr"},
    ]  # fmt: skip
    x, y = episodes([_alarm_from(d) for d in old])
    assert (x.acknowledged_by, x.how_ended, x.ended_by) == ("nurse", "resolved", None)
    assert (y.acknowledged_by, y.how_ended, y.ended_by) == (None, "session_end", "dr")
