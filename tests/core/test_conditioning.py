"""Signal conditioning: the online time-window median against an offline numpy reference on
every prefix, plausibility, and one BP reading per cuff cycle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.conditioning import BpAssembler, BpReading, CuffFailure, TimeRollingMedian
from monitor.core.models import Control, Flag
from monitor.core.pipeline import RoomPipeline
from tests.core_helpers import pr, run, spo2

samples = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=4, allow_nan=False),  # gap to the previous sample
        st.floats(min_value=0, max_value=100, allow_nan=False),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(samples, st.floats(min_value=0.5, max_value=15))
def test_rolling_median_matches_numpy_on_every_prefix(
    gaps_values: list[tuple[float, float]], window_s: float
) -> None:
    m = TimeRollingMedian(window_s)
    times: list[float] = []
    values: list[float] = []
    t = 0.0
    for gap, value in gaps_values:
        t += gap
        times.append(t)
        values.append(value)
        ts, vs = np.array(times), np.array(values)
        expected = float(np.median(vs[ts > t - window_s]))  # the half-open window (t-w, t]
        assert m.update(t, value).get() == pytest.approx(expected)


@pytest.mark.parametrize("window", [0, -1, float("nan")])
def test_rolling_median_rejects_a_bad_window(window: float) -> None:
    with pytest.raises(ValueError, match="window_s"):
        TimeRollingMedian(window)


def test_empty_median_is_none() -> None:
    assert TimeRollingMedian(5).get() is None


def test_pipeline_smooths_only_usable_plausible_samples() -> None:
    p = RoomPipeline("A")
    items = [Control(0, "session_start"), spo2(1, 97), spo2(2, 96), spo2(3, 60, Flag.MOTION)]
    items += [spo2(4, 0), spo2(5, 101), spo2(6, None, Flag.INVALID), pr(6, 500), pr(7, 70)]
    run(p, items)
    assert p.smoothed == {"spo2": 96.5, "pulse_rate": 70}
    assert p.rejected == {"spo2": 2, "pulse_rate": 1}
    assert p.latest["spo2"].status == {Flag.INVALID}


CYCLES = [
    ("sbp, dbp, map in one second", [(10.0, "sbp", 120), (10.0, "dbp", 80), (10.2, "map", 93)],
     [BpReading(10.0, 120, 80, 93, None, "cuff", True)]),
    ("a new cycle ends the old one", [(10.0, "sbp", 120), (10.0, "dbp", 80), (20.0, "sbp", 130),
                                      (20.0, "dbp", 85), (20.0, "map", 100)],
     [BpReading(10.0, 120, 80, 80 + 40 / 3, None, "cuff", False),
      BpReading(20.0, 130, 85, 100, None, "cuff", True)]),
    ("cuff error flag", [(10.0, "sbp", None, Flag.CUFF_ERROR), (10.0, "dbp", None),
                         (10.0, "map", None)],
     [CuffFailure(10.0, "cuff reports cuff_error", "cuff")]),
    ("missing dbp", [(10.0, "sbp", 120), (10.0, "map", 93), (12.0, "sbp", 121)],
     [CuffFailure(10.0, "incomplete cycle: SBP or DBP missing", "cuff")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "parts", "expected"), CYCLES)
def test_bp_assembler(name: str, parts: list[tuple], expected: list) -> None:
    a = BpAssembler(1.0)
    out: list = []
    for t, channel, value, *flags in parts:
        out += a.add(t, channel, value, frozenset(flags), "cuff")
    assert out == expected
