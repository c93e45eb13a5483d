"""Escalation policy timelines: (t, alarm event or tick) → the pages it must produce."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alerts.policy import NOTIFY_FAILED, EscalationPolicy, Page, PageKind
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority

REPEAT = {"high": 30.0, "medium": 60.0}

A = AlarmState.ACTIVE
K = AlarmState.ACKNOWLEDGED
E = AlarmState.ESCALATED
R = AlarmState.RESOLVED
C = AlarmState.CLEARED
HI, MED, LOW = Priority.HIGH, Priority.MEDIUM, Priority.LOW


def ev(
    t: float,
    state: AlarmState,
    priority: Priority = HI,
    *,
    tier: int = 1,
    since: float = 0.0,
    condition: str = "spo2_low",
    room: str = "B",
) -> AlarmEvent:
    return AlarmEvent(
        t=t,
        room=room,
        condition=condition,
        kind=AlarmKind.TECHNICAL if condition == NOTIFY_FAILED else AlarmKind.PHYSIOLOGICAL,
        channel=None if condition == NOTIFY_FAILED else "spo2",
        priority=priority,
        state=state,
        value=86.0,
        limit=90.0,
        tier=tier,
        since=since,
    )


def page(t: float, kind: PageKind, tiers: tuple[int, ...], alarm: AlarmEvent) -> Page:
    return Page(t, kind, tiers, alarm)


Step = tuple[float, AlarmEvent | None]  # None: a tick at t

a0 = ev(0, A)
e60 = ev(60, E, tier=2)
e120 = ev(120, E, tier=3)
TIMELINES: list[tuple[str, list[Step], list[Page]]] = [
    (
        "high, nobody answers: first, repeats every 30 s, tier 2 at 60 s, tier 3 at 120 s",
        [
            (0, a0),
            (29.9, None),
            (30, None),
            (59, None),
            (60, e60),
            (60, None),
            (90, None),
            (120, e120),
            (120, None),
        ],
        [
            page(0, PageKind.FIRST, (1,), a0),
            page(30, PageKind.REPEAT, (1,), a0),
            page(60, PageKind.ESCALATION, (2,), e60),
            page(60, PageKind.REPEAT, (1, 2), e60),
            page(90, PageKind.REPEAT, (1, 2), e60),
            page(120, PageKind.ESCALATION, (3,), e120),
            page(120, PageKind.REPEAT, (1, 2, 3), e120),
        ],
    ),
    (
        "acknowledged at 40 s: silence after, even on ticks and a same-priority active",
        [(0, a0), (30, None), (40, ev(40, K)), (60, None), (90, None), (95, ev(95, A))],
        [page(0, PageKind.FIRST, (1,), a0), page(30, PageKind.REPEAT, (1,), a0)],
    ),
    (
        "acknowledged medium that worsens to high re-notifies, then repeats at the high rate",
        [(0, ev(0, A, MED)), (10, ev(10, K, MED)), (20, ev(20, A, HI)), (50, None), (79, None)],
        [
            page(0, PageKind.FIRST, (1,), ev(0, A, MED)),
            page(20, PageKind.WORSENED, (1,), ev(20, A, HI)),
            page(50, PageKind.REPEAT, (1,), ev(20, A, HI)),
        ],
    ),
    (
        "medium repeats every 60 s",
        [(0, ev(0, A, MED)), (59, None), (60, None), (120, None)],
        [
            page(0, PageKind.FIRST, (1,), ev(0, A, MED)),
            page(60, PageKind.REPEAT, (1,), ev(0, A, MED)),
            page(120, PageKind.REPEAT, (1,), ev(0, A, MED)),
        ],
    ),
    ("low priority is dashboard only", [(0, ev(0, A, LOW)), (600, None)], []),
    (
        "cleared stops repeats; a new episode pages again",
        [(0, a0), (10, ev(10, C)), (40, None), (50, ev(50, A, since=50)), (79, None)],
        [page(0, PageKind.FIRST, (1,), a0), page(50, PageKind.FIRST, (1,), ev(50, A, since=50))],
    ),
    (
        "resolved but latched keeps repeating until acknowledged",
        [(0, a0), (20, ev(20, R)), (30, None), (35, ev(35, K)), (60, None)],
        [page(0, PageKind.FIRST, (1,), a0), page(30, PageKind.REPEAT, (1,), ev(20, R))],
    ),
    (
        "latched at tier 3, then cleared by an acknowledgement: silence on every tier",
        [
            (0, a0),
            (20, ev(20, R)),
            (30, None),
            (60, ev(60, R, tier=2)),
            (60, None),
            (120, ev(120, R, tier=3)),
            (120, None),
            (130, ev(130, C, tier=3)),
            (150, None),
            (180, None),
            (240, None),
        ],
        [
            page(0, PageKind.FIRST, (1,), a0),
            page(30, PageKind.REPEAT, (1,), ev(20, R)),
            page(60, PageKind.ESCALATION, (2,), ev(60, R, tier=2)),
            page(60, PageKind.REPEAT, (1, 2), ev(60, R, tier=2)),
            page(120, PageKind.ESCALATION, (3,), ev(120, R, tier=3)),
            page(120, PageKind.REPEAT, (1, 2, 3), ev(120, R, tier=3)),
        ],
    ),
    (
        "a stall does not burst: one repeat, the next a full interval later",
        [(0, a0), (100, None), (101, None), (129, None), (130, None)],
        [
            page(0, PageKind.FIRST, (1,), a0),
            page(100, PageKind.REPEAT, (1,), a0),
            page(130, PageKind.REPEAT, (1,), a0),
        ],
    ),
    (
        "notify_failed: one page to every tier, never repeated, raised once",
        [
            (0, ev(0, A, condition=NOTIFY_FAILED)),
            (30, None),
            (31, ev(31, A, condition=NOTIFY_FAILED)),
        ],
        [page(0, PageKind.FIRST, (1, 2, 3), ev(0, A, condition=NOTIFY_FAILED))],
    ),
    (
        "two rooms are independent",
        [(0, a0), (5, ev(5, A, room="C", since=5)), (6, ev(6, K)), (30, None), (35, None)],
        [
            page(0, PageKind.FIRST, (1,), a0),
            page(5, PageKind.FIRST, (1,), ev(5, A, room="C", since=5)),
            page(35, PageKind.REPEAT, (1,), ev(5, A, room="C", since=5)),
        ],
    ),
]


@pytest.mark.parametrize(
    ("steps", "expected"), [(s, e) for _, s, e in TIMELINES], ids=[n for n, _, _ in TIMELINES]
)
def test_timeline(steps: list[Step], expected: list[Page]) -> None:
    policy = EscalationPolicy(REPEAT)
    pages: list[Page] = []
    for t, event in steps:
        pages += policy.tick(t) if event is None else policy.on_event(event)
    assert pages == expected


def test_acknowledged_alarm_is_no_longer_pending() -> None:
    policy = EscalationPolicy(REPEAT)
    policy.on_event(a0)
    assert policy.pending() == {("B", "spo2_low"): 30.0}
    policy.on_event(replace(a0, t=3, state=K))
    assert policy.pending() == {}
