"""Discharge readiness (clinical-defaults.md): each criterion at its exact boundary, and
what a met or unmet criterion says."""

from __future__ import annotations

import pytest

from monitor.core.baseline import Baseline
from monitor.core.conditioning import BpReading
from monitor.core.discharge import discharge_criteria, unmet_criteria
from monitor.core.policy import DischargePolicy

#: Discharge readiness, each criterion at its exact boundary (clinical-defaults.md: ≥ 2 h;
#: no alarm; last two BP within 20 % of baseline or below 140/90; SpO2 ≥ 94 % or ≥ baseline
#: − 2 for 15 min; pulse within 20 % of baseline). Baseline 120/80, SpO2 98, pulse 70. Each
#: unmet criterion says what the data shows (issue #13: "not at target" after 5 min of 97 %).
_OK = {
    "now": 7201.0,
    "alarms": [],
    "bp": [(140, 96), (144, 96)],
    "ok_since": 6301.0,
    "pr": 84.0,
    "spo2_now": 97.0,
    "base": Baseline(spo2=98, pulse_rate=70, sbp=120, dbp=80, map=93.3),
}
_NO_BASE = Baseline()
DISCHARGE: list[tuple[str, dict[str, object], list[str]]] = [
    ("every criterion exactly at its limit", {}, []),
    ("1 s short of 2 h", {"now": 7200.0, "ok_since": 6300.0},
     ["2 h since the dose: 1 h 59 min so far"]),
    ("an acknowledged alarm still counts", {"alarms": ["bp_high"]},
     ["alarms present: bp_high"]),
    ("SBP 20 % + 1 above baseline", {"bp": [(140, 96), (145, 96)]},
     ["last two BP 140/96, 145/96: 145/96 neither below 140/90 nor within 20 % of baseline "
      "120/80"]),
    ("below 140/90 is fine however far from baseline", {"bp": [(139, 89), (95, 60)]}, []),
    ("only one BP reading", {"bp": [(120, 80)]},
     ["last two BP readings below 140/90 or within 20 % of baseline 120/80: only 1 reading "
      "(120/80) so far"]),
    ("no BP reading", {"bp": []},
     ["last two BP readings below 140/90 or within 20 % of baseline 120/80: no reading so far"]),
    ("SpO2 at target 1 s short of 15 min", {"ok_since": 6302.0},
     ["SpO2 ≥ 94 % for 14 of the last 15 min of data so far"]),
    ("5 min of steady 97 %", {"ok_since": 6901.0},
     ["SpO2 ≥ 94 % for 5 of the last 15 min of data so far"]),
    ("SpO2 below target now", {"ok_since": None, "spo2_now": 91.0},
     ["SpO2 ≥ 94 % for 15 min: 91 % now"]),
    ("no valid SpO2 now", {"ok_since": None, "spo2_now": None},
     ["SpO2 ≥ 94 % for 15 min: no valid SpO2 now"]),
    ("pulse 20 % + 1 above baseline", {"pr": 85.0},
     ["pulse rate 85 not within 20 % of baseline 70 (56–84)"]),
    ("pulse 20 % below baseline", {"pr": 56.0}, []),
    ("no current pulse", {"pr": None},
     ["pulse rate within 20 % of baseline 70 (56–84): no valid pulse rate now"]),
    # Without a baseline: no pulse criterion at all, BP judged by 140/90 only, SpO2 by 94 %.
    ("no baseline: 122/78 is fine, no pulse criterion", {"base": _NO_BASE, "pr": None,
     "bp": [(122, 78), (118, 76)]}, []),
    ("no baseline: 150/95 is not", {"base": _NO_BASE, "bp": [(122, 78), (150, 95)]},
     ["last two BP 122/78, 150/95: 150/95 not below 140/90 (no BP baseline)"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "change", "unmet"), DISCHARGE)
def test_discharge_criteria_boundaries(
    name: str, change: dict[str, object], unmet: list[str]
) -> None:
    c = _OK | change
    got = unmet_criteria(
        c["now"],  # type: ignore[arg-type]
        dose_t=1.0,
        alarms=c["alarms"],
        bp=[BpReading(0, s, d, d + (s - d) / 3) for s, d in c["bp"]],  # type: ignore[attr-defined]
        baseline=c["base"],
        spo2_ok_since=c["ok_since"],
        spo2_now=c["spo2_now"],
        pulse_rate=c["pr"],
        policy=DischargePolicy(),
    )
    assert got == unmet


def test_met_criteria_say_what_holds() -> None:
    got = discharge_criteria(
        7201.0,
        dose_t=1.0,
        alarms=[],
        bp=[BpReading(0, 122, 78, 93), BpReading(300, 118, 76, 90)],
        baseline=Baseline(spo2=98, pulse_rate=70, sbp=120, dbp=80, map=93.3),
        spo2_ok_since=1.0,
        spo2_now=97.0,
        pulse_rate=74.0,
        policy=DischargePolicy(),
        top_up=True,
    )
    assert [(c.key, c.met, c.text) for c in got] == [
        ("time", True, "2 h since the last dose: 2 h so far"),
        ("alarms", True, "no active alarm"),
        ("bp", True, "last two BP 122/78, 118/76: below 140/90"),
        ("spo2", True, "SpO2 ≥ 94 % for the last 15 min"),
        ("pulse", True, "pulse rate 74 within 20 % of baseline 70 (56–84)"),
    ]
