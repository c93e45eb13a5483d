"""Blood Pressure Service 0x1810: 0x2A35 measurement, 0x2A36 cuff pressure, 0x2A49 features.

protocols.md §2. Layout of 2A35 and 2A36 (one characteristic value):
`flags | sys | dia | MAP | [Date Time 7] | [pulse rate] | [user id] | [status u16]`.
In 2A36 the systolic slot is the live cuff pressure; diastolic and MAP are unused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from drivers.ble.common import (
    KPA_TO_MMHG,
    RecordDecoder,
    ValueSpec,
    bits_to_flags,
    make_readings,
    need,
)
from drivers.ieee11073 import (
    DATE_TIME_LEN,
    DateTime,
    MedFloat,
    decode_date_time,
    decode_sfloat,
    encode_date_time,
    encode_sfloat,
)
from drivers.values import with_pressure_check
from monitor.core.models import Channel, Flag, Reading

FLAG_KPA = 0x01
FLAG_TIMESTAMP = 0x02
FLAG_PULSE_RATE = 0x04
FLAG_USER_ID = 0x08
FLAG_STATUS = 0x10

# Measurement Status bit → Flag, with the Blood Pressure Feature bit that must be set for the
# status bit to carry information (protocols.md §2.3).
STATUS_FLAGS: tuple[tuple[int, str, int], ...] = (
    (0, Flag.MOTION, 0),  # body movement detected
    (1, Flag.CUFF_LOOSE, 1),  # cuff too loose
    (2, Flag.IRREGULAR_PULSE, 2),
    (5, Flag.IMPROPER_POSITION, 4),
)
PULSE_RANGE_FEATURE_BIT = 3
NO_RESULT = frozenset({"nan", "nres", "reserved"})
PULSE_RANGE = {0: "within", 1: "above_upper", 2: "below_lower", 3: "rfu"}


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    """A decoded 2A35 or 2A36 value; pressures in `unit` as sent (mmHg or kPa)."""

    unit: str
    systolic: MedFloat
    diastolic: MedFloat
    mean_arterial: MedFloat
    timestamp: DateTime | None = None
    pulse_rate: MedFloat | None = None
    user_id: int | None = None  # 0xFF = unknown user
    status: int | None = None  # raw Measurement Status word (RFU bits kept)

    @property
    def pulse_rate_range(self) -> str | None:
        """Bits 3–4 as ONE two-bit field (not two flags)."""
        return None if self.status is None else PULSE_RANGE[(self.status >> 3) & 3]


def parse_bpm(data: bytes) -> BloodPressureMeasurement:
    """Parse a 2A35 / 2A36 value; raises ShortRecord if shorter than its flags require."""
    need(data, 7)
    flags = data[0]
    need(
        data,
        7
        + DATE_TIME_LEN * bool(flags & FLAG_TIMESTAMP)
        + 2 * bool(flags & FLAG_PULSE_RATE)
        + bool(flags & FLAG_USER_ID)
        + 2 * bool(flags & FLAG_STATUS),
    )
    pos = 7
    timestamp = pulse = user = status = None
    if flags & FLAG_TIMESTAMP:
        timestamp = decode_date_time(data, pos)
        pos += DATE_TIME_LEN
    if flags & FLAG_PULSE_RATE:
        pulse = decode_sfloat(data, pos)
        pos += 2
    if flags & FLAG_USER_ID:
        user = data[pos]
        pos += 1
    if flags & FLAG_STATUS:
        status = int.from_bytes(data[pos : pos + 2], "little")
    return BloodPressureMeasurement(
        unit="kPa" if flags & FLAG_KPA else "mmHg",
        systolic=decode_sfloat(data, 1),
        diastolic=decode_sfloat(data, 3),
        mean_arterial=decode_sfloat(data, 5),
        timestamp=timestamp,
        pulse_rate=pulse,
        user_id=user,
        status=status,
    )


def status_flags(status: int | None, features: int | None = None) -> frozenset[str]:
    """Flags from a Measurement Status word; a bit whose feature is known absent is ignored."""
    if status is None:
        return frozenset()
    table = [
        (bit, flag)
        for bit, flag, feature_bit in STATUS_FLAGS
        if features is None or features >> feature_bit & 1
    ]
    return bits_to_flags(status, table)


def _pressure(rec: BloodPressureMeasurement, channel: str, value: MedFloat) -> ValueSpec:
    if rec.unit == "kPa":
        return ValueSpec(channel, value, original_unit="kPa", factor=KPA_TO_MMHG)
    return ValueSpec(channel, value)


def bpm_readings(
    rec: BloodPressureMeasurement,
    t: float,
    source: str,
    dropped: Counter[str] | None = None,
    features: int | None = None,
) -> list[Reading]:
    specs = [
        _pressure(rec, Channel.SBP, rec.systolic),
        _pressure(rec, Channel.DBP, rec.diastolic),
        _pressure(rec, Channel.MAP, rec.mean_arterial),
    ]
    if rec.pulse_rate is not None:
        specs.append(ValueSpec(Channel.PULSE_RATE, rec.pulse_rate))
    status = status_flags(rec.status, features)
    if rec.systolic.reason in NO_RESULT and rec.diastolic.reason in NO_RESULT:
        # A final measurement with neither systolic nor diastolic is a failed cuff cycle: say
        # so, so the technical alarm for a failed BP can fire (BPS has no error code). ±INF
        # is different: the pressure exists but is beyond the cuff's range.
        status |= {Flag.CUFF_ERROR}
    return with_pressure_check(
        make_readings(
            specs,
            t=t,
            status=status,
            source=source,
            device_time=rec.timestamp.iso() if rec.timestamp else None,
            dropped=dropped,
        )
    )


def icp_readings(
    rec: BloodPressureMeasurement,
    t: float,
    source: str,
    dropped: Counter[str] | None = None,
    features: int | None = None,
) -> list[Reading]:
    # Diastolic and MAP are unused in 2A36 (NaN by spec, 0 on some devices): never read them.
    specs = [_pressure(rec, Channel.CUFF_PRESSURE, rec.systolic)]
    if rec.pulse_rate is not None:
        specs.append(ValueSpec(Channel.PULSE_RATE, rec.pulse_rate))
    return make_readings(
        specs,
        t=t,
        status=status_flags(rec.status, features),
        source=source,
        device_time=rec.timestamp.iso() if rec.timestamp else None,
        dropped=dropped,
    )


def encode_bpm(
    systolic: float | None,
    diastolic: float | None,
    mean_arterial: float | None,
    *,
    unit: str = "mmHg",
    timestamp: DateTime | None = None,
    pulse_rate: float | None = None,
    include_pulse_rate: bool = False,
    user_id: int | None = None,
    status: int | None = None,
) -> bytes:
    """A 2A35 value (also 2A36 layout). None → SFLOAT NaN; kPa written with one decimal."""
    exp = -1 if unit == "kPa" else None
    flags = (
        (FLAG_KPA if unit == "kPa" else 0)
        | (FLAG_TIMESTAMP if timestamp is not None else 0)
        | (FLAG_PULSE_RATE if pulse_rate is not None or include_pulse_rate else 0)
        | (FLAG_USER_ID if user_id is not None else 0)
        | (FLAG_STATUS if status is not None else 0)
    )
    out = bytearray([flags])
    for v in (systolic, diastolic, mean_arterial):
        out += encode_sfloat(v, exp)
    if timestamp is not None:
        out += encode_date_time(timestamp)
    if flags & FLAG_PULSE_RATE:
        out += encode_sfloat(pulse_rate)
    if user_id is not None:
        out.append(user_id)
    if status is not None:
        out += status.to_bytes(2, "little")
    return bytes(out)


def encode_icp(
    cuff_pressure: float | None,
    *,
    unit: str = "mmHg",
    pulse_rate: float | None = None,
    status: int | None = None,
) -> bytes:
    """A 2A36 value: the cuff pressure in the systolic slot, diastolic and MAP NaN."""
    return encode_bpm(cuff_pressure, None, None, unit=unit, pulse_rate=pulse_rate, status=status)


# -- 0x2A49 Blood Pressure Feature ----------------------------------------------------------
FEATURE_NAMES = (
    "body_movement",
    "cuff_fit",
    "irregular_pulse",
    "pulse_rate_range",
    "measurement_position",
    "multiple_bonds",
    "e2e_crc",
    "user_data_service",
    "user_facing_time",
)


@dataclass(frozen=True, slots=True)
class BloodPressureFeature:
    raw: int

    def supports(self, name: str) -> bool:
        return bool(self.raw >> FEATURE_NAMES.index(name) & 1)

    @property
    def supported(self) -> frozenset[str]:
        return frozenset(n for i, n in enumerate(FEATURE_NAMES) if self.raw >> i & 1)


def parse_bp_feature(data: bytes) -> BloodPressureFeature:
    need(data, 2)
    return BloodPressureFeature(raw=int.from_bytes(data[0:2], "little"))


def encode_bp_feature(supported: frozenset[str] | set[str]) -> bytes:
    raw = sum(1 << FEATURE_NAMES.index(n) for n in supported)
    return raw.to_bytes(2, "little")


# -- StreamDecoders -------------------------------------------------------------------------
class BloodPressureDecoder(RecordDecoder[BloodPressureMeasurement]):
    """ble-2a35: one Blood Pressure Measurement per feed(). `features` (2A49) when known."""

    def __init__(self, source: str = "ble-bp", features: int | None = None) -> None:
        super().__init__(
            protocol_id="ble-2a35",
            parse=parse_bpm,
            to_readings=lambda r, t, s, d: bpm_readings(r, t, s, d, self.features),
            source=source,
        )
        self.features = features


class CuffPressureDecoder(RecordDecoder[BloodPressureMeasurement]):
    """ble-2a36: one Intermediate Cuff Pressure per feed()."""

    def __init__(self, source: str = "ble-bp", features: int | None = None) -> None:
        super().__init__(
            protocol_id="ble-2a36",
            parse=parse_bpm,
            to_readings=lambda r, t, s, d: icp_readings(r, t, s, d, self.features),
            source=source,
        )
        self.features = features
