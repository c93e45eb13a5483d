"""Every default rule as a table-driven timeline: (inputs) -> expected transitions.

Continuous episodes: the channel sits at `level` for t in [100, end) at 1 Hz and is normal
otherwise; the 5-s median turns at start + 2 and end + 2 (third sample of five), so a rule
with delay d becomes active at 102 + d and clears (or, high, resolves) at end + 2 + d.
"""

from __future__ import annotations

import pytest

from monitor.core.models import AlarmEvent, Control
from monitor.core.pipeline import RoomPipeline
from monitor.core.rules import DEFAULT_RULES, Rule, back_inside, violates
from monitor.core.schedule import BpRequest
from tests.core_helpers import bp, dosed, pr, run, spo2, transitions


def episode(channel: str, level: float, end: int, normal: float, total: int = 300) -> list:
    items = []
    for t in range(2, total):
        v = level if 100 <= t < end else normal
        items.append(spo2(t, v if channel == "spo2" else 97))
        items.append(pr(t, v if channel == "pulse_rate" else 72))
    return items


CONTINUOUS = [
    # id, channel, level, end, baseline (None: idle room, absolute limits only), expected
    ("spo2_low", "spo2", 88, 160, None,
     [(117, "spo2_low", "active"), (177, "spo2_low", "cleared")]),
    ("spo2_severe", "spo2", 84, 160, None,
     [(107, "spo2_severe", "active"), (117, "spo2_low", "active"),
      (167, "spo2_severe", "resolved"), (177, "spo2_low", "cleared")]),
    # Rapid desaturation: 79 is 11 points below spo2_low's 90, so spo2_low's 15-s delay is
    # cut to 5 s (it raises with spo2_severe); clearing keeps the full delay.
    ("rapid desat cuts the spo2_low delay", "spo2", 79, 160, None,
     [(107, "spo2_severe", "active"), (107, "spo2_low", "active"),
      (167, "spo2_severe", "resolved"), (177, "spo2_low", "cleared")]),
    ("81 is not rapid: spo2_low keeps its delay", "spo2", 81, 160, None,
     [(107, "spo2_severe", "active"), (117, "spo2_low", "active"),
      (167, "spo2_severe", "resolved"), (177, "spo2_low", "cleared")]),
    ("spo2_drop", "spo2", 92, 200, {"spo2": 97, "pulse_rate": 72},
     [(162, "spo2_drop", "active"), (262, "spo2_drop", "cleared")]),
    ("spo2_drop clamped to the 90 floor", "spo2", 90, 200, {"spo2": 93, "pulse_rate": 72},
     [(162, "spo2_drop", "active"), (262, "spo2_drop", "cleared")]),
    ("hr_high absolute", "pulse_rate", 125, 200, None,
     [(162, "hr_high", "active"), (262, "hr_high", "cleared")]),
    ("hr_high baseline + 30", "pulse_rate", 105, 200, {"spo2": 97, "pulse_rate": 72},
     [(162, "hr_high", "active"), (262, "hr_high", "cleared")]),
    ("hr_high relative clamped to 120", "pulse_rate", 120, 200, {"spo2": 97, "pulse_rate": 95},
     [(162, "hr_high", "active"), (262, "hr_high", "cleared")]),
    ("hr_severe_high", "pulse_rate", 155, 150, None,
     [(112, "hr_severe_high", "active"), (162, "hr_severe_high", "resolved")]),
    ("hr_low", "pulse_rate", 45, 160, None,
     [(112, "hr_low", "active"), (172, "hr_low", "cleared")]),
    ("hr_severe_low", "pulse_rate", 35, 160, None,
     [(112, "hr_low", "active"), (112, "hr_severe_low", "active"),
      (172, "hr_low", "cleared"), (172, "hr_severe_low", "resolved")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "channel", "level", "end", "baseline", "expected"), CONTINUOUS)
def test_continuous_rule_timeline(
    name: str, channel: str, level: float, end: int, baseline: dict[str, float] | None,
    expected: list[tuple[float, str, str]],
) -> None:  # fmt: skip
    p = (
        dosed(baseline, escalation_after_s={})
        if baseline
        else RoomPipeline("A", escalation_after_s={})
    )
    normal = (baseline or {}).get(channel) or (97 if channel == "spo2" else 72)
    events = run(p, episode(channel, level, end, normal))
    if baseline:  # technical alarms are not what this table is about
        events = [e for e in events if not isinstance(e, AlarmEvent) or e.kind == "physiological"]
    assert transitions(events) == expected


def test_relative_limit_is_clamped_and_reported() -> None:
    p = dosed({"spo2": 93, "pulse_rate": 72})
    active = [e for e in run(p, episode("spo2", 90, 200, 93)) if isinstance(e, AlarmEvent)]
    assert (active[0].condition, active[0].limit, active[0].baseline) == ("spo2_drop", 90, 93)


BASE = {"sbp": 120, "dbp": 80}  # MAP baseline 93.3 → map_rise at 112
EPISODIC = [
    # name, baseline (None: idle), cuff readings (t, sbp, dbp, map), expected transitions
    ("bp_high on the reading, cleared 5 below", None,
     [(100, 165, 85, 100), (400, 158, 85, 100), (700, 154, 80, 95)],
     [(100, "bp_high", "active"), (700, "bp_high", "cleared")]),
    ("bp_rise on sbp, no bp_high", {"sbp": 110, "dbp": 70},
     [(100, 152, 80, 95), (400, 140, 75, 92)],
     [(100, "bp_rise", "active"), (400, "bp_rise", "cleared")]),
    ("bp_rise on dbp", {"sbp": 110, "dbp": 70},
     [(100, 130, 96, 98), (400, 125, 88, 95)],
     [(100, "bp_rise", "active"), (400, "bp_rise", "cleared")]),
    ("bp_rise clamped to the bp_high ceiling", {"sbp": 125, "dbp": 80},
     [(100, 161, 80, 98)],
     [(100, "bp_rise", "active"), (100, "bp_high", "active")]),
    ("map_rise at 1.2 x baseline MAP", BASE,
     [(100, 135, 95, 113), (400, 125, 85, 100)],
     [(100, "map_rise", "active"), (400, "map_rise", "cleared")]),
    ("bp_low on sbp", None, [(100, 85, 55, 66), (400, 100, 60, 73)],
     [(100, "bp_low", "active"), (400, "bp_low", "cleared")]),
    ("bp_low on map", None, [(100, 95, 50, 62), (400, 110, 70, 83)],
     [(100, "bp_low", "active"), (400, "bp_low", "cleared")]),
    ("bp_severe confirmed by a second reading within 5 min", None,
     [(100, 185, 90, 120), (220, 186, 92, 121), (520, 150, 80, 100)],
     [(100, "bp_high", "active"), (220, "bp_severe", "active"),
      (520, "bp_severe", "resolved"), (520, "bp_high", "cleared")]),
    ("bp_severe on dbp 110 confirmed", None,
     [(100, 150, 112, 125), (200, 150, 111, 124)],
     [(100, "bp_high", "active"), (200, "bp_severe", "active")]),
    ("bp_severe at once at 200", None, [(100, 205, 100, 135)],
     [(100, "bp_severe", "active"), (100, "bp_high", "active")]),
    ("bp_severe at once at dbp 120", None, [(100, 170, 121, 137)],
     [(100, "bp_severe", "active"), (100, "bp_high", "active")]),
    ("no confirmation outside the 5-min window", None,
     [(100, 185, 90, 120), (401, 185, 90, 120)],
     [(100, "bp_high", "active")]),
    ("a lower reading in between does not reset the confirmation", None,
     [(100, 185, 90, 120), (160, 170, 90, 117), (220, 185, 90, 120)],
     [(100, "bp_high", "active"), (220, "bp_severe", "active")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "baseline", "cuff", "expected"), EPISODIC)
def test_episodic_rule_timeline(
    name: str, baseline: dict[str, float] | None, cuff: list[tuple[float, float, float, float]],
    expected: list[tuple[float, str, str]],
) -> None:  # fmt: skip
    p = (
        dosed(baseline, escalation_after_s={})
        if baseline
        else RoomPipeline("A", escalation_after_s={})
    )
    items = [r for t, s, d, m in cuff for r in bp(t, s, d, m)]
    events = run(p, items)
    assert (
        transitions(e for e in events if not isinstance(e, AlarmEvent) or e.kind == "physiological")
        == expected
    )


def test_first_severe_reading_asks_the_cuff_for_a_confirmation() -> None:
    p = RoomPipeline("A")
    events = run(p, bp(100, 185, 90, 120))
    assert [e for e in events if isinstance(e, BpRequest)] == [
        BpRequest(100, "A", "confirmation reading")
    ]


def test_every_default_condition_has_a_timeline() -> None:
    from tests.core.test_respiration import RESPIRATION

    covered = {row[0].split()[0] for row in CONTINUOUS} | {
        c for row in EPISODIC + RESPIRATION for _, c, _ in row[-1]
    }
    assert {r.id for r in DEFAULT_RULES} <= covered


@pytest.mark.parametrize(
    ("comparator", "value", "limit", "margin", "violated", "inside"),
    [
        ("<", 89, 90, 1, True, False),
        ("<", 90, 90, 1, False, False),  # not violating, but not back inside by the margin
        ("<", 91, 90, 1, False, True),
        ("<=", 85, 85, 1, True, False),
        (">=", 160, 160, 5, True, False),
        (">=", 156, 160, 5, False, False),
        (">=", 155, 160, 5, False, True),
        (">", 120, 120, 5, False, False),
        (">", 121, 120, 0, True, False),
        (">", 120, 120, 0, False, True),
    ],
)
def test_comparators_and_hysteresis(
    comparator: str, value: float, limit: float, margin: float, violated: bool, inside: bool
) -> None:
    assert (violates(comparator, value, limit), back_inside(comparator, value, limit, margin)) == (
        violated,
        inside,
    )


def test_relative_rows_stay_off_without_a_confirmed_baseline() -> None:
    p = RoomPipeline("A")
    run(p, [Control(0, "session_start")])
    assert [r.limit for r in p._rows_by_condition["bp_rise"]] == [None, None]
    rule = Rule("x", "sbp", DEFAULT_RULES[0].priority, ">=", offset=40, clamp=160)
    assert (rule.limit(None), rule.limit(110), rule.limit(130)) == (None, 150, 160)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"comparator": "=="},
        {"absolute": None},
        {"absolute": 1.0, "offset": 2.0},
        {"absolute": None, "offset": 1.0, "factor": 1.1},
        {"confirm_count": 2},
        {"delay_s": -1},
    ],
)
def test_rule_rejects_inconsistent_rows(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"id": "x", "channel": "sbp", "priority": "high",
                               "comparator": ">=", "absolute": 180.0}  # fmt: skip
    with pytest.raises(ValueError, match="rule x"):
        Rule(**(base | kwargs))  # type: ignore[arg-type]
