"""A latched high alarm whose condition resolved before anyone acknowledged it.

clinical-defaults.md "Escalation to phones": a high alarm pages tier 1 at once, repeats every
30 s until acknowledged, goes to tier 2 after 60 s unacknowledged and tier 3 after 120 s.
Nobody has acknowledged that the patient desaturated (or the BP hit the severe limit) just
because the value came back: the escalation goes on, on the clock of the alarm's onset,
until someone acknowledges it (which clears it) or the session ends.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alerts.message import Message, render
from alerts.policy import EscalationPolicy, Page, PageKind
from monitor.core.engine import AlarmEngine
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Control, Priority
from monitor.core.pipeline import RoomPipeline
from monitor.core.recording import event_line, parse_recording
from monitor.core.replay import replay
from tests.core_helpers import bp, run

H, M = Priority.HIGH, Priority.MEDIUM
Step = Callable[[AlarmEngine], list[AlarmEvent]]
Row = tuple[float, str, int, float | None, str | None]  # t, state, tier, since, by


def up(t: float, prio: Priority = H) -> Step:
    return lambda e: e.raise_(
        t, "x", kind=AlarmKind.PHYSIOLOGICAL, channel="spo2", priority=prio, value=84.0, limit=85
    )


def down(t: float) -> Step:
    return lambda e: e.lower(t, "x", value=87.0)


def ack(t: float) -> Step:
    return lambda e: e.acknowledge(t, "x", "nurse")


def end(t: float) -> Step:
    return lambda e: e.clear_all(t, "session ended by dr", "dr")


def ticks(start: int, stop: int) -> list[Step]:
    """A tick every second, as the runtime gives."""
    return [lambda e, t=t: e.tick(float(t)) for t in range(start, stop)]


ENGINE_TIMELINES: list[tuple[str, list[Step], list[Row]]] = [
    ("resolved at 20 s still escalates at 60 s and 120 s from the onset",
     [up(0), *ticks(1, 20), down(20), *ticks(20, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None),
      (60, "resolved", 2, 0, None), (120, "resolved", 3, 0, None)]),
    ("resolved after tier 2: tier 3 still at 120 s",
     [up(0), *ticks(1, 70), down(70), *ticks(70, 400)],
     [(0, "active", 1, 0, None), (60, "escalated", 2, 0, None),
      (70, "resolved", 2, 0, None), (120, "resolved", 3, 0, None)]),
    ("acknowledging the resolved alarm clears it and stops the escalation",
     [up(0), down(20), *ticks(20, 90), ack(90), *ticks(90, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None),
      (60, "resolved", 2, 0, None), (90, "cleared", 2, 0, "nurse")]),
    ("the session ending clears it and stops the escalation",
     [up(0), down(20), *ticks(20, 90), end(90), *ticks(90, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None),
      (60, "resolved", 2, 0, None), (90, "cleared", 2, 0, "dr")]),
    # The same unacknowledged alarm coming back is not a new alarm: its clock and its tier
    # stay (restarting would hold tier 2 back for as long as the patient keeps dipping).
    ("re-occurrence before tier 2 keeps the onset clock",
     [up(0), down(20), *ticks(20, 50), up(50), *ticks(50, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None), (50, "active", 1, 0, None),
      (60, "escalated", 2, 0, None), (120, "escalated", 3, 0, None)]),
    ("re-occurrence after tier 2 keeps the tier: tier 3 at 120 s, not 60 s after it came back",
     [up(0), down(20), *ticks(20, 100), up(100), *ticks(100, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None), (60, "resolved", 2, 0, None),
      (100, "active", 2, 0, None), (120, "escalated", 3, 0, None)]),
    ("resolving and coming back again and again: one clock",
     [up(0), down(10), up(30), *ticks(30, 55), down(55), *ticks(55, 65), up(65),
      *ticks(65, 100), down(100),
      *ticks(100, 400)],
     [(0, "active", 1, 0, None), (10, "resolved", 1, 0, None), (30, "active", 1, 0, None),
      (55, "resolved", 1, 0, None), (60, "resolved", 2, 0, None), (65, "active", 2, 0, None),
      (100, "resolved", 2, 0, None), (120, "resolved", 3, 0, None)]),
    ("after the acknowledgement a new occurrence is a new alarm with a new clock",
     [up(0), down(20), ack(30), up(200), *ticks(200, 400)],
     [(0, "active", 1, 0, None), (20, "resolved", 1, 0, None), (30, "cleared", 1, 0, "nurse"),
      (200, "active", 1, 200, None), (260, "escalated", 2, 200, None),
      (320, "escalated", 3, 200, None)]),
    ("acknowledged before it resolved: cleared when it resolves, never escalated",
     [up(0), ack(10), down(20), *ticks(20, 400)],
     [(0, "active", 1, 0, None), (10, "acknowledged", 1, 0, "nurse"),
      (20, "cleared", 1, 0, None)]),
    ("medium does not latch: cleared when it resolves, nothing to escalate",
     [up(0, M), down(20), *ticks(20, 400)],
     [(0, "active", 1, 0, None), (20, "cleared", 1, 0, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "expected"),
    [(s, x) for _, s, x in ENGINE_TIMELINES],
    ids=[n for n, _, _ in ENGINE_TIMELINES],
)
def test_engine_latched_escalation(steps: list[Step], expected: list[Row]) -> None:
    e = AlarmEngine("A")
    events = [ev for step in steps for ev in step(e)]
    assert [(ev.t, ev.state.value, ev.tier, ev.since, ev.by) for ev in events] == expected
    assert e.history == events


def test_a_resolved_escalation_keeps_the_resolved_values_and_says_why() -> None:
    e = AlarmEngine("A")
    up(0)(e)
    resolved = down(20)(e)[0]
    escalated = [ev for t in range(20, 130) for ev in e.tick(float(t))]
    assert escalated == [
        AlarmEvent(
            t=60.0,
            room="A",
            condition="x",
            kind=AlarmKind.PHYSIOLOGICAL,
            channel="spo2",
            priority=H,
            state=AlarmState.RESOLVED,
            value=87.0,
            limit=85,
            reason="unacknowledged for 60 s (condition resolved, alarm latched): tier 2",
            tier=2,
            since=0,
        ),
        AlarmEvent(
            t=120.0,
            room="A",
            condition="x",
            kind=AlarmKind.PHYSIOLOGICAL,
            channel="spo2",
            priority=H,
            state=AlarmState.RESOLVED,
            value=87.0,
            limit=85,
            reason="unacknowledged for 120 s (condition resolved, alarm latched): tier 3",
            tier=3,
            since=0,
        ),
    ]
    assert resolved.value == 87.0
    assert e.current["x"] == escalated[-1]  # the live state stays resolved, at tier 3


# -- through the room pipeline: SBP ≥ 200 once is bp_severe (high), at once -----------------
SEVERE = [Control(0, "session_start", by="n"), *bp(100, 205, 100, 135), *bp(130, 130, 80, 97)]
PIPELINE: list[tuple[str, list[object], list[Row]]] = [
    ("nobody acknowledges: tier 2 at 160 s, tier 3 at 220 s (onset 100 s)",
     [*SEVERE, *range(131, 400)],
     [(100, "active", 1, 100, None), (130, "resolved", 1, 100, None),
      (160, "resolved", 2, 100, None), (220, "resolved", 3, 100, None)]),
    ("acknowledged at 190 s: cleared, no tier 3",
     [*SEVERE, *range(131, 190), Control(190, "ack", {"condition": "bp_severe"}, by="rn"),
      *range(191, 400)],
     [(100, "active", 1, 100, None), (130, "resolved", 1, 100, None),
      (160, "resolved", 2, 100, None), (190, "cleared", 2, 100, "rn")]),
    ("session ended at 190 s: cleared, no tier 3",
     [*SEVERE, *range(131, 190), Control(190, "session_end", by="dr"), *range(191, 400)],
     [(100, "active", 1, 100, None), (130, "resolved", 1, 100, None),
      (160, "resolved", 2, 100, None), (190, "cleared", 2, 100, "dr")]),
    ("severe again at 190 s: the same alarm, tier 3 still at 220 s",
     [*SEVERE, *range(131, 190), *bp(190, 210, 100, 137), *range(191, 400)],
     [(100, "active", 1, 100, None), (130, "resolved", 1, 100, None),
      (160, "resolved", 2, 100, None), (190, "active", 2, 100, None),
      (220, "escalated", 3, 100, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "expected"), [(i, x) for _, i, x in PIPELINE], ids=[n for n, _, _ in PIPELINE]
)
def test_pipeline_latched_escalation(items: list[object], expected: list[Row]) -> None:
    p = RoomPipeline("A")
    events = run(p, items)  # type: ignore[arg-type]
    severe = [e for e in events if isinstance(e, AlarmEvent) and e.condition == "bp_severe"]
    assert [(e.t, e.state.value, e.tier, e.since, e.by) for e in severe] == expected


# -- paging: the core's events through the escalation policy ---------------------------------
Timed = tuple[int, Step]  # (second, what happens then)
PageRow = tuple[float, PageKind, tuple[int, ...], str]  # t, kind, tiers, alarm state


def _pages(steps: list[Timed], until: int) -> list[PageRow]:
    """Drive the engine and the policy as the runtime does, second by second: the core's
    inputs and timers first (their events go to the policy), then the policy's repeats."""
    engine, policy = AlarmEngine("A"), EscalationPolicy({"high": 30.0, "medium": 60.0})
    pages: list[Page] = []
    for t in range(until):
        events = [ev for at, step in steps if at == t for ev in step(engine)]
        for ev in events + engine.tick(float(t)):
            pages += policy.on_event(ev)
        pages += policy.tick(float(t))
    return [(pg.t, pg.kind, pg.tiers, pg.alarm.state.value) for pg in pages]


FIRST, REPEAT, ESC = PageKind.FIRST, PageKind.REPEAT, PageKind.ESCALATION
PAGING: list[tuple[str, list[Timed], int, list[PageRow]]] = [
    ("resolved at 20 s: repeats every 30 s, tier 2 paged at 60 s, tier 3 at 120 s",
     [(0, up(0)), (20, down(20))], 200,
     [(0, FIRST, (1,), "active"), (30, REPEAT, (1,), "resolved"),
      (60, ESC, (2,), "resolved"), (60, REPEAT, (1, 2), "resolved"),
      (90, REPEAT, (1, 2), "resolved"), (120, ESC, (3,), "resolved"),
      (120, REPEAT, (1, 2, 3), "resolved"), (150, REPEAT, (1, 2, 3), "resolved"),
      (180, REPEAT, (1, 2, 3), "resolved")]),
    ("acknowledged at 100 s: silence after tier 2",
     [(0, up(0)), (20, down(20)), (100, ack(100))], 200,
     [(0, FIRST, (1,), "active"), (30, REPEAT, (1,), "resolved"),
      (60, ESC, (2,), "resolved"), (60, REPEAT, (1, 2), "resolved"),
      (90, REPEAT, (1, 2), "resolved")]),
    ("session ended at 45 s: silence",
     [(0, up(0)), (20, down(20)), (45, end(45))], 200,
     [(0, FIRST, (1,), "active"), (30, REPEAT, (1,), "resolved")]),
    ("back at 100 s: no new first page, tier 3 at 120 s with the live state",
     [(0, up(0)), (20, down(20)), (100, up(100))], 125,
     [(0, FIRST, (1,), "active"), (30, REPEAT, (1,), "resolved"),
      (60, ESC, (2,), "resolved"), (60, REPEAT, (1, 2), "resolved"),
      (90, REPEAT, (1, 2), "resolved"), (120, ESC, (3,), "escalated"),
      (120, REPEAT, (1, 2, 3), "escalated")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "until", "expected"),
    [(s, u, x) for _, s, u, x in PAGING],
    ids=[n for n, _, _, _ in PAGING],
)
def test_policy_pages_tiers_on_time_for_a_resolved_alarm(
    steps: list[Timed], until: int, expected: list[PageRow]
) -> None:
    assert _pages(steps, until) == expected


def test_policy_escalation_page_carries_the_resolved_event() -> None:
    policy = EscalationPolicy({"high": 30.0})
    onset = AlarmEvent(0, "B", "spo2_severe", AlarmKind.PHYSIOLOGICAL, "spo2", H,
                       AlarmState.ACTIVE, 84.0, 85.0, since=0.0)  # fmt: skip
    resolved = AlarmEvent(20, "B", "spo2_severe", AlarmKind.PHYSIOLOGICAL, "spo2", H,
                          AlarmState.RESOLVED, 88.0, 85.0, since=0.0)  # fmt: skip
    tier2 = AlarmEvent(60, "B", "spo2_severe", AlarmKind.PHYSIOLOGICAL, "spo2", H,
                       AlarmState.RESOLVED, 88.0, 85.0, tier=2, since=0.0)  # fmt: skip
    assert policy.on_event(onset) == [Page(0, FIRST, (1,), onset)]
    assert policy.on_event(resolved) == []
    assert policy.on_event(tier2) == [Page(60, ESC, (2,), tier2)]
    assert policy.on_event(tier2) == []  # the same tier twice is paged once
    assert policy.tick(60) == [Page(60, REPEAT, (1, 2), tier2)]


# -- the words on the phone ------------------------------------------------------------------
RESOLVED_TIER2 = AlarmEvent(
    t=7200.0,
    room="B",
    condition="spo2_low",
    kind=AlarmKind.PHYSIOLOGICAL,
    channel="spo2",
    priority=H,
    state=AlarmState.RESOLVED,
    value=91.0,
    limit=90.0,
    baseline=97.0,
    reason="unacknowledged for 60 s (condition resolved, alarm latched): tier 2",
    tier=2,
    since=7140.0,
)


def test_escalation_message_about_a_resolved_alarm_says_it_resolved() -> None:
    page = Page(7201.0, ESC, (2,), RESOLVED_TIER2)
    got = render(page, room_name="Room B", ack_url="http://v/ack/x", dose_t=3600.0, utc_offset_s=0)
    assert got == Message(
        title="ESCALATED HIGH: SpO2 low (resolved), Room B",
        body="SpO2 low in Room B (high priority)\n"
        "RESOLVED, not acknowledged: the condition is over but nobody has acknowledged it. "
        "The alarm stays latched until acknowledged.\n"
        "back to 91%, limit 90%, baseline 97%\n"
        "Alarm since 01:59:00\n"
        "60 min since dose\n"
        "Escalated to tier 2: not acknowledged yet.\n"
        "Sent 02:00:01\n"
        "Acknowledge: http://v/ack/x\n"
        "Vigil is a secondary alarm: check the patient and the bedside monitor.",
    )


@pytest.mark.parametrize(
    ("state", "title", "value_line"),
    [
        (AlarmState.RESOLVED, "REPEAT HIGH: SpO2 low (resolved), Room B", "back to 91%, limit 90%"),
        (AlarmState.ACTIVE, "REPEAT HIGH: SpO2 low, Room B", "now 91%, limit 90%"),
        (AlarmState.ESCALATED, "REPEAT HIGH: SpO2 low, Room B", "now 91%, limit 90%"),
    ],
)
def test_repeat_message_says_resolved_only_when_it_is(
    state: AlarmState, title: str, value_line: str
) -> None:
    alarm = AlarmEvent(7200.0, "B", "spo2_low", AlarmKind.PHYSIOLOGICAL, "spo2", H, state,
                       91.0, 90.0, tier=1, since=7140.0)  # fmt: skip
    got = render(Page(7230.0, REPEAT, (1,), alarm), room_name="Room B", ack_url=None,
                 utc_offset_s=0)  # fmt: skip
    lines = got.body.splitlines()
    assert (got.title, value_line in lines) == (title, True)
    assert any(line.startswith("RESOLVED") for line in lines) == (state == AlarmState.RESOLVED)


# -- replay (the recording format): a desaturation nobody acknowledges -----------------------
def _recording() -> list[str]:
    lines = ['{"t": 0, "room": "A", "type": "event", "event": "session_start", "by": "n"}']
    for t in range(1, 200):
        v = 82 if 10 <= t < 25 else 97
        lines.append(
            f'{{"t": {t}, "room": "A", "type": "reading", "channel": "spo2", "value": {v},'
            f' "status": [], "source": "ox"}}'
        )
    return lines


def test_replay_of_an_unacknowledged_resolved_desaturation_escalates() -> None:
    events = [e for e in replay(parse_recording(_recording())) if isinstance(e, AlarmEvent)]
    severe = [(e.t, e.state.value, e.tier) for e in events if e.condition == "spo2_severe"]
    onset = severe[0][0]
    assert severe == [
        (onset, "active", 1),
        (severe[1][0], "resolved", 1),
        (onset + 60, "resolved", 2),
        (onset + 120, "resolved", 3),
    ]
    assert onset < severe[1][0] < onset + 60
    line = event_line(next(e for e in events if e.tier == 3))
    assert '"state": "resolved"' in line and '"condition": "spo2_severe"' in line


def test_report_counts_escalations_of_a_resolved_latched_alarm() -> None:
    """The session report's episode counts escalations made while resolved (the tier rises,
    the state stays `resolved`), and old records without a tier still count `escalated`."""
    from monitor.report.model import AlarmRow, episodes

    def row(t: float, state: str, tier: int = 1) -> AlarmRow:
        return AlarmRow(t, "spo2_severe", "physiological", "high", state, 82.0, 85.0, tier=tier)

    latched = [
        row(0, "active"),
        row(8, "resolved"),
        row(60, "resolved", 2),
        row(120, "resolved", 3),
        row(125, "cleared", 3),
    ]
    [ep] = episodes(latched)
    assert (ep.escalations, ep.resolved, ep.ended) == (2, 8, 125)
    legacy = [row(0, "active"), row(60, "escalated"), row(70, "acknowledged"), row(80, "cleared")]
    assert episodes(legacy)[0].escalations == 1


def test_a_resolved_page_gives_the_episodes_worst_value() -> None:
    """The core keeps the value furthest beyond the limit while the alarm lasts (without
    publishing a transition for it), so a page about a resolved alarm says how bad it got."""
    from alerts.message import render
    from monitor.core.engine import AlarmEngine

    e = AlarmEngine("B")

    def present(t: float, v: float) -> list[AlarmEvent]:
        return e.raise_(t, "spo2_severe", kind=AlarmKind.PHYSIOLOGICAL, channel="spo2",
                        priority=Priority.HIGH, value=v, limit=85.0,
                        lower_is_worse=True)  # fmt: skip

    [onset] = present(0.0, 84.0)
    assert onset.worst == 84.0
    assert present(5.0, 79.0) == [] and present(10.0, 81.0) == []  # nothing published
    [resolved] = e.lower(20.0, "spo2_severe", value=91.0, reason="back inside the limit")
    assert (resolved.state, resolved.value, resolved.worst) == (AlarmState.RESOLVED, 91.0, 79.0)
    [again] = present(30.0, 83.0)  # the same unacknowledged alarm: the nadir stays
    assert again.worst == 79.0
    page = Page(40.0, PageKind.REPEAT, (1,), resolved)
    text = render(page, room_name="Room B", ack_url=None, utc_offset_s=0).body
    assert "back to 91%, worst 79%, limit 85%" in text
    # A technical alarm (no direction) keeps no worst value.
    [tech] = e.raise_(0.0, "probe_off", kind=AlarmKind.TECHNICAL, channel=None,
                      priority=Priority.MEDIUM)  # fmt: skip
    assert tech.worst is None


def test_worst_values_of_different_channels_do_not_mix() -> None:
    from monitor.core.engine import AlarmEngine

    e = AlarmEngine("A")

    def bp(t: float, channel: str, v: float) -> list[AlarmEvent]:
        return e.raise_(t, "bp_severe", kind=AlarmKind.PHYSIOLOGICAL, channel=channel,
                        priority=Priority.HIGH, value=v, limit=180.0,
                        lower_is_worse=False)  # fmt: skip

    [onset] = bp(0.0, "sbp", 190.0)
    bp(60.0, "dbp", 125.0)  # the same alarm, now on DBP: not an SBP of 125
    bp(120.0, "sbp", 205.0)
    [resolved] = e.lower(180.0, "bp_severe", value=150.0)
    assert (onset.worst, resolved.worst) == (190.0, 205.0)


def test_the_report_takes_the_worst_value_the_core_kept() -> None:
    from monitor.report.model import AlarmRow, episodes

    rows = [
        AlarmRow(0, "spo2_severe", "physiological", "high", "active", 84.0, 85.0, worst=84.0),
        AlarmRow(20, "spo2_severe", "physiological", "high", "resolved", 91.0, 85.0, worst=79.0),
        AlarmRow(30, "spo2_severe", "physiological", "high", "cleared", 91.0, 85.0, worst=79.0),
    ]
    assert episodes(rows)[0].worst_value == 79.0  # the transitions alone said 84
