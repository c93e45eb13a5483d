"""A rule change while a room runs (the admin page): RoomPipeline.set_policy on timelines."""

from __future__ import annotations

from monitor.core.models import AlarmEvent
from monitor.core.pipeline import RoomPipeline
from monitor.rules_config import RulesConfig
from tests.core_helpers import run, spo2, transitions


def rules(**conditions: dict[str, object]) -> RulesConfig:
    return RulesConfig(conditions=conditions)


STRICT = {"delay_s": 0.0, "limits": [{"channel": "spo2", "comparator": "<", "absolute": 95.0}]}


def test_a_stricter_limit_raises_from_the_next_reading() -> None:
    p = RoomPipeline("A", policy=rules().to_core())
    assert transitions(run(p, [spo2(t, 93) for t in range(0, 20)])) == []  # default limit 90
    assert p.set_policy(rules(spo2_low=STRICT).to_core(), 20.0) == []
    out = run(p, [spo2(21, 93)])
    assert transitions(out) == [(21, "spo2_low", "active")]
    (alarm,) = [e for e in out if isinstance(e, AlarmEvent)]
    assert alarm.limit == 95


def test_unchanged_rules_keep_their_state_and_a_disabled_one_is_lowered() -> None:
    p = RoomPipeline("A", policy=rules(spo2_low=STRICT).to_core())
    assert transitions(run(p, [spo2(0, 93), spo2(1, 93)])) == [(0, "spo2_low", "active")]
    # Another condition changes: spo2_low keeps its row, so its alarm stays (no clear, no
    # second raise, no new delay).
    changed = rules(spo2_low=STRICT, hr_high={"delay_s": 30.0})
    assert transitions(p.set_policy(changed.to_core(), 2.0)) == []
    assert transitions(run(p, [spo2(3, 93)])) == []
    assert p.active["spo2_low"].state.value == "active"
    # Disabled: the alarm ends at once (medium priority does not latch), said why.
    off = rules(spo2_low={**STRICT, "enabled": False}, hr_high={"delay_s": 30.0})
    out = p.set_policy(off.to_core(), 4.0)
    assert transitions(out) == [(4.0, "spo2_low", "cleared")]
    assert [e.reason for e in out if isinstance(e, AlarmEvent)] == ["rule changed by an admin"]
    assert transitions(run(p, [spo2(t, 80) for t in range(5, 40)])) == [
        (11, "spo2_severe", "active")  # the others still watch (smoothed, then 5 s delay)
    ]


def test_a_changed_rule_in_alarm_is_judged_again_under_its_new_delay() -> None:
    p = RoomPipeline("A", policy=rules(spo2_low=STRICT).to_core())
    run(p, [spo2(0, 93)])
    slower = rules(spo2_low={**STRICT, "delay_s": 10.0})
    assert transitions(p.set_policy(slower.to_core(), 1.0)) == [(1.0, "spo2_low", "cleared")]
    assert transitions(run(p, [spo2(t, 93) for t in range(2, 14)])) == [(12, "spo2_low", "active")]
