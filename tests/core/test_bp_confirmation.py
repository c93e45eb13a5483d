"""Severe BP is confirmed by a second reading (clinical-defaults.md: "SBP ≥ 180 or DBP ≥ 110 on
two readings within 5 min"): which pairs confirm, and when a confirmation reading is asked for."""

from __future__ import annotations

import pytest

from monitor.core.pipeline import RoomPipeline
from monitor.core.schedule import BpRequest
from tests.core_helpers import bp, physiological, run

Cuff = tuple[float, float, float, float]

#: (name, cuff cycles (t, sbp, dbp, map), expected physiological transitions)
CONFIRMATION: list[tuple[str, list[Cuff], list[tuple[float, str, str]]]] = [
    # "SBP ≥ 180 or DBP ≥ 110 on two readings within 5 min": the condition, not one limit,
    # must hold on both readings, so SBP on one and DBP on the other confirms.
    ("sbp then dbp confirms", [(100, 185, 95, 125), (200, 170, 112, 131)],
     [(100, "bp_high", "active"), (200, "bp_severe", "active")]),
    ("dbp then sbp confirms", [(100, 150, 112, 125), (200, 184, 95, 125)],
     [(100, "bp_high", "active"), (200, "bp_severe", "active")]),
    # The same cycle delivered twice (equal timestamps) is one reading, not a confirmation.
    ("a repeated reading is not a confirmation", [(100, 185, 95, 125), (100, 185, 95, 125)],
     [(100, "bp_high", "active")]),
    # Safer reading of "two readings within 5 min": any two, a lower one between does not
    # reset the count (a severe reading followed by a normal one must not hide a third).
    ("two severe readings within 5 min with a lower one between",
     [(100, 185, 90, 120), (160, 170, 90, 117), (220, 185, 90, 120)],
     [(100, "bp_high", "active"), (220, "bp_severe", "active")]),
    ("outside 5 min still no confirmation",
     [(100, 185, 90, 120), (250, 150, 90, 110), (401, 185, 90, 120)],
     [(100, "bp_high", "active"), (250, "bp_high", "cleared"), (401, "bp_high", "active")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "cuff", "expected"), CONFIRMATION)
def test_bp_severe_confirmation(name: str, cuff: list[Cuff], expected: list[object]) -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [r for t, s, d, m in cuff for r in bp(t, s, d, m)])
    assert physiological(events) == expected


def test_confirmation_request_only_for_an_unconfirmed_severe_reading() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [r for c in [(100, 185, 90, 120), (160, 150, 90, 110)] for r in bp(*c)])
    assert [e for e in events if isinstance(e, BpRequest)] == [
        BpRequest(100, "A", "confirmation reading")
    ]
