"""The technical alarm table (monitor/core/technical.py): one row per condition, priorities
as data, and the served vocabulary built from it."""

from __future__ import annotations

from alerts.message import CONDITION_LABELS
from monitor.core.controls import SessionStart
from monitor.core.models import DeviceState, LinkState, Priority, Reading
from monitor.core.pipeline import RoomPipeline
from monitor.core.policy import CorePolicy
from monitor.core.technical import (
    DEVICE_FAILED,
    EXTERNAL_TECHNICAL,
    PROBE_OFF,
    TECHNICAL,
    TECHNICAL_RULES,
    TIMED_RULES,
)
from monitor.rules_config import TECHNICAL_CONDITIONS
from tests.core_helpers import run, spo2


def test_every_row_has_one_id_a_label_and_a_served_name() -> None:
    ids = [r.id for r in TECHNICAL_RULES]
    assert len(ids) == len(set(ids)) == len(TECHNICAL)
    assert frozenset(ids) == TECHNICAL_CONDITIONS
    assert all(cid in CONDITION_LABELS for cid in ids)
    assert EXTERNAL_TECHNICAL == {
        "notify_failed": "high",
        "storage_degraded": "low",
        "journal_failed": "high",
        "hl7_out_down": "low",
    }
    assert all(r.check is not None for r in TIMED_RULES)


def test_priority_comes_from_the_row() -> None:
    policy = CorePolicy()
    after = policy.technical.probe_off_medium_after_s
    assert PROBE_OFF.priority_for(policy, True, after - 1) == Priority.LOW
    assert PROBE_OFF.priority_for(policy, True, after) == Priority.MEDIUM
    assert DEVICE_FAILED.priority_for(policy, True, 0) == Priority.MEDIUM
    assert DEVICE_FAILED.priority_for(policy, False, 0) == Priority.LOW


def test_device_failed_is_low_without_a_session_and_medium_in_one() -> None:
    p = RoomPipeline("A")
    events = p.device_state(DeviceState(1.0, "ox", LinkState.FAILED, "boom"))
    assert [(e.condition, e.priority) for e in events] == [("device_failed", Priority.LOW)]
    events = run(p, [SessionStart(2.0, by="n")])
    failed = [e for e in events if getattr(e, "condition", None) == "device_failed"]
    assert [(e.priority, e.state.value) for e in failed] == [(Priority.MEDIUM, "active")]


def test_probe_off_worsens_after_the_policy_setting() -> None:
    p = RoomPipeline("A")
    run(p, [SessionStart(0, by="n"), spo2(1, None, "probe_off")])
    assert p.active["probe_off"].priority == Priority.LOW
    run(p, [29.0, 30.0, 31.0])
    assert p.active["probe_off"].priority == Priority.MEDIUM


def test_what_a_row_watches_and_worsens_after_exists() -> None:
    room = RoomPipeline("A").tech
    policy = CorePolicy()
    for rule in TECHNICAL_RULES:
        if rule.watch:
            assert hasattr(room, rule.watch), rule.id
        if rule.worsens_to is not None:
            assert rule.priority_for(policy, True, 1e9) == rule.worsens_to, rule.id


def test_a_blocked_co2_line_is_a_row_low_outside_a_session_medium_in_one() -> None:
    p = RoomPipeline("A", resp_sources=["mon"])
    blocked = Reading(1.0, "etco2", 0.0, "mmHg", frozenset({"line_blocked"}), "mon")
    events = p.feed(blocked)
    assert [(e.condition, e.priority) for e in events] == [("co2_line_blocked", Priority.LOW)]
    events = run(p, [SessionStart(2.0, by="n")])
    alarms = [e for e in events if getattr(e, "condition", None) == "co2_line_blocked"]
    assert [(e.priority, e.state.value) for e in alarms] == [(Priority.MEDIUM, "active")]
    clear = Reading(3.0, "etco2", 38.0, "mmHg", frozenset(), "mon")
    assert [
        e.state.value for e in p.feed(clear) if getattr(e, "condition", "") == "co2_line_blocked"
    ] == ["cleared"]
