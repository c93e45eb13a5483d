"""The report's words for a confirmed baseline and its limits (HTML and PDF share them)."""

from __future__ import annotations

import pytest

from monitor.report.document import _baseline_text, _limits_text

SPO2_LOW = {"channel": "spo2", "comparator": "<", "limit": 90, "priority": "medium"}


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [
        ({"spo2": 97.0, "pulse_rate": 70, "sbp": 121, "dbp": None},
         "SpO2 97 %, pulse 70 bpm, SBP 121 mmHg"),
        ({"spo2": None}, "—"),
        (None, "—"),
        ("garbage", "—"),
    ],
)  # fmt: skip
def test_baseline_text(baseline: object, expected: str) -> None:
    assert _baseline_text(baseline) == expected


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"spo2_low": [SPO2_LOW], "spo2_drop": []}, "SpO2 low (medium): SpO2 < 90"),
        (
            {"bp_rise": [{"channel": "sbp", "comparator": ">=", "limit": 160, "priority": "medium",
                          "relative": True}, {"channel": "dbp", "comparator": ">=", "limit": 100,
                          "priority": "medium", "relative": True}]},
            "BP rise over baseline (medium): SBP >= 160 (from baseline), "
            "DBP >= 100 (from baseline)",
        ),
        ({"new_rule": [{**SPO2_LOW, "priority": "low"}]}, "new rule (low): SpO2 < 90"),
        ({}, "—"),
        (None, "—"),
    ],
)  # fmt: skip
def test_limits_text(limits: object, expected: str) -> None:
    assert _limits_text(limits) == expected
