"""Device-reported conditions over HL7 (drivers/hl7/alerts.py through the pure decoder): a
blocked CO2 sampling line in IHE PCD-04 ORU^R40 alerts and in mapped vendor codes, and the
LOINC codes of EtCO2. Messages are constants; each test compares whole results."""

from __future__ import annotations

import pytest

from drivers.hl7.decoder import Hl7Decoder, Hl7Result
from drivers.sim.hl7 import oru_r01, oru_r40_co2_line
from drivers.sim.scenarios import Vitals
from monitor.core.models import Flag, Reading

T = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
ACK_TS = "20260101120000+0000"
R40 = "MSH|^~\\&|MON^SIM|ICU|VIGIL|CLINIC|20260101115959||ORU^R40^ORU_R40|{id}|P|2.6"
R01 = "MSH|^~\\&|MON^SIM|ICU|VIGIL|CLINIC|20260101115959||ORU^R01^ORU_R01|{id}|P|2.6"
BLOCKED = Reading(T, "etco2", None, "mmHg", frozenset({Flag.LINE_BLOCKED}), "mon")
CLEAR = Reading(T, "etco2", None, "mmHg", frozenset({Flag.INVALID}), "mon")


def alert(id_: str, text: str, phase: str, source: str, state: str = "") -> bytes:
    """A PCD-04 technical alert as a Philips/Mindray gateway sends one: event, source facet
    (the metric itself), phase and optionally the alarm state."""
    segments = [
        R40.format(id=id_),
        "OBR|1|A1^MON|A1^MON|196616^MDC_EVT_ALARM^MDC",
        f"OBX|1|ST|196616^MDC_EVT_ALARM^MDC|1.3.1.1|{text}|||PM~ST|||F",
        f"OBX|2|NM|{source}|1.3.1.2||||||X",
        f"OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.3.1.3|{phase}||||||F",
    ]
    if state:
        segments.append(f"OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.3.1.4|{state}||||||F")
    return ("\r".join(segments) + "\r").encode()


def ack(code: str, n: int, control: str, event: str = "R40") -> str:
    head = f"MSH|^~\\&|VIGIL|CLINIC|MON^SIM|ICU|{ACK_TS}||ACK^{event}^ACK|VIGIL-{n}|P|2.6\r"
    return head + f"MSA|{code}|{control}\r"


ETCO2 = "151708^MDC_AWAY_CO2_ET^MDC"


def test_a_pcd04_co2_occlusion_alert_blocks_co2_values_until_its_end() -> None:
    d = Hl7Decoder("mon")
    start = d.handle(alert("S1", "CO2 Occlusion", "start", ETCO2), T)
    assert start == Hl7Result((BLOCKED,), (ack("AA", 1, "S1"),), "AA")
    # Updates of the same alert change nothing.
    assert d.handle(alert("S2", "CO2 Occlusion", "continue", ETCO2), T).readings == ()
    # While blocked: EtCO2, capnographic RR and apnea are flagged; SpO2, pulse and an
    # impedance RR are the patient's as ever.
    during = d.handle(
        (
            "\r".join([
                R01.format(id="R1"),
                "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|%|||||F",
                "OBX|2|NM|151594^MDC_CO2_RESP_RATE^MDC||0|/min|||||F",
                "OBX|3|NM|151708^MDC_AWAY_CO2_ET^MDC||0|mmHg|||||F",
                "OBX|4|NM|151578^MDC_TTHOR_RESP_RATE^MDC||15|/min|||||F",
                "OBX|5|NM|199680^MDC_EVT_APNEA^MDC||1||||||F",
            ])
            + "\r"
        ).encode(),
        T,
    )  # fmt: skip
    blocked = frozenset({Flag.LINE_BLOCKED})
    stamp = "20260101115959"
    assert during.readings == (
        Reading(T, "spo2", 97, "%", frozenset(), "mon", stamp),
        Reading(T, "resp_rate", 0, "/min", blocked, "mon", stamp),
        Reading(T, "etco2", 0, "mmHg", blocked, "mon", stamp),
        Reading(T, "resp_rate", 15, "/min", frozenset(), "mon", stamp),
        Reading(T, "apnea", 1, "", blocked, "mon", stamp),
    )
    end = d.handle(alert("E1", "CO2 Occlusion", "end", ETCO2, state="inactive"), T)
    assert (end.readings, d.co2_blocked) == ((CLEAR,), False)
    after = d.handle(oru_r01(Vitals(), T, "R2").encode(), T)
    assert all(not r.status for r in after.readings)


@pytest.mark.parametrize(
    ("text", "source", "blocks"),
    [
        ("CO2 Occlusion", ETCO2, True),  # Philips
        ("Sampling line clogged", ETCO2, True),  # Schiller, by its source
        ("CO2 FilterLine Blockage", "68480^MDC_ATTR_ALERT_SOURCE^MDC", True),  # by its text
        ("Water trap full", ETCO2, True),
        ("CO2 Zeroing", ETCO2, False),  # a CO2 alert, not the line
        ("NIBP cuff occlusion", "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", False),  # not CO2
        ("Occlusion", "68480^MDC_ATTR_ALERT_SOURCE^MDC", False),  # of what? (a pump's)
    ],
)
def test_which_alerts_are_the_co2_line(text: str, source: str, blocks: bool) -> None:
    d = Hl7Decoder("mon")
    result = d.handle(alert("W1", text, "start", source), T)
    assert (result.readings, result.code, d.co2_blocked) == (
        (BLOCKED,) if blocks else (),
        "AA",
        blocks,
    )


def test_a_vendor_code_mapped_to_the_condition_sets_and_clears_it_in_oru_r01() -> None:
    d = Hl7Decoder("mon", mapping={"9001": "co2_line_blocked"})

    def msg(flag: str, co2: str) -> bytes:
        return (
            f"{R01.format(id='V' + flag)}\rOBX|1|ST|9001^CO2 LINE^99MON||{flag}||||||F\r"
            f"OBX|2|NM|151708^MDC_AWAY_CO2_ET^MDC||{co2}|mmHg|||||F\r"
        ).encode()

    on = d.handle(msg("1", "3"), T)
    off = d.handle(msg("0", "36"), T)
    stamp = "20260101115959"
    assert (on.readings, off.readings) == (
        (BLOCKED, Reading(T, "etco2", 3, "mmHg", frozenset({Flag.LINE_BLOCKED}), "mon", stamp)),
        (CLEAR, Reading(T, "etco2", 36, "mmHg", frozenset(), "mon", stamp)),
    )
    assert (on.code, off.code) == ("AA", "AA")


def test_the_simulators_alerts_and_training_messages() -> None:
    d = Hl7Decoder("mon")
    sent = oru_r40_co2_line(True, T, "C1", since=T)
    assert d.handle(sent.replace("|P|", "|T|").encode(), T).readings == ()  # training: no
    assert d.handle(sent.encode(), T).readings == (BLOCKED,)
    assert d.handle(oru_r40_co2_line(False, T, "C2", since=T).encode(), T).readings == (CLEAR,)


@pytest.mark.parametrize(
    ("obx", "reading", "problem"),
    [
        ("19891-1^EtCO2^LN||37|mm[Hg]", 37.0, ""),
        ("19891-1^EtCO2^LN||37|", 37.0, ""),  # partial pressure: mmHg is meant
        ("19889-5^EtCO2^LN||4.9|kPa", 36.75, ""),  # a pressure unit given: taken
        ("19889-5^EtCO2^LN||4.9|%", None, "unit '%' is not mmHg"),
        ("19889-5^EtCO2^LN||4.9|", None, "no unit: the code's quantity is not mmHg"),
    ],
)  # fmt: skip
def test_etco2_loinc_codes_partial_pressure_or_a_fraction_with_a_pressure_unit(
    obx: str, reading: float | None, problem: str
) -> None:
    d = Hl7Decoder("mon")
    result = d.handle(f"{R01.format(id='L1')}\rOBX|1|NM|{obx}|||||F\r".encode(), T)
    assert [r.value for r in result.readings] == ([] if reading is None else [reading])
    assert result.reason == (f"OBX 1 (19889-5^EtCO2 -> etco2): {problem}" if problem else "")
    assert dict(d.dropped) == ({"unit": 1} if problem else {})
