"""Re-dosing (top-up doses) and discharge review outcomes, as timelines through one room
pipeline (issue #13 items 1 and 2)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.core.controls import Control, Dose, SessionEnd, SessionStart, control_from_dict
from monitor.core.pipeline import RoomPipeline
from monitor.core.schedule import BpRequest
from tests.core_helpers import bp, dosed, phases, pr, run, spo2

BASE: dict[str, float] = {"spo2": 97, "pulse_rate": 72, "sbp": 120, "dbp": 80}


def steady(t0: int, t1: int, step: int = 5) -> list[Any]:
    """Calm vitals, and a normal BP every 5 min (so the schedule never runs late)."""
    items: list[Any] = []
    for t in range(t0, t1, step):
        items += [spo2(t, 97), pr(t, 74)]
        if t % 300 < step:
            items += bp(t, 122, 80, 94)
    return items


def test_a_top_up_is_recorded_and_the_schedule_follows_it_the_baseline_stays() -> None:
    p = dosed(BASE, escalation_after_s={})
    baseline = p.baseline
    events = run(p, [*steady(2, 1200),
                     Dose(1200, route="IM", amount_mg=25, by="dr")])  # fmt: skip
    assert p.log[-1]["outcome"] == "ok: top-up dose 2; BP schedule restarted"
    assert p.session.doses == [
        {"t": 1, "by": "dr"},
        {"t": 1200, "by": "dr", "route": "IM", "amount_mg": 25.0},
    ]
    assert (p.session.dose_t, p.session.last_dose_t) == (1, 1200)
    assert p.baseline == baseline and p.baseline_status == "confirmed"
    # The next BP slot is 5 min after the top-up, not after the first dose.
    assert p.snapshot().to_dict()["bp_due"] == 1500
    events = run(p, [float(t) for t in range(1201, 1600)])
    assert [e.t for e in events if isinstance(e, BpRequest)] == [1500]


def test_the_acute_window_and_the_discharge_clock_restart_at_a_top_up() -> None:
    p = dosed(BASE, escalation_after_s={})
    events = run(p, [*steady(2, 3700)])
    assert phases(events) == [(3602, "recovery")]
    # A top-up in recovery: back to the acute window, one hour from the top-up.
    events = run(p, [Dose(4000, route="SL", by="dr"), *steady(4000, 7700)])
    assert phases(events) == [(4000, "dosed"), (7600, "recovery")]
    # 2 h after the first dose is not enough: the criterion counts from the last dose.
    assert p.snapshot().to_dict()["discharge"]["unmet"] == [
        "2 h since the last dose: 1 h 1 min so far"
    ]
    events = run(p, steady(7700, 11300))
    assert phases(events) == [(11200, "discharge_ready")]


@pytest.mark.parametrize(
    ("phase_items", "args", "outcome"),
    [
        ([], {}, "ignored: dose in phase idle"),
        ([SessionStart(0)], {"route": "rectal"},
         "rejected: route 'rectal' is not one of IV, IM, SL, IN, PO"),
        ([SessionStart(0)], {"amount_mg": 0},
         "rejected: amount_mg 0 is not a dose in mg (0–1000)"),
        ([SessionStart(0)], {"amount_mg": float("nan")},
         "rejected: amount_mg nan is not a dose in mg (0–1000)"),
        ([SessionStart(0)], {"amount_mg": True},
         "rejected: amount_mg True is not a dose in mg (0–1000)"),
        ([SessionStart(0), Dose(1, by="dr")], {},
         "ignored: a dose was marked less than 60 s ago by dr"),
        ([SessionStart(0), Dose(1, by="dr"),
          SessionEnd(20, by="dr")], {}, "ignored: dose in phase ended"),
    ],
)  # fmt: skip
def test_dose_marks_that_are_refused(
    phase_items: list[Control], args: dict[str, Any], outcome: str
) -> None:
    p = RoomPipeline("A", escalation_after_s={})
    run(p, phase_items)
    doses_before = list(p.session.doses)
    run(p, [control_from_dict({"t": 30, "event": "dose", "args": args, "by": "dr"})])
    assert p.log[-1]["outcome"] == outcome
    assert p.session.doses == doses_before


def test_an_ended_room_has_nothing_running() -> None:
    p = dosed(BASE, escalation_after_s={})
    run(p, [*steady(2, 500), SessionEnd(600, by="dr")])
    snap = p.snapshot().to_dict()
    assert (snap["phase"], snap["bp_due"], p.schedule) == ("ended", None, None)
    assert snap["discharge"]["criteria"] == [] and snap["alarms"] == []


def review(p: RoomPipeline, t: float, **args: Any) -> str:
    p.control(control_from_dict({"t": t, "event": "discharge_review", "args": args, "by": "dr_k"}))
    return str(p.log[-1]["outcome"])


def test_discharge_review_outcomes_before_the_criteria_are_met() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    run(p, [SessionStart(0)])
    assert review(p, 1, outcome="not_ready") == "ignored: no discharge review in phase pre_dose"
    p = dosed(BASE, escalation_after_s={})
    run(p, steady(2, 600))
    out = review(p, 600, outcome="ready")
    assert out.startswith("rejected: not ready for discharge (2 h since the dose: 9 min so far")
    assert out.endswith("record not ready, or a clinician override with a reason")
    assert review(p, 601, outcome="override") == "rejected: an override needs a reason"
    assert review(p, 602, outcome="maybe") == (
        "rejected: outcome 'maybe' is not one of ready, not_ready, override"
    )
    assert p.session.discharge_reviews == [] and p.session.discharge_outcome is None
    assert review(p, 603, outcome="not_ready", reason="still dissociated") == "ok"
    assert p.session.discharge_outcome is None
    out = review(p, 604, outcome="override", reason="transfer to ward with escort")
    assert out == "ok: override of 2 unmet criteria"
    reviews = p.snapshot().to_dict()["discharge"]["reviews"]
    assert [(r["t"], r["outcome"], r.get("reason"), len(r["unmet"])) for r in reviews] == [
        (603, "not_ready", "still dissociated", 2),
        (604, "override", "transfer to ward with escort", 2),
    ]
    snap = p.snapshot().to_dict()["discharge"]
    assert (snap["outcome"], snap["reviewed_by"], snap["reviewed_t"]) == ("override", "dr_k", 604)
    # A later "not ready" withdraws the clearance; so does a top-up dose.
    assert review(p, 710, outcome="not_ready") == "ok"
    assert p.session.discharge_outcome is None
    review(p, 720, outcome="override", reason="x")
    run(p, [Dose(800, by="dr")])
    assert (p.session.discharge_outcome, p.session.discharge_reviewed_by) == (None, None)


def test_discharge_review_ready_once_every_criterion_holds_old_form_too() -> None:
    p = dosed(BASE, escalation_after_s={})
    run(p, steady(2, 7300))
    assert p.phase == "discharge_ready"
    assert review(p, 7300, ready=True, text="fit") == "ok"
    assert p.session.discharge_reviews[-1] == {
        "t": 7300, "by": "dr_k", "outcome": "ready", "unmet": [], "reason": "fit",
    }  # fmt: skip
    assert review(p, 7301, ready=False) == "ok"
    assert p.session.discharge_reviews[-1]["outcome"] == "not_ready"


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.1, 0.3, 0.7, 0.999])
def test_recovery_begins_at_the_first_tick_past_the_acute_window_whatever_the_fractions(
    fraction: float,
) -> None:
    """The phases are looked at only from the time they can change (`phase_due`): never a
    tick late, wherever the dose and the ticks fall within a second (a sum and a difference
    of float times may round apart)."""
    p = RoomPipeline("A", escalation_after_s={})
    dose_t = 600 + fraction
    run(p, [SessionStart(0, by="n"), Dose(dose_t, by="dr")])
    ticks = [600 + fraction + k + 0.999 * fraction for k in range(3590, 3610)]
    events = run(p, [t for t in range(1, 3000, 100)] + ticks)
    expected = next(t for t in ticks if t - dose_t >= p.policy.recovery_after_s)
    assert phases(events) == [(expected, "recovery")]
