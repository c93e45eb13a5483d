"""Clinical-correctness review of the core against clinical-defaults.md: the edge cases a
clinician cares about (confirmation, readings out of order or repeated, garbage values)."""

from __future__ import annotations

import pytest

from monitor.core.models import AlarmEvent, Reading
from monitor.core.pipeline import RoomPipeline
from monitor.core.schedule import BpRequest
from tests.core_helpers import bp, pr, run, spo2, transitions

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


def _physiological(events: list[object]) -> list[tuple[float, str, str]]:
    return transitions(e for e in events if isinstance(e, AlarmEvent) and e.kind == "physiological")


@pytest.mark.parametrize(("name", "cuff", "expected"), CONFIRMATION)
def test_bp_severe_confirmation(name: str, cuff: list[Cuff], expected: list[object]) -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [r for t, s, d, m in cuff for r in bp(t, s, d, m)])
    assert _physiological(events) == expected


def test_confirmation_request_only_for_an_unconfirmed_severe_reading() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [r for c in [(100, 185, 90, 120), (160, 150, 90, 110)] for r in bp(*c)])
    assert [e for e in events if isinstance(e, BpRequest)] == [
        BpRequest(100, "A", "confirmation reading")
    ]


#: Cuff cycles arriving late (an older reading after a newer one) or twice must not clear,
#: confirm or raise anything: the newest reading is the patient's state.
def test_an_older_cuff_reading_arriving_late_does_not_clear_a_severe_alarm() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [*bp(200, 210, 100, 137), *bp(100, 130, 80, 97)])
    assert _physiological(events) == [(200, "bp_severe", "active"), (200, "bp_high", "active")]
    assert [r.t for r in p.bp_readings] == [200]
    assert p.rejected["bp_out_of_order"] == 1


def test_an_older_oximeter_sample_is_not_evaluated() -> None:
    # SpO2 84 % from t=0: spo2_severe after 5 s. A late sample stamped before the dip must
    # not start (or shorten) the clearing delay.
    p = RoomPipeline("A", escalation_after_s={})
    items: list[Reading] = [spo2(t, 84) for t in range(0, 7)]
    items += [spo2(-30, 99)] * 6  # old buffered samples delivered late
    items += [spo2(7, 84)]
    events = run(p, items)
    assert _physiological(events) == [(5, "spo2_severe", "active")]
    assert p.smoothed["spo2"] == 84
    assert p.rejected["spo2_out_of_order"] == 6


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_inf_are_never_evaluated(bad: float) -> None:
    p = RoomPipeline("A", escalation_after_s={})
    items = [spo2(t, bad) for t in range(0, 30)] + [pr(t, bad) for t in range(0, 30)]
    items += [r for t in (100, 200) for r in bp(t, bad, 80, 100)]
    items += [r for t in (300, 400) for r in bp(t, 150, bad, 100)]
    items += [r for t in (500, 600) for r in bp(t, 150, 80, bad)]
    events = run(p, items)
    assert _physiological(events) == []
    assert p.smoothed == {}
    assert p.bp_readings == []
