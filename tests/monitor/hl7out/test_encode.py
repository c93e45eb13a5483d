"""HL7 out, the pure parts: PCD-01 and ACM encoders (whole messages), the batching of
journal rows into messages and the cursor, the link alarm on a timeline, the settings."""

from __future__ import annotations

import json

import hl7
import pytest

from monitor.config import ConfigError, load_settings
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority, Reading
from monitor.hl7out.acm import alarm_of, alert_id, encode_oru_r40
from monitor.hl7out.batching import Batcher
from monitor.hl7out.health import LinkAlarm
from monitor.hl7out.pcd01 import Unavailable, encode_oru_r01
from monitor.hl7out.segments import Endpoints
from monitor.store.journal import PointRow, canonical_json

T0 = 1_764_713_400.0  # 2025-12-02 22:10:00 UTC
MSH_TAIL = "|P|2.6|||AL|NE||UNICODE UTF-8|||"
PCD01 = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
ACM = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.1^ISO"


def test_pcd01_whole_message() -> None:
    readings = [
        Reading(T0, "spo2", 97.0, "%", source="A-ox"),
        Reading(T0, "pulse_rate", 72.0, "bpm", source="A-ox"),
        Reading(T0 + 0.5, "sbp", 121.0, "mmHg", source="A-cuff"),
        Reading(T0 + 0.5, "dbp", 79.0, "mmHg", source="A-cuff"),
        Reading(T0 + 0.5, "map", 93.3333, "mmHg", source="A-cuff"),
        Reading(T0 + 1, "resp_rate", 14.0, "/min", source="A-capno"),
        Reading(T0 + 1, "etco2", 38.0, "mmHg", source="A-capno"),
    ]
    msg = encode_oru_r01(
        room="A",
        pseudonym="JD|7",  # a delimiter in a pseudonym is escaped, not a new field
        readings=readings,
        control_id="R42",
        now=T0 + 2,
        endpoints=Endpoints("VIGIL", "CLINIC", "EHR", "HOSP"),
        unavailable=[Unavailable(T0 + 1.5, "spo2", "B-ox")],
    )
    ts = "20251202221000.000+0000"
    ts5, ts1 = "20251202221000.500+0000", "20251202221001.000+0000"
    assert msg.split("\r") == [
        "MSH|^~\\&|VIGIL|CLINIC|EHR|HOSP|20251202221002.000+0000||ORU^R01^ORU_R01|R42"
        + MSH_TAIL
        + PCD01,
        "PID|||JD\\F\\7^^^VIGIL^PI",
        "PV1||I|A",
        "OBR|1|R42^VIGIL|R42^VIGIL|182777000^monitoring of patient^SCT|||"
        f"{ts}|20251202221001.500+0000",
        f"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC"
        f"|||||F|||{ts}||||A-ox^VIGIL",
        f"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        f"|||||F|||{ts}||||A-ox^VIGIL",
        f"OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|2.2.1.1|121|266016^MDC_DIM_MMHG^MDC"
        f"|||||F|||{ts5}||||A-cuff^VIGIL",
        f"OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|2.2.1.2|79|266016^MDC_DIM_MMHG^MDC"
        f"|||||F|||{ts5}||||A-cuff^VIGIL",
        f"OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|2.2.1.3|93.3|266016^MDC_DIM_MMHG^MDC"
        f"|||||F|||{ts5}||||A-cuff^VIGIL",
        f"OBX|6|NM|151562^MDC_RESP_RATE^MDC|3.3.1.1|14|264928^MDC_DIM_RESP_PER_MIN^MDC"
        f"|||||F|||{ts1}||||A-capno^VIGIL",
        f"OBX|7|NM|151708^MDC_AWAY_CO2_ET^MDC|3.3.1.2|38|266016^MDC_DIM_MMHG^MDC"
        f"|||||F|||{ts1}||||A-capno^VIGIL",
        "OBX|8|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|4.1.1.1||262688^MDC_DIM_PERCENT^MDC"
        "|||||X|||20251202221001.500+0000||||B-ox^VIGIL",
    ]
    # python-hl7 reads it back: the pseudonym is one identifier, unescaped.
    parsed = hl7.parse(msg)
    assert parsed.unescape(str(parsed.segment("PID")[3][0][0])) == "JD|7"


def test_pcd01_outside_a_session_has_no_patient_id() -> None:
    msg = encode_oru_r01(
        room="B", pseudonym="", readings=[Reading(T0, "spo2", 95, "%", source="ox")],
        control_id="R1", now=T0,
    )  # fmt: skip
    assert msg.split("\r")[1] == "PID|||"
    with pytest.raises(ValueError, match="at least one"):
        encode_oru_r01(room="B", pseudonym="", readings=[], control_id="R1", now=T0)


def _alarm(state: AlarmState, **kw: object) -> AlarmEvent:
    base: dict[str, object] = dict(
        t=T0 + 30, room="A", condition="spo2_low", kind=AlarmKind.PHYSIOLOGICAL,
        channel="spo2", priority=Priority.HIGH, state=state, value=86.0, limit=90.0,
        since=T0 + 20,
    )  # fmt: skip
    base.update(kw)
    return AlarmEvent(**base)  # type: ignore[arg-type]


def test_acm_physiological_start_whole_message() -> None:
    msg = encode_oru_r40(
        _alarm(AlarmState.ACTIVE), pseudonym="JD", control_id="A1", now=T0 + 31,
        label="SpO2 low",
    )  # fmt: skip
    at = "20251202221030.000+0000"
    aid = f"A.spo2_low.{round((T0 + 20) * 1000)}^VIGIL"
    assert msg.split("\r") == [
        "MSH|^~\\&|VIGIL||||20251202221031.000+0000||ORU^R40^ORU_R40|A1" + MSH_TAIL + ACM,
        "PID|||JD^^^VIGIL^PI",
        "PV1||I|A",
        f"OBR|1|{aid}|{aid}|196616^MDC_EVT_ALARM^MDC|||{at}",
        f"OBX|1|ST|196670^MDC_EVT_LO^MDC|1.1.1.1.1|SpO2 low|||L~PH~SP|||F|||{at}",
        f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1.2|86|262688^MDC_DIM_PERCENT^MDC|>90"
        f"||||F|||{at}",
        "OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.1.1.1.3|start||||||F",
        "OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.1.1.1.4|active||||||F",
        "OBX|5|ST|68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC|1.1.1.1.5|enabled||||||F",
    ]


@pytest.mark.parametrize(
    ("state", "acked", "phase", "alarm_state", "inactivation"),
    [
        (AlarmState.ESCALATED, False, "escalate", "active", "enabled"),
        (AlarmState.ACKNOWLEDGED, False, "update", "active", "alert-acknowledged"),
        (AlarmState.RESOLVED, False, "update", "latched", "enabled"),
        (AlarmState.CLEARED, True, "end", "inactive", "alert-acknowledged"),
        (AlarmState.CLEARED, False, "end", "inactive", "enabled"),
    ],
)
def test_acm_lifecycle_facets(
    state: AlarmState, acked: bool, phase: str, alarm_state: str, inactivation: str
) -> None:
    event = _alarm(state)
    msg = hl7.parse(
        encode_oru_r40(event, pseudonym="", control_id="A2", now=T0, label="x", acknowledged=acked)
    )
    facets = {str(s[4]).rsplit(".", 1)[1]: str(s[5]) for s in msg if str(s[0]) == "OBX"}
    assert (facets["3"], facets["4"], facets["5"]) == (phase, alarm_state, inactivation)
    # Every message of the episode names the same alert (start, updates, end).
    assert str(msg.segment("OBR")[3][0][0]) == alert_id(_alarm(AlarmState.ACTIVE))


def test_acm_high_and_technical_alarms() -> None:
    high = encode_oru_r40(
        _alarm(AlarmState.ACTIVE, condition="bp_severe", channel="sbp", value=182.0, limit=180.0,
               priority=Priority.MEDIUM),
        pseudonym="", control_id="A3", now=T0, label="BP severely high",
    )  # fmt: skip
    obx = [s for s in hl7.parse(high) if str(s[0]) == "OBX"]
    assert str(obx[0][3]) == "196648^MDC_EVT_HI^MDC" and str(obx[0][8]) == "H~PM~SP"
    assert str(obx[1][3]).startswith("150021^") and str(obx[1][7]) == "<180"
    tech = encode_oru_r40(
        AlarmEvent(t=T0, room="A", condition="probe_off", kind=AlarmKind.TECHNICAL,
                   channel="spo2", priority=Priority.LOW, state=AlarmState.ACTIVE),
        pseudonym="", control_id="A4", now=T0, label="Probe off | check",
    )  # fmt: skip
    lines = tech.split("\r")
    assert lines[4] == (
        "OBX|1|ST|196616^MDC_EVT_ALARM^MDC|1.0.0.0.1|Probe off \\F\\ check|||PL~ST|||F|||"
        "20251202221000.000+0000"
    )
    assert lines[5] == "OBX|2|ST|68480^MDC_ATTR_ALERT_SOURCE^MDC|1.0.0.0.2|probe_off||||||F"


# -- batching ---------------------------------------------------------------------------------
def _row(i: int, t: float, channel: str, value: float | None, room: str = "A",
         status: tuple[str, ...] = (), source: str = "ox") -> PointRow:  # fmt: skip
    payload = {"t": t, "channel": channel, "value": value, "unit": "", "status": list(status),
               "source": source}  # fmt: skip
    return PointRow(i, t, "reading", room, "S1", payload)


def _drain(b: Batcher) -> list[tuple[str, list[tuple[str, float | None]], list[str]]]:
    out = []
    while (o := b.next()) is not None:
        out.append(
            (o.control_id, [(r.channel, r.value) for r in o.readings],
             [u.channel for u in o.unavailable])
        )  # fmt: skip
        b.done(o)
    return out


def test_every_reading_groups_one_moment_and_skips_unusable() -> None:
    b = Batcher("every_reading")
    b.feed([
        _row(1, T0, "spo2", 97), _row(2, T0, "pulse_rate", 70),
        _row(3, T0 + 1, "spo2", None, status=("probe_off",)),
        _row(4, T0 + 1, "perfusion_index", 2.0),  # no MDC code: not sent
        _row(5, T0 + 1, "spo2", 96, room="B"),
        _row(6, T0 + 2, "spo2", 95),
    ])  # fmt: skip
    assert b.safe_cursor() == 0  # nothing acknowledged yet
    first = b.next()
    assert first is not None and first.control_id == "R1"
    b.feed([_row(7, T0, "spo2", 99)])  # the same moment, but R1 is on its way: a new message
    assert _drain(b) == [
        ("R1", [("spo2", 97), ("pulse_rate", 70)], []),
        ("R5", [("spo2", 96)], []),
        ("R6", [("spo2", 95)], []),
        ("R7", [("spo2", 99)], []),
    ]
    assert b.safe_cursor() == 7


def test_per_minute_latest_values_and_safe_cursor_on_a_timeline() -> None:
    b = Batcher("per_minute", start_id=10, grace_s=5)
    b.feed([
        _row(11, T0 + 1, "spo2", 97), _row(12, T0 + 2, "spo2", 96, room="B"),
        _row(13, T0 + 30, "spo2", 95), _row(14, T0 + 31, "sbp", 120, source="cuff"),
        _row(15, T0 + 40, "pulse_rate", None, status=("probe_off",)),
    ])  # fmt: skip
    b.tick(T0 + 64, caught_up=True)  # minute not over + grace yet: nothing
    assert b.next() is None and b.safe_cursor() == 10
    b.feed([_row(16, T0 + 61, "spo2", 94)])  # room A's next minute closes A's first
    a = b.next()
    assert a is not None and a.control_id == f"MA-{int(T0 // 60)}"
    assert [(r.channel, r.value) for r in a.readings] == [("spo2", 95), ("sbp", 120)]
    assert [u.channel for u in a.unavailable] == ["pulse_rate"]  # only unusable: OBX-11 X
    b.done(a)
    assert b.safe_cursor() == 11  # B's open minute (row 12) holds the cursor back
    b.tick(T0 + 64, caught_up=False)  # a backlog: B's minute may have unread rows
    assert b.next() is None
    b.tick(T0 + 65, caught_up=True)
    assert _drain(b) == [(f"MB-{int(T0 // 60)}", [("spo2", 96)], [])]
    assert b.safe_cursor() == 15  # A's second minute (row 16) is still open
    b.feed([_row(17, T0 + 20, "spo2", 50)])  # late for a minute already sent: dropped
    b.tick(T0 + 200, caught_up=True)
    assert _drain(b) == [(f"MA-{int(T0 // 60) + 1}", [("spo2", 94)], [])]
    assert b.safe_cursor() == 17


def test_link_alarm_raises_after_down_for_a_while_and_clears() -> None:
    alarm = LinkAlarm(down_after_s=60)
    assert alarm.update(T0, False, "refused") == []
    assert alarm.update(T0 + 59, False, "refused") == []
    (raised,) = alarm.update(T0 + 60, False, "refused")
    assert (raised.condition, raised.state, raised.priority) == (
        "hl7_out_down", AlarmState.ACTIVE, Priority.LOW,
    )  # fmt: skip
    assert "60 s" in raised.reason and "refused" in raised.reason
    assert alarm.update(T0 + 90, False) == []  # raised once
    (cleared,) = alarm.update(T0 + 95, True)
    assert cleared.state == AlarmState.CLEARED and cleared.since == T0 + 60
    assert alarm.update(T0 + 96, True) == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[hl7_out]\nenabled = true\n", "hl7_out.host: give the receiver's host"),
        ('[hl7_out]\nenabled = true\nhost = "h"\nport = 0\n', "hl7_out.port:"),
        ('[hl7_out]\nperiodicity = "hourly"\n', "hl7_out.periodicity:"),
        ('[hl7_out]\nenabled = "yes"\n', "hl7_out.enabled:"),
        ('[hl7_out]\nhost = "a b"\n', "hl7_out.host:"),
        ('[hl7_out]\nsending_facility = "A|B"\n', "hl7_out.sending_facility:"),
    ],
)
def test_bad_hl7_out_settings_name_the_field(tmp_path, toml: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "vigil.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert message in str(err.value)


def test_alarm_rows_read_back_from_the_journal_payload() -> None:
    event = _alarm(AlarmState.ACKNOWLEDGED, by="nurse", worst=84.0)
    as_stored = json.loads(canonical_json(event.to_dict()))
    assert alarm_of(as_stored) == event
    assert alarm_of({"type": "alarm", "room": "A"}) is None
    assert alarm_of({**as_stored, "state": "exploded"}) is None
