"""CriteriaMemo (monitor/core/discharge.py) returns exactly what `discharge_criteria` computes,
for any sequence of inputs: a hit never hides a change of a text or a verdict."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.baseline import Baseline
from monitor.core.conditioning import BpReading
from monitor.core.discharge import CriteriaMemo, discharge_criteria
from monitor.core.policy import DischargePolicy

POLICIES = [DischargePolicy(), DischargePolicy(spo2_window_s=90.0, min_after_dose_s=150.0)]
BASELINES = [Baseline(), Baseline(spo2=92.0, pulse_rate=70.0, sbp=150.0, dbp=95.0)]
BP = [BpReading(0.0, 120.0, 80.0, 93.0), BpReading(300.0, 145.0, 92.0, 110.0),
      BpReading(600.0, 118.0, 76.0, 90.0)]  # fmt: skip
values = st.none() | st.sampled_from([70.0, 72.5, 74.0, 86.0, 93.5, 94.0, 97.0])

# One call's inputs; `now` moves forward by small steps so that minutes and windows are
# crossed both between calls and at the same minute.
call = st.fixed_dictionaries(
    {
        "step": st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.0, 29.0, 59.5, 60.0, 61.0, 900.0]),
        "alarms": st.sampled_from([(), ("spo2_low",), ("spo2_low", "bp_overdue")]),
        "bp": st.integers(0, 3),
        "baseline": st.sampled_from(BASELINES),
        # seconds of acceptable SpO2 at this call; "kept": since the same moment as before
        "spo2_ok_for": st.none()
        | st.sampled_from([0.0, 59.0, 60.0, 89.0, 90.0, 899.0, 900.0, "kept", "kept"]),
        "pulse_rate": values,
        "spo2_now": values,
        "spo2_target": st.none() | st.just(93.0),
        "top_up": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(policy=st.sampled_from(POLICIES), calls=st.lists(call, min_size=1, max_size=40))
def test_memo_matches_the_computation(policy: DischargePolicy, calls: list[dict[str, Any]]) -> None:
    memo = CriteriaMemo()
    now, dose_t = 7000.0, 0.0
    ok_since: float | None = None
    for c in calls:
        now += c["step"]
        ok_for = c["spo2_ok_for"]
        if ok_for != "kept":
            ok_since = None if ok_for is None else now - ok_for
        kw: dict[str, Any] = {
            "dose_t": dose_t,
            "alarms": list(c["alarms"]),
            "bp": BP[: c["bp"]],
            "baseline": c["baseline"],
            "spo2_ok_since": ok_since,
            "pulse_rate": c["pulse_rate"],
            "policy": policy,
            "spo2_now": c["spo2_now"],
            "spo2_target": c["spo2_target"],
            "top_up": c["top_up"],
        }
        expected = discharge_criteria(now, **kw)
        assert memo.update(now, **kw) == tuple(expected)
        assert memo.unmet == tuple(c.text for c in expected if not c.met)


def test_a_minute_passing_changes_the_time_text() -> None:
    memo = CriteriaMemo()
    args = (0.0, [], [], Baseline(), None, None, DischargePolicy(), None, None, False)
    first = memo.update(3599.0, *args)[0].text
    assert memo.update(3599.9, *args)[0].text == first == "2 h since the dose: 59 min so far"
    assert memo.update(3600.0, *args)[0].text == "2 h since the dose: 1 h so far"


def test_the_spo2_window_filling_within_a_minute_changes_the_verdict() -> None:
    memo = CriteriaMemo()
    policy = DischargePolicy(spo2_window_s=90.0)
    args = (0.0, [], [], Baseline(), 7000.0, None, policy, None, None, False)
    spo2 = [memo.update(now, *args)[3] for now in (7061.0, 7089.0, 7090.0)]
    assert [c.met for c in spo2] == [False, False, True]
    assert spo2[2].text == "SpO2 ≥ 94 % for the last 1.5 min"
