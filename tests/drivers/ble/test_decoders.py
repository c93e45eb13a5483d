"""BLE characteristic decoders: vector tables (whole-object), encoder round trips, properties.

Vector sources are named per row. "Nordic" = NordicSemiconductor/Android-BLE-Common-Library
`ble-common/src/test/.../callback/bps/BloodPressureMeasurementDataCallbackTest.java`;
"SmartGattLib" = movisens/SmartGattLib `src/test/java/HeartRateMeasurementTest.java`;
"Supplement" = a value built by hand from the GATT Specification Supplement layout as
summarised in protocols.md §2–§4 (no public capture available).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.base import StreamDecoder
from drivers.ble import DECODERS
from drivers.ble.bps import (
    BloodPressureDecoder,
    BloodPressureMeasurement,
    encode_bp_feature,
    encode_bpm,
    encode_icp,
    parse_bp_feature,
    parse_bpm,
)
from drivers.ble.hrs import HeartRateMeasurement, encode_hrm, parse_hrm
from drivers.ble.plx import (
    PlxContinuous,
    PlxContinuousDecoder,
    PlxFeatures,
    PlxSpotCheck,
    encode_continuous,
    encode_plx_features,
    encode_spot_check,
    parse_continuous,
    parse_plx_features,
    parse_spot_check,
)
from drivers.ieee11073 import DateTime, MedFloat
from drivers.values import PLAUSIBLE
from monitor.core.models import Flag, Reading

T = 1000.0
SRC = "dev1"


def r(
    channel: str,
    value: float | None,
    unit: str,
    *flags: str,
    device_time: str | None = None,
    original_unit: str | None = None,
) -> Reading:
    return Reading(
        t=T,
        channel=channel,
        value=value,
        unit=unit,
        status=frozenset(flags),
        source=SRC,
        device_time=device_time,
        original_unit=original_unit,
    )


def decode(protocol: str, hexvalue: str) -> tuple[list[Reading], StreamDecoder]:
    dec = DECODERS[protocol](source=SRC)
    return dec.feed(bytes.fromhex(hexvalue), T), dec


NORDIC_FULL = "1E8A005800780000000411142 93B3C0001270 0".replace(" ", "")
NORDIC_SOME = "15BDF00B009FF03C001200"
NORDIC_MINIMAL = "00BDF00B009FF0"
BP_FLAGS = (Flag.MOTION, Flag.CUFF_LOOSE, Flag.IRREGULAR_PULSE, Flag.IMPROPER_POSITION)
NORDIC_TIME = "????-04-17T20:41:59"

# Nordic's _minimal vector: 18.9/11/15.9 read as mmHg is no patient's pressure.
MINIMAL_IMPLAUSIBLE = [
    r("sbp", 18.9, "mmHg", Flag.IMPLAUSIBLE),
    r("dbp", 11.0, "mmHg", Flag.IMPLAUSIBLE),
    r("map", 15.9, "mmHg", Flag.IMPLAUSIBLE),
]
READING_VECTORS: list[tuple[str, str, list[Reading], str]] = [
    (
        "ble-2a35",
        NORDIC_FULL,
        [
            r("sbp", 138.0, "mmHg", *BP_FLAGS, device_time=NORDIC_TIME),
            r("dbp", 88.0, "mmHg", *BP_FLAGS, device_time=NORDIC_TIME),
            r("map", 120.0, "mmHg", *BP_FLAGS, device_time=NORDIC_TIME),
            r("pulse_rate", 60.0, "bpm", *BP_FLAGS, device_time=NORDIC_TIME),
        ],
        "Nordic _full: every field, year unknown, status 0b100111",
    ),
    (
        "ble-2a35",
        NORDIC_SOME,
        [
            r("sbp", 141.8, "mmHg", Flag.CUFF_LOOSE, original_unit="kPa"),
            r("dbp", 82.5, "mmHg", Flag.CUFF_LOOSE, original_unit="kPa"),
            r("map", 119.3, "mmHg", Flag.CUFF_LOOSE, original_unit="kPa"),
            r("pulse_rate", 60.0, "bpm", Flag.CUFF_LOOSE),
        ],
        "Nordic _some: kPa 18.9/11/15.9 → mmHg × 7.50062, status 0b010010",
    ),
    (
        "ble-2a35",
        NORDIC_MINIMAL,
        MINIMAL_IMPLAUSIBLE,
        "Nordic _minimal: flags 0, three SFLOATs (too low for mmHg: kept, implausible)",
    ),
    (
        "ble-2a35",
        NORDIC_MINIMAL + "AABBCC",
        MINIMAL_IMPLAUSIBLE,
        "Nordic _minimal plus a tail: known fields decoded, tail ignored (§0.3)",
    ),
    (
        "ble-2a35",
        "0078005000FF07",
        [r("sbp", 120.0, "mmHg"), r("dbp", 80.0, "mmHg"), r("map", None, "mmHg", Flag.INVALID)],
        "Supplement: MAP NaN (not computed) → None, never 2047",
    ),
    (
        "ble-2a35",
        "04FF07FF07FF07FF07",
        [
            r("sbp", None, "mmHg", Flag.CUFF_ERROR, Flag.INVALID),
            r("dbp", None, "mmHg", Flag.CUFF_ERROR, Flag.INVALID),
            r("map", None, "mmHg", Flag.CUFF_ERROR, Flag.INVALID),
            r("pulse_rate", None, "bpm", Flag.CUFF_ERROR, Flag.INVALID),
        ],
        "Supplement: failed cycle, every SFLOAT NaN",
    ),
    (
        "ble-2a35",
        "00FE0702080008",
        [
            r("sbp", None, "mmHg", Flag.INVALID),
            r("dbp", None, "mmHg", Flag.INVALID),
            r("map", None, "mmHg", Flag.INVALID),
        ],
        "11073: +INF, -INF, NRes are not numbers",
    ),
    (
        "ble-2a35",
        "00017050005D00",
        [r("sbp", 1e7, "mmHg", Flag.IMPLAUSIBLE), r("dbp", 80.0, "mmHg"), r("map", 93.0, "mmHg")],
        "Supplement: 1e7 mmHg is not physiology → kept for the record, flagged implausible",
    ),
    (
        "ble-2a35",
        "10780050005D001800",
        [r("sbp", 120.0, "mmHg"), r("dbp", 80.0, "mmHg"), r("map", 93.0, "mmHg")],
        "Supplement: status bits 3–4 = 3 (RFU pulse range) raise no flag",
    ),
    (
        "ble-2a36",
        "00A000FF07FF07",
        [r("cuff_pressure", 160.0, "mmHg")],
        "Supplement: ICP, diastolic/MAP NaN as the spec sets them",
    ),
    (
        "ble-2a36",
        "00A00000000000",
        [r("cuff_pressure", 160.0, "mmHg")],
        "Supplement: ICP from a device that sends 0 for the unused slots",
    ),
    (
        "ble-2a36",
        "01A0F0FF07FF07",
        [r("cuff_pressure", 120.0, "mmHg", original_unit="kPa")],
        "Supplement: ICP in kPa (16.0 kPa)",
    ),
    (
        "ble-2a37",
        "16485401EC02",
        [r("heart_rate", 72.0, "bpm")],
        "SmartGattLib testHR: HR 72, contact detected, RR 340/748",
    ),
    ("ble-2a37", "014800", [r("heart_rate", 72.0, "bpm")], "Supplement: u16 HR"),
    (
        "ble-2a37",
        "0000",
        [r("heart_rate", None, "bpm", Flag.INVALID)],
        "Supplement: HR 0 from a sensor that cannot report contact = no signal",
    ),
    (
        "ble-2a37",
        "0448",
        [r("heart_rate", 72.0, "bpm", Flag.PROBE_OFF)],
        "Supplement: contact supported, not detected",
    ),
    (
        "ble-2a37",
        "01FFFF",
        [r("heart_rate", 65535.0, "bpm", Flag.IMPLAUSIBLE)],
        "Supplement: HR 65535 is not physiology (flagged, never used)",
    ),
    ("ble-2a5f", "0061004800", [r("spo2", 97.0, "%"), r("pulse_rate", 72.0, "bpm")], "Supplement"),
    (
        "ble-2a5f",
        "1C61004800000400000023F0",
        [
            r("spo2", 97.0, "%", Flag.DEMO),
            r("pulse_rate", 72.0, "bpm", Flag.DEMO),
            r("perfusion_index", 3.5, "%", Flag.DEMO),
        ],
        "Supplement: demonstration data flagged so it never alarms",
    ),
    (
        "ble-2a5f",
        "04610048000002",
        [r("spo2", 97.0, "%", Flag.STORED), r("pulse_rate", 72.0, "bpm", Flag.STORED)],
        "Supplement: Measurement Status bit 9, data from measurement storage (record only)",
    ),
    (
        "ble-2a5f",
        "04610048000080",
        [
            r("spo2", None, "%", Flag.INVALID),
            r("pulse_rate", None, "bpm", Flag.INVALID),
        ],
        "Supplement: measurement status 'invalid' → no value even though numbers were sent",
    ),
    (
        "ble-2a5f",
        "08FF07FF07008000",
        [
            r("spo2", None, "%", Flag.PROBE_OFF, Flag.INVALID),
            r("pulse_rate", None, "bpm", Flag.PROBE_OFF, Flag.INVALID),
        ],
        "Supplement: sensor disconnected, NaN values",
    ),
    (
        "ble-2a5f",
        "00C8004800",
        [r("spo2", 200.0, "%", Flag.IMPLAUSIBLE), r("pulse_rate", 72.0, "bpm")],
        "protocols.md §4: SpO2 outside 0–100 is not a reading (implausible, never used)",
    ),
    (
        "ble-2a5f",
        "016100480062004900",
        [r("spo2", 97.0, "%"), r("pulse_rate", 72.0, "bpm")],
        "Supplement: 2A5F bit0 = SpO2PR-Fast (4 bytes)",
    ),
    ("ble-2a5e", "0061004800", [r("spo2", 97.0, "%"), r("pulse_rate", 72.0, "bpm")], "Supplement"),
    (
        "ble-2a5e",
        "0161004800EA070B17022D00",
        [
            r("spo2", 97.0, "%", device_time="2026-11-23T02:45:00"),
            r("pulse_rate", 72.0, "bpm", device_time="2026-11-23T02:45:00"),
        ],
        "Supplement: spot-check with timestamp",
    ),
    (
        "ble-2a5e",
        "1161004800EA070B17022D00",
        [r("spo2", 97.0, "%"), r("pulse_rate", 72.0, "bpm")],
        "Supplement: Device Clock Not Set → timestamp dropped",
    ),
    (
        "ble-2a5e",
        "0E6100480000402000000FF0",
        [
            r("spo2", 97.0, "%", Flag.QUESTIONABLE, Flag.LOW_PERFUSION),
            r("pulse_rate", 72.0, "bpm", Flag.QUESTIONABLE, Flag.LOW_PERFUSION),
            r("perfusion_index", 1.5, "%", Flag.QUESTIONABLE, Flag.LOW_PERFUSION),
        ],
        "Supplement: 2A5E bits 1–3 = status, device status, PAI (different from 2A5F)",
    ),
]


@pytest.mark.parametrize(("protocol", "hexvalue", "expected", "source"), READING_VECTORS)
def test_reading_vectors(
    protocol: str, hexvalue: str, expected: list[Reading], source: str
) -> None:
    readings, dec = decode(protocol, hexvalue)
    assert readings == expected, source
    assert (dec.frames, dec.dropped["short"]) == (1, 0), source


SHORT_VECTORS = [
    ("ble-2a35", "010203040506", "Nordic _toShort: 6 bytes"),
    ("ble-2a35", "03020304050607", "Nordic _noTimestamp: time stamp flagged, not sent"),
    ("ble-2a35", "", "empty value"),
    ("ble-2a35", "10780050005D0018", "status flagged, 1 of 2 bytes"),
    ("ble-2a36", "04A000FF07FF07", "pulse rate flagged, missing"),
    ("ble-2a37", "0148", "u16 HR flagged, 1 byte"),
    ("ble-2a37", "084810", "energy expended flagged, 1 byte"),
    ("ble-2a37", "1048", "RR flagged, fewer than 2 bytes left"),
    ("ble-2a37", "00", "flags only"),
    ("ble-2a5f", "106100480023", "PAI flagged, 1 byte"),
    ("ble-2a5f", "0361004800620049006000", "fast+slow flagged, slow cut"),
    # The same flag byte means different things in 2A5E: bit0 is a 7-byte time stamp.
    ("ble-2a5e", "016100480062004900", "2A5E bit0 = timestamp (7 bytes), 4 sent"),
    ("ble-2a5e", "04610048000000", "device status flagged, 2 of 3 bytes"),
]


@pytest.mark.parametrize(("protocol", "hexvalue", "source"), SHORT_VECTORS)
def test_short_records_are_dropped_and_counted(protocol: str, hexvalue: str, source: str) -> None:
    readings, dec = decode(protocol, hexvalue)
    assert (readings, dec.frames, dec.dropped) == ([], 0, Counter({"short": 1})), source


def test_records_whole_object() -> None:
    assert parse_bpm(bytes.fromhex(NORDIC_FULL)) == BloodPressureMeasurement(
        unit="mmHg",
        systolic=MedFloat(138.0),
        diastolic=MedFloat(88.0),
        mean_arterial=MedFloat(120.0),
        timestamp=DateTime(None, 4, 17, 20, 41, 59),
        pulse_rate=MedFloat(60.0),
        user_id=1,
        status=0x27,
    )
    some = parse_bpm(bytes.fromhex(NORDIC_SOME))
    assert (some.unit, some.pulse_rate_range) == ("kPa", "below_lower")
    assert parse_hrm(bytes.fromhex("16485401EC02")) == HeartRateMeasurement(
        72, True, None, (340, 748)
    )
    assert parse_hrm(bytes.fromhex("16485401EC02")).rr_ms == (332.03125, 730.46875)
    assert parse_hrm(bytes.fromhex("10485401EC")) == HeartRateMeasurement(72, None, None, (340,))
    assert parse_hrm(bytes.fromhex("0A4810")[:2] + b"\x10\x00") == HeartRateMeasurement(
        72, None, 16
    )
    assert parse_continuous(bytes.fromhex("03610048006200490060004700")) == (
        PlxContinuous(
            spo2=MedFloat(97.0),
            pulse_rate=MedFloat(72.0),
            fast=(MedFloat(98.0), MedFloat(73.0)),
            slow=(MedFloat(96.0), MedFloat(71.0)),
        )
    )
    assert parse_spot_check(bytes.fromhex("1161004800EA070B17022D00")) == PlxSpotCheck(
        spo2=MedFloat(97.0),
        pulse_rate=MedFloat(72.0),
        timestamp=DateTime(2026, 11, 23, 2, 45, 0),
        clock_not_set=True,
    )
    assert parse_plx_features(bytes.fromhex("4300E0FFFFFF00")) == PlxFeatures(
        0x43, 0xFFE0, 0x00FFFF
    )
    assert parse_bp_feature(bytes.fromhex("1F00")).supported == {
        "body_movement",
        "cuff_fit",
        "irregular_pulse",
        "pulse_rate_range",
        "measurement_position",
    }


def test_feature_bits_mask_status_bits() -> None:
    """protocols.md §2.3: a status bit whose feature bit is clear carries no information."""
    dec = BloodPressureDecoder(source=SRC, features=0x0001)  # body movement only
    readings = dec.feed(bytes.fromhex(NORDIC_FULL), T)
    assert {frozenset(x.status) for x in readings} == {frozenset({Flag.MOTION})}
    plx = PlxContinuousDecoder(
        source=SRC,
        features=PlxFeatures(0x03, measurement_status_support=0x8000, device_status_support=0),
    )
    # Demo bit (10) and sensor-disconnected bit (15) unsupported → ignored; invalid (15) kept.
    out = plx.feed(bytes.fromhex("0C610048000084008000"), T)
    assert [(x.value, x.status) for x in out] == [(None, {Flag.INVALID})] * 2


# -- encoder → decoder round trips -----------------------------------------------------------
pressures = st.integers(40, 280)
pulses = st.one_of(st.none(), st.integers(20, 250))


@given(
    pressures,
    pressures,
    pressures,
    pulses,
    st.sampled_from(["mmHg", "kPa"]),
    st.integers(0, 0xFFFF),
)
def test_bpm_round_trip(
    sys_: int, dia: int, mean: int, pr: int | None, unit: str, status: int
) -> None:
    if unit == "kPa":
        sys_k, dia_k, mean_k = (round(v / 7.50062, 1) for v in (sys_, dia, mean))
        rec = parse_bpm(encode_bpm(sys_k, dia_k, mean_k, unit=unit, pulse_rate=pr, status=status))
        assert (rec.systolic.value, rec.diastolic.value, rec.mean_arterial.value) == (
            sys_k,
            dia_k,
            mean_k,
        )
    else:
        ts = DateTime(2026, 11, 23, 2, 45, 1)
        rec = parse_bpm(
            encode_bpm(sys_, dia, mean, pulse_rate=pr, status=status, timestamp=ts, user_id=3)
        )
        assert rec == BloodPressureMeasurement(
            "mmHg",
            MedFloat(sys_),
            MedFloat(dia),
            MedFloat(mean),
            ts,
            None if pr is None else MedFloat(pr),
            3,
            status,
        )


@given(st.one_of(st.none(), st.integers(0, 300)))
def test_icp_round_trip(cuff: int | None) -> None:
    readings, _ = decode("ble-2a36", encode_icp(cuff).hex())
    assert [x.value for x in readings] == [None if cuff is None else float(cuff)]


@given(
    st.one_of(st.none(), st.integers(50, 100)),
    st.one_of(st.none(), st.integers(20, 250)),
    st.one_of(st.none(), st.integers(1, 200).map(lambda v: v / 10)),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFF),
)
def test_plx_round_trips(
    spo2: int | None, pr: int | None, pai: float | None, ms: int, ds: int
) -> None:
    cont = parse_continuous(
        encode_continuous(
            spo2,
            pr,
            fast=(spo2, pr),
            measurement_status=ms,
            device_status=ds,
            pai=pai,
            include_pai=True,
        )
    )
    assert cont == PlxContinuous(
        MedFloat(spo2) if spo2 is not None else MedFloat(None, "nan"),
        MedFloat(pr) if pr is not None else MedFloat(None, "nan"),
        fast=(cont.spo2, cont.pulse_rate),
        measurement_status=ms,
        device_status=ds,
        pai=MedFloat(pai) if pai is not None else MedFloat(None, "nan"),
    )
    spot = parse_spot_check(
        encode_spot_check(spo2, pr, measurement_status=ms, device_status=ds, pai=pai)
    )
    assert (spot.spo2, spot.pulse_rate, spot.measurement_status, spot.device_status) == (
        cont.spo2,
        cont.pulse_rate,
        ms,
        ds,
    )
    assert spot.pai == (None if pai is None else MedFloat(pai))


@given(
    st.integers(0, 0xFFFF),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.integers(0, 0xFFFF)),
    st.lists(st.integers(0, 0xFFFF), max_size=8),
)
def test_hrm_round_trip(hr: int, contact: bool | None, ee: int | None, rr: list[int]) -> None:
    enc = encode_hrm(hr, sensor_contact=contact, energy_expended=ee, rr_intervals=tuple(rr))
    assert parse_hrm(enc) == HeartRateMeasurement(hr, contact, ee, tuple(rr))


def test_feature_round_trips() -> None:
    feats = PlxFeatures(0x0040 | 0x0003, 0xFFE0, 0x00FFFF)
    assert parse_plx_features(encode_plx_features(feats)) == feats
    names = {"cuff_fit", "multiple_bonds"}
    assert parse_bp_feature(encode_bp_feature(names)).supported == names


# -- properties: never raise, never out of range ---------------------------------------------
def _check(decoder_factory: Callable[..., StreamDecoder], values: list[bytes]) -> None:
    dec = decoder_factory(source=SRC)
    for v in values:
        for reading in dec.feed(v, T):
            if reading.value is not None:
                lo, hi = PLAUSIBLE[reading.channel]
                # Out of range: kept for the record but flagged, so never usable.
                assert lo <= reading.value <= hi or Flag.IMPLAUSIBLE in reading.status
                assert Flag.INVALID not in reading.status
    assert dec.frames + dec.dropped["short"] == len(values)
    assert dec.dropped["error"] == 0  # no decoder bug hidden behind the catch-all


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(DECODERS)), st.lists(st.binary(max_size=40), max_size=10))
def test_random_bytes_never_raise_nor_leave_range(protocol: str, values: list[bytes]) -> None:
    _check(DECODERS[protocol], values)


VALID = {
    "ble-2a35": bytes.fromhex(NORDIC_FULL),
    "ble-2a36": encode_icp(160, pulse_rate=70, status=0x21),
    "ble-2a37": bytes.fromhex("1E48100054 01EC02".replace(" ", "")),
    "ble-2a5e": encode_spot_check(
        97,
        72,
        timestamp=DateTime(2026, 1, 2, 3, 4, 5),
        measurement_status=0,
        device_status=0,
        pai=3.5,
    ),
    "ble-2a5f": encode_continuous(
        97, 72, fast=(97, 72), slow=(96, 71), measurement_status=0, device_status=0, pai=3.5
    ),
}


@settings(max_examples=300)
@given(st.sampled_from(sorted(VALID)), st.data())
def test_mutated_records_never_raise_nor_leave_range(protocol: str, data: st.DataObject) -> None:
    value = bytearray(VALID[protocol])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(value) - 1))
        value[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(value) + 3))
    mutated = bytes(value[:cut]) + bytes(max(0, cut - len(value)))
    _check(DECODERS[protocol], [mutated])
