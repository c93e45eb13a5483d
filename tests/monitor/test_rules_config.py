"""Clinic rule configuration: merges over the defaults, builds the core dataclasses, and an
invalid rule stops start-up with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings
from monitor.core.policy import CorePolicy
from monitor.core.rules import DEFAULT_RULES, Rule
from monitor.rules_config import RulesConfig


def test_defaults_build_exactly_the_default_core_policy() -> None:
    assert RulesConfig().to_core() == CorePolicy()


def test_clinic_override_merges_by_condition_and_field(tmp_path: Path) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text("""
[rules]
audio_pause_s = 90
[rules.technical]
stale_after_s = 15
[rules.conditions.spo2_low]
delay_s = 20
[rules.conditions.hr_high]
limits = [{ channel = "pulse_rate", comparator = ">", absolute = 130 }]
[rules.conditions.map_rise]
enabled = false
[rules.conditions.rr_custom]
priority = "low"
limits = [{ channel = "pulse_rate", comparator = ">=", offset = 20 }]
""")
    policy = load_settings(config).rules.to_core()
    by_id: dict[str, list[Rule]] = {}
    for r in policy.rules:
        by_id.setdefault(r.id, []).append(r)
    assert [(r.absolute, r.delay_s) for r in by_id["spo2_low"]] == [(90, 20)]
    assert [(r.comparator, r.absolute, r.delay_s) for r in by_id["hr_high"]] == [(">", 130, 60)]
    assert "map_rise" not in by_id
    assert by_id["rr_custom"][0].offset == 20
    assert by_id["bp_severe"] == [r for r in DEFAULT_RULES if r.id == "bp_severe"]
    assert (policy.audio_pause_s, policy.technical.stale_after_s) == (90, 15)


BAD = [
    ("[rules.conditions.spo2_low]\ndelay_s = -1\n", "rules.conditions.spo2_low.delay_s"),
    ("[rules.conditions.spo2_low]\npriority = \"urgent\"\n", "rules.conditions.spo2_low.priority"),
    ("[rules.conditions.x]\npriority = \"low\"\nlimits = [{ channel = \"spo2\", "
     "comparator = \"<\" }]\n", "rules.conditions.x.limits.0"),
    ("[rules.conditions.x]\npriority = \"low\"\nlimits = [{ channel = \"lactate\", "
     "comparator = \"<\", absolute = 3 }]\n", "rules.conditions.x.limits.0.channel"),
    ("[rules.conditions.bp_high]\ndelay_s = 10\n", "rules.conditions.bp_high"),
    ("[rules.conditions.probe_off]\npriority = \"low\"\nlimits = [{ channel = \"spo2\", "
     "comparator = \"<\", absolute = 3 }]\n", "is a technical alarm"),
    ("[rules.technical]\nstale_after_s = 0\n", "rules.technical.stale_after_s"),
    ("[rules]\nsmoothing = 3\n", "rules.smoothing"),
]  # fmt: skip


@pytest.mark.parametrize(("toml", "field"), BAD)
def test_invalid_rule_config_names_the_field(tmp_path: Path, toml: str, field: str) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        load_settings(config)
    assert field in str(err.value)
