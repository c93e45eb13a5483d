"""Session phases, baseline capture, technical alarms, the BP schedule and discharge
readiness, as timelines through one room pipeline."""

from __future__ import annotations

from monitor.core.baseline import Baseline
from monitor.core.models import AlarmEvent, Control, DeviceState, Flag, LinkState
from monitor.core.pipeline import RoomPipeline
from monitor.core.schedule import BpRequest
from tests.core_helpers import bp, dosed, phases, pr, run, spo2, transitions


def vitals(t0: int, t1: int, step: int = 1, s: float = 97, p: float = 72) -> list:
    return [r for t in range(t0, t1, step) for r in (spo2(t, s), pr(t, p))]


def test_phases_through_a_whole_session_and_a_second_one() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [Control(0, "dose"), Control(1, "session_start", {"pseudonym": "K-17"}),
                     Control(100, "dose", by="dr"), 3700.0, Control(3800, "session_end", by="dr"),
                     Control(3900, "session_start")])  # fmt: skip
    assert phases(events) == [(1, "pre_dose"), (100, "dosed"), (3700, "recovery"),
                              (3800, "ended"), (3900, "pre_dose")]  # fmt: skip
    assert p.log[0]["outcome"] == "ignored: dose in phase idle"
    assert p.session.pseudonym is None and p.session.started_t == 3900  # a fresh session


def test_bp_baseline_median_of_readings_a_minute_apart_in_15_min() -> None:
    p = RoomPipeline("A")
    items: list = [Control(0, "session_start")]
    items += bp(50, 200, 100, 133)  # more than 15 min before the dose: not used
    items += bp(400, 118, 76, 90) + bp(700, 126, 82, 97) + bp(730, 140, 90, 107)
    items += vitals(600, 1000, 2) + [Control(1000, "dose", by="dr")]
    run(p, items)
    # From the latest back: 730 taken, 700 only 30 s earlier skipped, 400 taken.
    assert p.baseline == Baseline(spo2=97, pulse_rate=72, sbp=129, dbp=83, map=98.5)
    assert (p.baseline_status, p.session.baseline_confirmed_by) == ("confirmed", "dr")


def test_one_bp_reading_gives_no_bp_baseline() -> None:
    p = RoomPipeline("A")
    run(p, [Control(0, "session_start"), *bp(500, 120, 80, 93), Control(600, "dose")])
    assert (p.baseline.sbp, p.baseline.dbp, p.baseline.map) == (None, None, None)


def test_pathological_baseline_refuses_relative_limits_until_confirmed() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    run(p, [Control(0, "session_start"), *bp(100, 165, 95, 118), *bp(300, 167, 97, 120),
            Control(400, "dose", by="dr")])  # fmt: skip
    assert p.baseline_status == "refused"
    assert p.snapshot()["baseline_refused"] == ["SBP 166 ≥ 160"]
    assert [r.limit for r in p._rows_by_condition["bp_rise"]] == [None, None]
    assert p.log[-1]["outcome"] == "ok: baseline pathological, relative limits need confirmation"
    run(p, [Control(500, "confirm_baseline", by="dr_k")])
    assert (p.baseline_status, p.session.baseline_confirmed_by) == ("confirmed", "dr_k")
    assert [r.limit for r in p._rows_by_condition["bp_rise"]] == [160, 100]  # clamped


def test_explicit_baseline_overrides_the_derived_one() -> None:
    p = RoomPipeline("A")
    run(p, [Control(0, "session_start"), *vitals(0, 400, 2),
            Control(390, "baseline", {"spo2": 94, "sbp": 130, "dbp": 85}, by="dr"),
            Control(400, "dose", by="nurse")])  # fmt: skip
    assert p.baseline == Baseline(spo2=94, pulse_rate=72, sbp=130, dbp=85, map=100)
    assert p.session.baseline_confirmed_by == "dr"
    bad = p.control(Control(401, "baseline", {"spo2": "high"}))
    assert bad == [] and p.log[-1]["outcome"] == "rejected: spo2 is not a number"


def test_pre_dose_advisory_uses_the_age_adjusted_sbp_limit() -> None:
    cases = [(40, 145, 85, ["SBP 145 > 140: weigh the risk before dosing"]),
             (70, 145, 85, []),
             (70, 155, 92, ["SBP 155 > 150: weigh the risk before dosing",
                            "DBP 92 > 90: weigh the risk before dosing"])]  # fmt: skip
    for age, sbp_v, dbp_v, expected in cases:
        p = RoomPipeline("A")
        run(p, [Control(0, "session_start", {"age": age}), *bp(100, sbp_v, dbp_v, 100)])
        assert p.snapshot()["advisories"] == expected


def test_stale_channels_only_in_session_and_cleared_by_valid_data() -> None:
    idle = RoomPipeline("A")
    assert transitions(run(idle, [*vitals(0, 20), *[float(t) for t in range(20, 60)]])) == []
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [Control(0, "session_start"), *vitals(0, 20),
                     *[float(t) for t in range(20, 40)], *vitals(40, 42)])  # fmt: skip
    assert transitions(events) == [
        (29.0, "spo2_stale", "active"), (29.0, "pulse_rate_stale", "active"),
        (40.0, "spo2_stale", "cleared"), (40.0, "pulse_rate_stale", "cleared"),
    ]  # fmt: skip


def test_flagged_samples_are_not_valid_data() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [Control(0, "session_start"), *vitals(0, 5),
                     *[spo2(t, 70, Flag.MOTION) for t in range(5, 30)]])  # fmt: skip
    assert ("spo2_stale", "active") in [(c, s) for _, c, s in transitions(events)]
    assert "spo2_low" not in p.engine.current


def test_probe_off_low_then_medium_and_no_stale() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    items = [Control(0, "session_start"), *vitals(0, 10)]
    items += [r for t in range(10, 60) for r in (spo2(t, None, Flag.PROBE_OFF),
                                                 pr(t, None, Flag.PROBE_OFF))]  # fmt: skip
    items += vitals(60, 65)
    assert [(t, c, s, e.priority.value) for e in run(p, items) if isinstance(e, AlarmEvent)
            for t, c, s in [(e.t, e.condition, e.state.value)]] == [
        (10, "probe_off", "active", "low"), (40, "probe_off", "active", "medium"),
        (60, "probe_off", "cleared", "medium"),
    ]  # fmt: skip


def test_device_disconnected_after_10_s_and_it_explains_the_stale_data() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    items = [Control(0, "session_start"), *vitals(0, 20),
             DeviceState(20, "ox", LinkState.DISCONNECTED, "port closed"),
             *[float(t) for t in range(20, 45)],
             DeviceState(45, "ox", LinkState.CONNECTED), *vitals(46, 48)]  # fmt: skip
    assert transitions(run(p, items)) == [
        (30.0, "device_disconnected", "active"), (45, "device_disconnected", "cleared"),
    ]  # fmt: skip


def test_cuff_errors_and_implausible_readings_are_technical_not_readings() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    items = [Control(0, "session_start"), *bp(100, None, None, None, Flag.CUFF_ERROR),
             *bp(200, 120, 130, 125), *bp(300, 35, 20, 25), *bp(400, 120, 80, 93)]  # fmt: skip
    events = run(p, items)
    assert [(e.t, e.condition, e.state.value, e.reason) for e in events
            if isinstance(e, AlarmEvent) and e.condition == "cuff_error"] == [
        (100, "cuff_error", "active", "cuff reports cuff_error"),
        (400, "cuff_error", "cleared", "valid cuff reading"),
    ]  # fmt: skip
    assert [r.sbp for r in p.bp_readings] == [120] and p.rejected["bp"] == 3
    assert "bp_low" not in p.engine.current  # 35/20 was garbage, not hypotension


def test_cuff_failure_reasons() -> None:
    from monitor.core.conditioning import BpAssembler, CuffFailure

    cases = [((120, 130, 125), "implausible 120/130 mmHg (SBP ≤ DBP)"),
             ((35, 20, 25), "implausible 35/20 mmHg (outside 40–300)"),
             ((320, 90, 160), "implausible 320/90 mmHg (outside 40–300)")]  # fmt: skip
    for (s, d, m), reason in cases:
        a = BpAssembler()
        a.add(1, "sbp", s, frozenset(), "c")
        a.add(1, "dbp", d, frozenset(), "c")
        assert a.add(1, "map", m, frozenset(), "c") == [CuffFailure(1, reason, "c")]


def test_bp_without_map_is_completed_after_a_second_with_computed_map() -> None:
    p = RoomPipeline("A")
    run(p, [*bp(100, 120, 90), 100.5, 101.5])
    assert [(r.t, r.sbp, r.dbp, r.map, r.map_measured) for r in p.bp_readings] == [
        (100, 120, 90, 100, False)
    ]


def test_bp_schedule_requests_and_overdue_low_then_medium() -> None:
    p = dosed({"sbp": 120, "dbp": 80}, escalation_after_s={})
    events = run(p, [float(t) for t in range(2, 800)] + bp(800, 120, 80, 93))
    assert [(e.t, e.reason) for e in events if isinstance(e, BpRequest)] == [
        (301.0, "scheduled BP at 5 min")
    ]
    assert [(e.t, e.condition, e.state.value, e.priority.value) for e in events
            if isinstance(e, AlarmEvent) and e.condition == "bp_overdue"] == [
        (421.0, "bp_overdue", "active", "low"), (721.0, "bp_overdue", "active", "medium"),
        (800, "bp_overdue", "cleared", "medium"),
    ]  # fmt: skip


def test_bp_schedule_every_5_min_for_an_hour_then_every_15() -> None:
    p = dosed({"sbp": 120, "dbp": 80}, escalation_after_s={})
    requested = []
    for t in range(2, 6000):
        for e in p.tick(float(t)):
            if isinstance(e, BpRequest):
                requested.append(e.t - 1)
                run(p, bp(t + 0.5, 120, 80, 93))  # the cuff measures when asked
    assert requested == [300 * k for k in range(1, 13)] + [3600 + 900 * k for k in (1, 2)]
    assert "bp_overdue" not in p.engine.current


def test_pre_dose_requests_until_two_baseline_readings() -> None:
    p = RoomPipeline("A")
    events = run(p, [Control(0, "session_start"), *[float(t) for t in range(1, 100)],
                     *bp(100, 120, 80, 93), *[float(t) for t in range(101, 300)],
                     *bp(300, 121, 80, 93), *[float(t) for t in range(301, 600)]])  # fmt: skip
    assert [e.t for e in events if isinstance(e, BpRequest)] == [0, 90, 180, 270]


def test_discharge_ready_after_2_h_when_every_criterion_holds() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 72, "sbp": 120, "dbp": 80}, escalation_after_s={})
    items: list = []
    for t in range(2, 7400, 5):
        items += [spo2(t, 97), pr(t, 74)]
        if t % 300 == 297:
            items += bp(t, 125, 82, 96)
    items += [Control(7300, "discharge_review", by="dr_k")]
    events = run(p, items)
    assert phases(events) == [(3602, "recovery"), (7202, "discharge_ready")]
    assert transitions(events) == []
    assert p.session.discharge_reviewed_by == "dr_k"
    # An alarm takes readiness away again.
    events = run(p, [r for t in range(7400, 7440) for r in (spo2(t, 87), pr(t, 74))])
    # SpO2 below 94 % ends readiness at once; the alarm follows its 15-s delay.
    assert phases(events) == [(7401, "recovery")]
    assert p.snapshot()["discharge"]["unmet"] == [
        "alarms present: spo2_low",
        "SpO2 ≥ 94 % for 15 min: 87 % now",
    ]


def test_discharge_review_before_ready_is_refused_and_logged() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 72})
    p.control(Control(100, "discharge_review", by="dr"))
    assert p.session.discharge_reviewed_by is None
    assert p.log[-1]["outcome"].startswith("rejected: not ready for discharge")


def test_session_end_clears_alarms_with_who() -> None:
    p = RoomPipeline("A")
    run(p, [Control(0, "session_start"), *bp(10, 205, 100, 135)])
    events = run(p, [Control(20, "ack", {"condition": "bp_high"}, by="n"),
                     Control(30, "session_end", by="dr")])  # fmt: skip
    assert [(e.condition, e.state.value, e.by) for e in events
            if isinstance(e, AlarmEvent) and e.kind == "physiological"] == [
        ("bp_high", "acknowledged", "n"), ("bp_severe", "cleared", "dr"),
        ("bp_high", "cleared", "dr"),
    ]  # fmt: skip


def test_snapshot_keeps_the_old_keys_and_adds_the_new() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 72})
    run(p, [Control(5, "note", {"text": "patient calm"}, by="n"), Control(6, "audio_pause")])
    snap = p.snapshot()
    assert set(snap) == {
        "room", "phase", "dose_t", "latest", "smoothed", "baseline", "alarms",
        "audio_paused_until", "audio_pause_s", "devices", "baseline_status", "baseline_proposed",
        "baseline_refused", "advisories", "limits", "bp", "bp_due", "discharge", "session",
        "history", "log", "rejected",
    }  # fmt: skip
    assert snap["session"]["notes"] == [{"t": 5, "text": "patient calm", "by": "n"}]
    assert snap["audio_paused_until"] == 126 and snap["limits"]["spo2_drop"][0]["limit"] == 93
