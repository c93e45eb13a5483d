"""The patient's baseline: entered, derived at the dose mark, refused when pathological,
confirmed only with values; dropped with the session (the next person is not judged by it)."""

from __future__ import annotations

import pytest

from monitor.core.models import Control
from monitor.core.pipeline import RoomPipeline
from tests.core_helpers import bp, dosed, physiological, pr, run, spo2


def test_session_end_clears_alarms_and_drops_the_patients_relative_limits() -> None:
    p = dosed({"sbp": 120, "dbp": 80, "spo2": 98, "pulse_rate": 70}, escalation_after_s={})
    events = run(p, [*bp(100, 205, 100, 135), Control(200, "session_end", by="n")])
    assert physiological(events) == [
        (100, "bp_severe", "active"),
        (100, "bp_rise", "active"),
        (100, "bp_high", "active"),
        (100, "map_rise", "active"),
        (200, "bp_severe", "cleared"),
        (200, "bp_rise", "cleared"),
        (200, "bp_high", "cleared"),
        (200, "map_rise", "cleared"),
    ]
    assert p.active == {}
    # The next person on the devices before a new session is not judged against the last
    # patient's baseline: SpO2 93 is a 5-point drop from 98 but inside every absolute limit.
    events = run(p, [spo2(t, 93) for t in range(300, 400)])
    assert physiological(events) == []
    assert {c: [r["limit"] for r in rows] for c, rows in p.snapshot()["limits"].items()
            if any(r["relative"] for r in rows)} == {}  # fmt: skip


def test_a_dose_before_any_baseline_data_is_not_a_confirmed_baseline() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    run(p, [Control(0, "session_start", by="n"), Control(10, "dose", by="dr")])
    assert (p.baseline_status, p.session.baseline_confirmed_by, p.log[-1]["outcome"]) == (
        "none",
        None,
        "ok: no baseline data; enter a baseline for relative limits",
    )
    # Entering one afterwards confirms it and turns the relative limits on.
    run(p, [Control(20, "baseline", {"sbp": 120, "dbp": 80}, by="dr")])
    assert (p.baseline_status, p.session.baseline_confirmed_by) == ("confirmed", "dr")


def test_entering_bp_after_a_refused_baseline_keeps_the_derived_spo2_and_pulse() -> None:
    # Pathological BP refuses automatic relative limits; the clinician then enters BP values
    # only. The SpO2 and pulse baseline derived at the dose mark must survive.
    p = RoomPipeline("A", escalation_after_s={})
    items: list[object] = [Control(0, "session_start", by="n")]
    for t in range(1, 200):
        items += [spo2(t, 98), pr(t, 70)]
    items += [*bp(60, 170, 105, 127), *bp(150, 172, 104, 127), Control(200, "dose", by="dr")]
    run(p, items)  # type: ignore[arg-type]
    assert p.baseline_status == "refused"
    run(p, [Control(210, "baseline", {"sbp": 150, "dbp": 90}, by="dr")])
    assert (p.baseline_status, p.baseline.spo2, p.baseline.pulse_rate, p.baseline.sbp) == (
        "confirmed",
        98.0,
        70.0,
        150.0,
    )


@pytest.mark.parametrize("dose_first", [False, True])
def test_confirming_a_baseline_with_no_values_is_rejected(dose_first: bool) -> None:
    # The dashboard shows an 'entered' or 'confirmed' baseline as confirmed: with no data
    # there is nothing to confirm, and saying otherwise would hide the missing baseline.
    p = RoomPipeline("A", escalation_after_s={})
    items: list[object] = [Control(0, "session_start", by="n")]
    if dose_first:
        items.append(Control(5, "dose", by="dr"))
    items.append(Control(10, "confirm_baseline", by="dr"))
    run(p, items)  # type: ignore[arg-type]
    assert (p.baseline_status, p.session.baseline_confirmed_by, p.log[-1]["outcome"]) == (
        "none",
        None,
        "rejected: no baseline values to confirm",
    )


def test_entering_only_spo2_does_not_confirm_a_pathological_derived_bp() -> None:
    # "Pathological baseline: no relative limits are derived automatically; the clinician
    # must enter or confirm limits explicitly": a value entered for SpO2 confirms SpO2 only.
    p = RoomPipeline("A", escalation_after_s={})
    items: list[object] = [Control(0, "session_start", by="n")]
    items += [*bp(60, 170, 105, 127), *bp(150, 172, 104, 127)]
    items += [Control(160, "baseline", {"spo2": 97}, by="dr"), Control(200, "dose", by="dr")]
    run(p, items)  # type: ignore[arg-type]
    assert (p.baseline_status, p.baseline_refused, p.session.baseline_confirmed_by) == (
        "refused",
        ["SBP 171 ≥ 160", "DBP 104.5 ≥ 100"],
        None,
    )
    # Confirming explicitly turns the relative limits on.
    run(p, [Control(210, "confirm_baseline", by="dr")])
    assert (p.baseline_status, p.baseline.sbp, p.baseline.spo2) == ("confirmed", 171.0, 97.0)
