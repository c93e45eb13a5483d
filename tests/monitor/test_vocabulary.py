"""The live page's vocabulary (monitor/vocabulary.py, GET /api/vocabulary): every condition the
core can raise is worded, from the one table of words (alerts.message), and the clinic's
settings are what it serves. The browser side: tests/dashboards/test_vocabulary.py."""

from __future__ import annotations

from alerts.message import CONDITION_LABELS, condition_label
from monitor.auth.store import ROLES
from monitor.config import Settings
from monitor.core.pipeline import EXTERNAL_TECHNICAL, MONITORING_INTERRUPTED
from monitor.core.respiration import CO2_LINE_BLOCKED, RESP_STALE
from monitor.core.rules import DEFAULT_RULES
from monitor.hl7out.health import HL7_OUT_DOWN
from monitor.rules_config import TECHNICAL_CONDITIONS
from monitor.vocabulary import vocabulary


def test_every_condition_the_core_can_raise_is_served_with_its_words() -> None:
    served = vocabulary(Settings())["conditions"]
    physiological = {r.id for r in DEFAULT_RULES}
    # Technical conditions raised by name elsewhere are in the one technical list.
    raised_by_name = {MONITORING_INTERRUPTED, RESP_STALE, CO2_LINE_BLOCKED, HL7_OUT_DOWN}
    assert {*EXTERNAL_TECHNICAL, *raised_by_name} <= TECHNICAL_CONDITIONS
    for cid in physiological | TECHNICAL_CONDITIONS:
        assert cid in CONDITION_LABELS, f"{cid} has no words (it would read {cid!r} as an id)"
        assert served[cid]["label"] == CONDITION_LABELS[cid].replace("O2", "O₂")
    assert {c for c, v in served.items() if v["kind"] == "technical"} == TECHNICAL_CONDITIONS
    assert {c for c, v in served.items() if v["kind"] == "physiological"} == physiological
    assert served["spo2_low"] == {
        "label": "SpO₂ low",
        "kind": "physiological",
        "priority": "medium",
        "channels": ["spo2"],
    }
    assert served["device_garbled"]["label"] == "Device sends noise: check cable / baud rate"
    assert served["co2_line_blocked"]["label"] == "CO₂ sampling line blocked"
    assert served["notify_failed"]["priority"] == "high"


def test_a_clinics_own_condition_and_settings_are_what_is_served() -> None:
    settings = Settings(
        stream_interval_s=0.5,
        rules={
            "audio_pause_s": 300.0,
            "technical": {"stale_after_s": 20.0},
            "conditions": {
                "hr_very_high": {
                    "priority": "high",
                    "limits": [{"channel": "pulse_rate", "comparator": ">", "absolute": 170}],
                },
                "spo2_low": {"priority": "high"},
            },
        },
    )
    v = vocabulary(settings)
    assert v["conditions"]["hr_very_high"]["label"] == "hr very high"  # its id, in words
    assert v["conditions"]["spo2_low"]["priority"] == "high"
    assert v["timing"]["audio_pause_s"] == 300.0
    assert v["timing"]["stale_after_s"] == 20.0
    assert v["timing"]["stream_interval_s"] == 0.5
    assert v["timing"]["link_stale_s"] == 3 * v["timing"]["heartbeat_s"]


def test_priorities_roles_phases_and_channels() -> None:
    v = vocabulary(Settings())
    assert v["priorities"] == ["low", "medium", "high"]
    assert v["roles"] == list(ROLES)
    assert v["phases"]["in_session"] == ["pre_dose", "dosed", "recovery", "discharge_ready"]
    assert v["phases"]["post_dose"] == ["dosed", "recovery", "discharge_ready"]
    assert set(v["phases"]["words"]) == set(v["phases"]["all"])
    assert v["channels"]["etco2"] == {"label": "EtCO₂", "unit": "mmHg"}
    assert v["channels"]["pulse_rate"] == {"label": "Pulse", "unit": "bpm"}


def test_the_phone_keeps_plain_ascii_words() -> None:
    assert condition_label("etco2_rise") == "EtCO2 rise over baseline"
    assert condition_label("my_rule") == "my rule"
    assert all(label.isascii() for label in CONDITION_LABELS.values())
