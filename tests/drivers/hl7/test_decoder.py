"""The pure HL7 decoder: captured-style ORU^R01 messages in, readings and ACKs out.

Messages are written as constants; each test compares the whole result with one `==`.
"""

from __future__ import annotations

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.hl7.decoder import Hl7Decoder, Hl7Result
from drivers.sim.hl7 import oru_r01
from drivers.sim.scenarios import Vitals
from monitor.core.models import Flag, Reading

T = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC, the receive time
ACK_TS = "20260101120000+0000"
MSH = "MSH|^~\\&|MON^SIM|ICU|VIGIL|CLINIC|20260101115959||ORU^R01^ORU_R01|{id}|P|2.6"

# A PCD-01 style message: SpO2 and pulse, RR, EtCO2 in kPa, NIBP, one unknown code.
PCD01 = "\r".join([
    MSH.format(id="MSG1"),
    "PID|||PAT-12345^^^H^MR||DOE^JANE",
    "OBR|1|||182777000^monitoring of patient^SCT",
    "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1|97|262688^MDC_DIM_PERCENT^MDC|||||F",
    "OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F",
    "OBX|3|NM|151594^MDC_CO2_RESP_RATE^MDC|1.3|12|264928^MDC_DIM_RESP_PER_MIN^MDC|||||F",
    "OBX|4|NM|151708^MDC_AWAY_CO2_ET^MDC|1.4|5.3|kPa|||||F|||20260101115958",
    "OBX|5|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.5|128|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|6|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.6|81|266016^MDC_DIM_MMHG^MDC|||||F",
    "OBX|7|NM|188497^MDC_TEMP_BODY^MDC|1.7|36.9|268192^MDC_DIM_DEGC^MDC|||||F",
]) + "\r"  # fmt: skip


def r(
    channel: str,
    value: float | None,
    unit: str,
    *flags: str,
    source: str = "mon",
    device_time: str = "20260101115959",
    original_unit: str | None = None,
) -> Reading:
    return Reading(T, channel, value, unit, frozenset(flags), source, device_time, original_unit)


def ack(code: str, n: int, control: str = "MSG1", err: str = "", text: str = "",
        event: str = "R01", version: str = "2.6") -> str:  # fmt: skip
    head = f"MSH|^~\\&|VIGIL|CLINIC|MON^SIM|ICU|{ACK_TS}||ACK^{event}^ACK|VIGIL-{n}|P|{version}\r"
    if not err:
        return head + f"MSA|{code}|{control}\r"
    return head + f"MSA|{code}|{control}|{text[:80]}\rERR|||{err}|E||||{text}\r"


def test_pcd01_message_gives_every_channel_and_an_aa() -> None:
    d = Hl7Decoder("mon")
    assert d.handle(PCD01.encode(), T) == Hl7Result(
        readings=(
            r("spo2", 97, "%"),
            r("pulse_rate", 72, "bpm"),
            r("resp_rate", 12, "/min"),
            r("etco2", 39.75, "mmHg", device_time="20260101115958", original_unit="kPa"),
            r("sbp", 128, "mmHg", source="mon/nibp"),
            r("dbp", 81, "mmHg", source="mon/nibp"),
        ),
        replies=(ack("AA", 1),),
        code="AA",
    )
    assert (d.frames, dict(d.dropped)) == (1, {"unmapped_obx": 1})


def test_mindray_legacy_codes_need_the_vendor_and_config_mapping_wins() -> None:
    msg = "\r".join([
        MSH.format(id="M7"),
        "OBX||NM|160^SpO2||95||||||F",
        "OBX||NM|151^RR||9||||||F",
        "OBX||NM|250^EtCO2||44||||||F",
        "OBX||NM|999^Apnea||1||||||F",
    ]).encode()  # fmt: skip
    plain = Hl7Decoder("mon").handle(msg, T)
    assert (plain.readings, plain.code) == ((), "AA")  # local ids mean nothing without vendor
    mindray = Hl7Decoder("mon", vendor="mindray", mapping={"999": "apnea", "151": "ignore"})
    assert mindray.handle(msg, T).readings == (
        r("spo2", 95, "%"),
        r("etco2", 44, "mmHg"),
        r("apnea", 1, ""),
    )


def test_bad_value_and_unit_give_ae_with_reasons_and_keep_the_good_obx() -> None:
    msg = "\r".join([
        MSH.format(id="B1"),
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||9x7|%|||||F",  # would have been SpO2 97
        "OBX|2|NM|151708^MDC_AWAY_CO2_ET^MDC||5.1|%|||||F",  # CO2 in % needs the air pressure
        "OBX|3|NM|9279-1^Resp rate^LN||14||||||F",
    ]).encode()  # fmt: skip
    d = Hl7Decoder("mon")
    reason = (
        "OBX 1 (150456^MDC_PULS_OXIM_SAT_O2 -> spo2): value '9x7' is not a number; "
        "OBX 2 (151708^MDC_AWAY_CO2_ET -> etco2): unit '%' is not mmHg"
    )
    text = reason.replace("^", " ")
    assert d.handle(msg, T) == Hl7Result(
        readings=(r("resp_rate", 14, "/min"),),
        replies=(ack("AE", 1, "B1", "102^Data type error^HL70357", text),),
        code="AE",
        reason=reason,
    )
    assert dict(d.dropped) == {"value": 1, "unit": 1}


@pytest.mark.parametrize(
    ("message", "err", "reason"),
    [
        (MSH.format(id="A1").replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
         "200^Unsupported message type^HL70357", "message type ADT^A01 not supported"),
        (MSH.format(id="A2").replace("|2.6", "|3.0"),
         "203^Unsupported version id^HL70357", "HL7 version '3.0'"),
        (MSH.format(id=""), "101^Required field missing^HL70357",
         "MSH-10 message control id missing"),
    ],
)  # fmt: skip
def test_unsupported_messages_are_rejected_and_counted(message: str, err: str, reason: str) -> None:
    d = Hl7Decoder("mon")
    result = d.handle(message.encode(), T)
    fields = message.split("|")
    control, event, version = fields[9], fields[8].split("^")[1], fields[11]
    expected = ack("AR", 1, control, err, reason.replace("^", " "), event, version)
    assert result == Hl7Result(replies=(expected,), code="AR", reason=reason)
    assert d.frames == 0 and sum(d.dropped.values()) == 1


def test_garbage_gets_a_bare_ar() -> None:
    d = Hl7Decoder("mon")
    result = d.handle(b"\x00\xffGET / HTTP/1.1", T)
    assert result.code == "AR" and result.readings == ()
    msa = hl7.parse(result.replies[0]).segment("MSA")
    assert (str(msa(1)), str(msa(2))) == ("AR", "")
    assert str(msa(3)).startswith("not an HL7 v2 message")
    assert dict(d.dropped) == {"unparsable": 1}


@pytest.mark.parametrize(
    ("accept", "app", "good", "bad"),
    [
        ("AL", "AL", ["CA", "AA"], ["CE", "AE"]),
        ("AL", "NE", ["CA"], ["CE"]),
        ("ER", "ER", [], ["CE", "AE"]),
        ("NE", "AL", ["AA"], ["AE"]),
        ("SU", "NE", ["CA"], []),
    ],
)
def test_enhanced_mode_acks_follow_msh15_and_msh16(
    accept: str, app: str, good: list[str], bad: list[str]
) -> None:
    d = Hl7Decoder("mon")
    ok = oru_r01(Vitals(), T, "E1", ack_mode=(accept, app))
    broken = ok.replace("|97|", "|x|")
    codes = [[str(hl7.parse(a).segment("MSA")(1)) for a in d.handle(m.encode(), T).replies]
             for m in (ok, broken)]  # fmt: skip
    assert codes == [good, bad]


def test_an_ack_is_not_answered_and_no_value_is_visible() -> None:
    d = Hl7Decoder("mon")
    assert d.handle(ack("AA", 9).encode(), T) == Hl7Result()
    msg = (MSH.format(id="X1") + "\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||||||||X\r").encode()
    assert d.handle(msg, T).readings == (r("spo2", None, "%", Flag.INVALID),)


def test_training_messages_are_demo_data() -> None:
    msg = MSH.format(id="T1").replace("|P|", "|T|") + "\rOBX|1|NM|151562^^MDC||4||||||F\r"
    assert Hl7Decoder("mon").handle(msg.encode(), T).readings == (
        r("resp_rate", 4, "/min", Flag.DEMO),
    )


def test_patient_id_is_never_kept_only_a_keyed_pseudonym() -> None:
    plain = Hl7Decoder("mon")
    plain.handle(PCD01.encode(), T)
    assert plain.patient is None
    keyed = Hl7Decoder("mon", pseudonym_key="k" * 32)
    result = keyed.handle(PCD01.encode(), T)
    assert keyed.patient is not None and keyed.patient.startswith("p-")
    assert "PAT-12345" not in repr(result.readings) + repr(vars(keyed))
    assert "PAT-12345" not in keyed.patient


def test_feed_frames_an_mllp_stream() -> None:
    d = Hl7Decoder("mon")
    block = b"\x0b" + PCD01.encode() + b"\x1c\r"
    got = d.feed(b"noise" + block[:50], T) + d.feed(block[50:] + block, T)
    assert [x.channel for x in got].count("spo2") == 2
    assert dict(d.dropped) == {"framing": 1, "unmapped_obx": 2}


def test_vigils_own_pcd01_output_reads_back_as_the_same_readings() -> None:
    """HL7 out (monitor/hl7out, IHE PCD-01) and HL7 in agree on codes and units: one Vigil's
    output fed to another's input gives the channels and values that went out."""
    from monitor.hl7out.pcd01 import encode_oru_r01

    sent = [
        Reading(T, "spo2", 96, "%", frozenset(), "ox"),
        Reading(T, "pulse_rate", 71, "bpm", frozenset(), "ox"),
        Reading(T, "resp_rate", 13, "/min", frozenset(), "mon"),
        Reading(T, "etco2", 41, "mmHg", frozenset(), "mon"),
        Reading(T, "sbp", 131, "mmHg", frozenset(), "cuff"),
        Reading(T, "dbp", 84, "mmHg", frozenset(), "cuff"),
        Reading(T, "map", 99, "mmHg", frozenset(), "cuff"),
    ]
    message = encode_oru_r01(room="A", pseudonym="P-1", readings=sent, control_id="V1", now=T)
    result = Hl7Decoder("peer").handle(message.encode(), T + 1)
    assert result.code == "AA"
    assert sorted((x.channel, x.value, x.unit) for x in result.readings) == sorted(
        (x.channel, x.value, x.unit) for x in sent
    )


def test_a_repeated_nibp_result_is_one_cuff_cycle() -> None:
    """Monitors repeat the last NIBP in every message: it is passed on once per cycle."""
    d = Hl7Decoder("mon")

    def message(n: int, obx14: str, sbp: int = 128) -> bytes:
        return "\r".join([
            MSH.format(id=f"N{n}"),
            "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|%|||||F",
            f"OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||{sbp}|mmHg|||||F|||{obx14}",
            f"OBX|3|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC||81|mmHg|||||F|||{obx14}",
        ]).encode()  # fmt: skip

    def channels(block: bytes) -> list[str]:
        return [r.channel for r in d.handle(block, T).readings]

    assert channels(message(1, "20260101115000")) == ["spo2", "sbp", "dbp"]
    assert channels(message(2, "20260101115000")) == ["spo2"]  # the same cycle again
    assert channels(message(3, "20260101115500")) == ["spo2", "sbp", "dbp"]  # a new cycle
    assert channels(message(4, "20260101115500", sbp=140)) == ["spo2", "sbp", "dbp"]
    assert d.nibp_repeats == 1


VALID = oru_r01(Vitals(), T, "F1", with_bp=True)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda cut, junk: (VALID[:cut] + junk).encode(),
            st.integers(0, len(VALID)),
            st.text(alphabet="|^~\\&\r\n0123456789ABCMSHOBX.-", max_size=40),
        ),
    )
)
def test_the_decoder_never_raises_and_always_answers(block: bytes) -> None:
    d = Hl7Decoder("mon")
    result = d.handle(block, T)
    for reply in result.replies:
        msa = hl7.parse(reply).segment("MSA")
        assert str(msa(1)) in ("AA", "AE", "AR", "CA", "CE", "CR")
    assert result.code == "AA" or result.reason
    assert all(r.value is None or r.value == r.value for r in result.readings)  # no NaN
