"""Room pipeline timelines: (t, input) -> expected transitions. Pure, no clock."""

from __future__ import annotations

from monitor.core.models import AlarmEvent, AlarmState, Control, Flag, PhaseEvent, Reading
from monitor.core.pipeline import RoomPipeline


def spo2(t: float, v: float | None, *flags: str) -> Reading:
    return Reading(t=t, channel="spo2", value=v, unit="%", status=frozenset(flags))


def pr(t: float, v: float) -> Reading:
    return Reading(t=t, channel="pulse_rate", value=v, unit="bpm")


def run(p: RoomPipeline, items: list[Reading | Control]) -> list[AlarmEvent | PhaseEvent]:
    out: list[AlarmEvent | PhaseEvent] = []
    for item in items:
        out += p.control(item) if isinstance(item, Control) else p.feed(item)
    return out


def alarms(events: list[AlarmEvent | PhaseEvent]) -> list[tuple[float, str, AlarmState]]:
    return [(e.t, e.condition, e.state) for e in events if isinstance(e, AlarmEvent)]


def test_desaturation_alarms_after_15_s_and_clears_after_15_s_back() -> None:
    p = RoomPipeline("A")
    items: list[Reading | Control] = [spo2(t, 97) for t in range(0, 60)]
    items += [spo2(t, 86) for t in range(60, 120)]
    items += [spo2(t, 97) for t in range(120, 180)]
    events = run(p, items)
    # The 5-s median (samples in (t-5, t]) is low from t=62 (3 of 5 low); +15 s -> 77.
    # Back up: median >= 91 from t=122; +15 s -> cleared at 137.
    assert alarms(events) == [
        (77.0, "spo2_low", AlarmState.ACTIVE),
        (137.0, "spo2_low", AlarmState.CLEARED),
    ]
    active = next(e for e in events if isinstance(e, AlarmEvent))
    assert active.value == 86 and active.limit == 90 and active.priority == "medium"


def test_three_second_artefact_dip_gives_nothing() -> None:
    p = RoomPipeline("A")
    items = [spo2(t, 80 if 30 <= t < 33 else 97) for t in range(0, 90)]
    assert alarms(run(p, items)) == []


def test_probe_off_and_flagged_samples_never_alarm() -> None:
    p = RoomPipeline("A")
    items = [spo2(t, 97) for t in range(0, 20)]
    items += [spo2(t, None, Flag.PROBE_OFF) for t in range(20, 80)]
    items += [spo2(t, 70, Flag.MOTION) for t in range(80, 140)]
    assert alarms(run(p, items)) == []
    assert p.latest["spo2"].status == {Flag.MOTION}


def test_baseline_from_pre_dose_window() -> None:
    p = RoomPipeline("A")
    items: list[Reading | Control] = [Control(0, "session_start")]
    for t in range(0, 400):
        items += [spo2(t, 96 if t < 200 else 98), pr(t, 70)]
    items.append(Control(400, "dose"))
    events = run(p, items)
    assert [(e.t, e.phase) for e in events if isinstance(e, PhaseEvent)] == [
        (0, "pre_dose"),
        (400, "dosed"),
    ]
    # Last 5 min before the dose: t 100..399 -> 100 samples of 96 and 200 of 98.
    assert p.baseline.spo2 == 98 and p.baseline.pulse_rate == 70


def test_no_baseline_without_two_minutes_of_data() -> None:
    p = RoomPipeline("A")
    run(p, [spo2(t, 97) for t in range(0, 60)] + [Control(60, "dose")])
    assert p.baseline.spo2 is None


def test_acknowledge_marks_who_and_clear_follows() -> None:
    p = RoomPipeline("A")
    events = run(p, [spo2(t, 87) for t in range(0, 30)])
    assert alarms(events) == [(15.0, "spo2_low", AlarmState.ACTIVE)]
    acked = p.control(Control(25.0, "ack", {"condition": "spo2_low"}, by="nurse1"))
    assert [(e.state, e.by, e.since) for e in acked if isinstance(e, AlarmEvent)] == [
        (AlarmState.ACKNOWLEDGED, "nurse1", 15.0)
    ]
    assert p.control(Control(26.0, "ack", {"condition": "spo2_low"}, by="nurse2")) == []
    events = run(p, [spo2(t, 97) for t in range(30, 60)])
    assert alarms(events) == [(47.0, "spo2_low", AlarmState.CLEARED)]


def test_unacknowledged_alarm_escalates_through_tiers_and_ack_stops_it() -> None:
    p = RoomPipeline("A", escalation_after_s={"medium": [10.0, 20.0]})
    run(p, [spo2(t, 87) for t in range(0, 16)])  # active at t=15
    escalations = []
    for now in range(16, 50):
        escalations += [
            (e.t, e.state, e.tier) for e in p.tick(float(now)) if isinstance(e, AlarmEvent)
        ]
    assert escalations == [(25.0, AlarmState.ESCALATED, 2), (35.0, AlarmState.ESCALATED, 3)]
    p2 = RoomPipeline("A", escalation_after_s={"medium": [10.0, 20.0]})
    run(p2, [spo2(t, 87) for t in range(0, 16)])
    p2.control(Control(20.0, "ack", {"condition": "spo2_low"}, by="n"))
    assert [e for now in range(20, 60) for e in p2.tick(float(now))] == []
