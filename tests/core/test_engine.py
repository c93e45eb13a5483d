"""The alarm engine's transitions, driven directly: (step) -> expected transitions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.core.engine import AlarmEngine
from monitor.core.models import AlarmKind, Control, Priority

P, T = AlarmKind.PHYSIOLOGICAL, AlarmKind.TECHNICAL
H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW

Step = Callable[[AlarmEngine], list]


def up(t: float, cond: str = "x", prio: Priority = M, kind: AlarmKind = P) -> Step:
    return lambda e: e.raise_(t, cond, kind=kind, channel="spo2", priority=prio, value=1.0)


def down(t: float, cond: str = "x") -> Step:
    return lambda e: e.lower(t, cond)


def ack(t: float, cond: str = "x", by: str = "nurse") -> Step:
    return lambda e: e.acknowledge(t, cond, by)


def tick(t: float) -> Step:
    return lambda e: e.tick(t)


TIMELINES = [
    ("medium: active then cleared", [up(10), up(11), down(20)],
     [(10, "x", "active", M, None), (20, "x", "cleared", M, None)]),
    ("high latches: resolved, cleared only on ack", [up(10, prio=H), down(20), tick(30), ack(40)],
     [(10, "x", "active", H, None), (20, "x", "resolved", H, None),
      (40, "x", "cleared", H, "nurse")]),
    ("resolved comes back before ack", [up(10, prio=H), down(20), up(25, prio=H)],
     [(10, "x", "active", H, None), (20, "x", "resolved", H, None), (25, "x", "active", H, None)]),
    ("acknowledged, then condition gone: cleared", [up(10), ack(12), ack(13), down(20)],
     [(10, "x", "active", M, None), (12, "x", "acknowledged", M, "nurse"),
      (20, "x", "cleared", M, None)]),  # it went away by itself: nobody cleared it
    ("acknowledged high does not latch again", [up(10, prio=H), ack(11), down(20)],
     [(10, "x", "active", H, None), (11, "x", "acknowledged", H, "nurse"),
      (20, "x", "cleared", H, None)]),
    ("acknowledged re-notifies only when worse", [up(10, prio=L), ack(11), up(15, prio=L),
                                                  up(40, prio=M)],
     [(10, "x", "active", L, None), (11, "x", "acknowledged", L, "nurse"),
      (40, "x", "active", M, None)]),
    ("ack of an unknown condition does nothing", [ack(5, "nope"), down(6, "nope")], []),
    ("escalation tiers by priority", [up(0), tick(119), tick(120), tick(200), tick(240), tick(999)],
     [(0, "x", "active", M, None), (120, "x", "escalated", M, None),
      (240, "x", "escalated", M, None)]),
    ("high escalates at 60 and 120 s; ack stops it", [up(0, prio=H), tick(60), ack(70), tick(120)],
     [(0, "x", "active", H, None), (60, "x", "escalated", H, None),
      (70, "x", "acknowledged", H, "nurse")]),
    ("low never escalates", [up(0, prio=L), tick(1000)], [(0, "x", "active", L, None)]),
    ("each condition acknowledged on its own", [up(0, "a"), up(1, "b"), ack(2, "a"), tick(121)],
     [(0, "a", "active", M, None), (1, "b", "active", M, None),
      (2, "a", "acknowledged", M, "nurse"), (121, "b", "escalated", M, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "steps", "expected"), TIMELINES)
def test_engine_timeline(name: str, steps: list[Step], expected: list[tuple]) -> None:
    e = AlarmEngine("A")
    events = [ev for step in steps for ev in step(e)]
    assert [(ev.t, ev.condition, ev.state.value, ev.priority, ev.by) for ev in events] == expected
    assert e.history == events  # the full history, in order


def test_escalation_tiers_and_reasons() -> None:
    e = AlarmEngine("A")
    e.raise_(0, "x", kind=P, channel=None, priority=H, reason="SpO2 84 <= 85 for 5 s")
    tiers = [(ev.t, ev.tier, ev.reason) for t in range(200) for ev in e.tick(float(t))]
    assert tiers == [
        (60.0, 2, "unacknowledged for 60 s: tier 2"),
        (120.0, 3, "unacknowledged for 120 s: tier 3"),
    ]
    assert e.history[0].reason == "SpO2 84 <= 85 for 5 s"


def test_audio_pause_lasts_120_s_and_a_higher_priority_breaks_through() -> None:
    e = AlarmEngine("A")
    e.raise_(0, "a", kind=P, channel=None, priority=M)
    e.audio_pause(10, "nurse")
    assert e.audio_paused_until == 130
    e.raise_(20, "b", kind=P, channel=None, priority=M)  # not higher: stays paused
    assert e.audio_paused_until == 130
    e.tick(129)
    assert e.audio_paused_until == 130
    e.tick(130)
    assert e.audio_paused_until is None
    e.audio_pause(200, "nurse")
    e.raise_(210, "c", kind=P, channel=None, priority=H)  # higher: breaks through
    assert e.audio_paused_until is None
    assert [n["note"] for n in e.notes] == [
        "audio paused",
        "audio paused",
        "audio pause broken by c",
    ]


def test_pre_emptive_audio_pause_lets_high_through_only() -> None:
    e = AlarmEngine("A")
    e.audio_pause(0, "nurse")
    e.raise_(5, "probe_off", kind=T, channel=None, priority=L)
    e.raise_(6, "spo2_stale", kind=T, channel=None, priority=M)
    assert e.audio_paused_until == 120
    e.raise_(7, "spo2_severe", kind=P, channel=None, priority=H)
    assert e.audio_paused_until is None


def test_clear_all_ends_every_alarm_with_who() -> None:
    e = AlarmEngine("A")
    e.raise_(0, "a", kind=P, channel=None, priority=H)
    e.raise_(0, "b", kind=T, channel=None, priority=L)
    out = e.clear_all(50, "session ended by dr", "dr")
    assert [(ev.condition, ev.state.value, ev.by) for ev in out] == [
        ("a", "cleared", "dr"),
        ("b", "cleared", "dr"),
    ]
    assert e.current == {} and e.lower(51, "a") == []


def test_external_technical_alarm_is_owned_by_the_core_and_latches() -> None:
    from monitor.core.pipeline import RoomPipeline

    p = RoomPipeline("A")
    raised = p.control(
        Control(
            10.0,
            "technical_alarm",
            {"condition": "notify_failed", "reason": "no tier 1"},
            by="notifier",
        )
    )
    assert [(e.condition, e.kind, e.priority, e.state) for e in raised] == [
        ("notify_failed", "technical", "high", "active")
    ]
    assert "notify_failed" in p.active
    # High priority latches: the condition clearing leaves it resolved until acknowledged.
    lowered = p.control(
        Control(20.0, "technical_alarm", {"condition": "notify_failed", "state": "cleared"})
    )
    assert [e.state for e in lowered] == ["resolved"]
    acked = p.control(Control(25.0, "ack", {"condition": "notify_failed"}, by="nurse"))
    assert [e.state for e in acked][-1] == "cleared"
    assert "notify_failed" not in p.active
    # Unknown conditions are refused, never invented.
    assert p.control(Control(30.0, "technical_alarm", {"condition": "spo2_low"})) == []
    assert p.log[-1]["outcome"].startswith("ignored")
