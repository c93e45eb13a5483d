"""Readings the core never evaluates: late (older than one already seen), NaN or infinite
values and times, and a cuff's pulse rate (it is not the oximeter's)."""

from __future__ import annotations

import pytest

from monitor.core.models import Reading
from monitor.core.pipeline import RoomPipeline
from tests.core_helpers import bp, physiological, pr, run, spo2


#: Cuff cycles arriving late (an older reading after a newer one) or twice must not clear,
#: confirm or raise anything: the newest reading is the patient's state.
def test_an_older_cuff_reading_arriving_late_does_not_clear_a_severe_alarm() -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [*bp(200, 210, 100, 137), *bp(100, 130, 80, 97)])
    assert physiological(events) == [(200, "bp_severe", "active"), (200, "bp_high", "active")]
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
    assert physiological(events) == [(5, "spo2_severe", "active")]
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
    assert physiological(events) == []
    assert p.smoothed == {}
    assert p.bp_readings == []


@pytest.mark.parametrize("bad_t", [float("nan"), float("inf")])
def test_a_reading_with_a_nan_or_inf_time_is_rejected(bad_t: float) -> None:
    p = RoomPipeline("A", escalation_after_s={})
    events = run(p, [spo2(t, 98) for t in range(0, 5)] + [spo2(bad_t, 70), spo2(5, 98)])
    events += run(p, [*bp(bad_t, 210, 100, 137)])
    assert physiological(events) == []
    # One SpO2 sample and the three channels of one cuff cycle.
    assert (p.smoothed["spo2"], p.bp_readings, p.rejected["time"]) == (98, [], 4)


def _cuff_pressure(t: float, v: float, source: str = "cuff") -> Reading:
    return Reading(t, "cuff_pressure", v, "mmHg", frozenset(), source)


def test_a_cuffs_pulse_rate_during_inflation_never_feeds_the_oximeter_rules() -> None:
    # A BLE cuff's intermediate cuff pressure (2A36) carries a pulse rate on channel
    # pulse_rate before the cycle's first SBP: it must not smooth or alarm as oximeter pulse.
    p = RoomPipeline("A", escalation_after_s={})
    items: list[Reading] = []
    for t in range(0, 80):
        items += [_cuff_pressure(t, 120 + t), pr(t, 160, source="cuff")]
    events = run(p, items)
    assert physiological(events) == []
    assert "pulse_rate" not in p.smoothed


def test_a_configured_cuff_source_is_a_cuff_from_its_first_reading() -> None:
    # The runtime knows which sources are cuffs (device config): a cuff pulse rate that comes
    # before any pressure of that cuff is still the cuff's.
    p = RoomPipeline("A", escalation_after_s={}, cuff_sources=("cuff",))
    events = run(p, [pr(t, 160, source="cuff") for t in range(0, 80)])
    assert physiological(events) == []
    assert "pulse_rate" not in p.smoothed
