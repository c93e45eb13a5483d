"""Simulator scenarios: the shapes the clinical rules are tested against, and fast-forward."""

from __future__ import annotations

import pytest

from drivers.contec import ContecLegacyDecoder, encode_legacy
from drivers.sim.scenarios import SCENARIOS, Vitals, scenario
from drivers.throttle import Throttled
from monitor.core.models import Flag

STEADY = {"wobble": False}
BASE = Vitals(spo2=97.0, pulse_rate=72.0, sbp=122.0, dbp=78.0)


def test_all_named_scenarios_exist() -> None:
    assert set(SCENARIOS) == {
        "steady",
        "post_dose_rise",
        "hypertensive_surge",
        "desaturation",
        "motion_artefact",
        "probe_off",
        "cuff_error",
        "disconnect_return",
        "hypoventilation",
        "apnea",
        "co2_line_blocked",
    }


def test_co2_line_blocked_scenario_zeroes_co2_numbers_inside_its_window_only() -> None:
    blocked = scenario(
        "co2_line_blocked", {**STEADY, "blocked_start_s": 10, "blocked_duration_s": 5}
    )
    got = [(v.co2_line_blocked, v.resp_rate, v.etco2, v.apnea, v.spo2)
           for v in map(blocked, (9, 10, 14, 15))]  # fmt: skip
    assert got == [
        (False, 14.0, 38.0, False, 97.0),
        (True, 0.0, 0.0, True, 97.0),
        (True, 0.0, 0.0, True, 97.0),
        (False, 14.0, 38.0, False, 97.0),
    ]


def test_hypoventilation_and_apnea_scenarios() -> None:
    hypo = scenario("hypoventilation")
    start, mid, late = hypo(60), hypo(240), hypo(500)
    assert (start.resp_rate, start.etco2, start.spo2 is not None and start.spo2 >= 96) == (
        14,
        38,
        True,
    )
    # Breathing is depressed (RR 6, EtCO2 58) while SpO2 has not yet fallen.
    assert (mid.resp_rate, mid.etco2) == (6, 58) and mid.spo2 is not None and mid.spo2 >= 95
    assert late.spo2 == 87
    pause = scenario("apnea", {"apnea_start_s": 10, "apnea_duration_s": 30, "spo2_lag_s": 5})
    assert (pause(5).apnea, pause(12).apnea, pause(12).resp_rate, pause(12).etco2) == (
        False,
        True,
        0.0,
        0.0,
    )
    assert pause(35).spo2 is not None and pause(35).spo2 < 90 and not pause(41).apnea


def test_post_dose_rise_peaks_at_40_min_with_13_over_9() -> None:
    s = scenario("post_dose_rise", STEADY)
    assert s(0) == BASE
    assert s(2400) == Vitals(spo2=97.0, pulse_rate=80.0, sbp=135.0, dbp=87.0)
    assert s(1200).sbp is not None and 122 < s(1200).sbp < 135
    assert s(5400) == BASE


def test_hypertensive_surge_adds_45_and_more_around_40_min() -> None:
    s = scenario("hypertensive_surge", STEADY)
    assert s(600) == BASE
    peak = s(2400)
    assert peak.sbp is not None and peak.sbp - 122 >= 45 and peak.dbp == 103
    assert scenario("hypertensive_surge", {**STEADY, "sbp_rise": 70})(2400).sbp == 192


@pytest.mark.parametrize(
    ("name", "at", "expected"),
    [
        ("desaturation", 250, Vitals(spo2=86.0, pulse_rate=84.0, perfusion_index=2.1)),
        (
            "motion_artefact",
            65,
            Vitals(spo2=84.0, pulse_rate=128.0, perfusion_index=0.4, motion=True),
        ),
        ("probe_off", 70, Vitals(spo2=None, pulse_rate=None, perfusion_index=None, probe_off=True)),
        ("cuff_error", 10, Vitals(cuff_error=True)),
        ("disconnect_return", 70, Vitals(connected=False)),
    ],
)
def test_event_scenarios_inside_and_after_their_window(
    name: str, at: float, expected: Vitals
) -> None:
    s = scenario(name, STEADY)
    assert s(at) == expected
    assert s(5000) == BASE


def test_speed_and_window_options_shorten_scenarios() -> None:
    assert scenario("post_dose_rise", {**STEADY, "speed": 600})(4.0).sbp == 135
    s = scenario("probe_off", {**STEADY, "probe_off_start_s": 1, "probe_off_duration_s": 2})
    assert [s(t).probe_off for t in (0.5, 1.5, 3.5)] == [False, True, False]
    with pytest.raises(ValueError, match="unknown scenario 'x'"):
        scenario("x")
    with pytest.raises(ValueError, match="speed"):
        scenario("steady", {"speed": 0})


def test_throttle_passes_changes_at_once_and_repeats_once_a_second() -> None:
    dec = Throttled(ContecLegacyDecoder(source="ox"))
    same = encode_legacy(72, 97) * 60
    assert len(dec.feed(same, 0.0)) == 2  # one pulse_rate + one spo2 for 60 identical packets
    assert dec.feed(same, 0.5) == []
    off = dec.feed(encode_legacy(None, None, probe_off=True), 0.6)
    assert [(r.channel, r.value, Flag.PROBE_OFF in r.status) for r in off] == [
        ("pulse_rate", None, True),
        ("spo2", None, True),
    ]
    assert len(dec.feed(encode_legacy(None, None, probe_off=True), 1.7)) == 2
    assert dec.frames == 122 and dec.protocol_id == "contec-5byte"
