"""Pulse Oximeter Service 0x1822 (PLXS 1.0.1): 0x2A5E spot-check, 0x2A5F continuous, 0x2A60.

protocols.md §4. 2A5E and 2A5F use DIFFERENT flag bits, so each has its own flag constants;
only the status words (Measurement Status u16, Device and Sensor Status u24) are shared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from drivers.ble.common import RecordDecoder, ValueSpec, bits_to_flags, make_readings, need
from drivers.ieee11073 import (
    DATE_TIME_LEN,
    DateTime,
    MedFloat,
    decode_date_time,
    decode_sfloat,
    encode_date_time,
    encode_sfloat,
)
from monitor.core.models import Channel, Flag, Reading

# 2A5E Spot-Check flags
SPOT_TIMESTAMP = 0x01
SPOT_MEAS_STATUS = 0x02
SPOT_DEV_STATUS = 0x04
SPOT_PAI = 0x08
SPOT_CLOCK_NOT_SET = 0x10
# 2A5F Continuous flags
CONT_FAST = 0x01
CONT_SLOW = 0x02
CONT_MEAS_STATUS = 0x04
CONT_DEV_STATUS = 0x08
CONT_PAI = 0x10

# Measurement Status (u16) bits
MS_ONGOING = 5
MS_EARLY_ESTIMATE = 6
MS_VALIDATED = 7
MS_FULLY_QUALIFIED = 8
MS_FROM_STORAGE = 9
MS_DEMO = 10
MS_TESTING = 11
MS_CALIBRATING = 12
MS_UNAVAILABLE = 13
MS_QUESTIONABLE = 14
MS_INVALID = 15
MEAS_STATUS_FLAGS: tuple[tuple[int, str], ...] = (
    (MS_DEMO, Flag.DEMO),  # demonstration data: never a physiological alarm
    (MS_TESTING, Flag.DEMO),  # test data: likewise
    (MS_CALIBRATING, Flag.SEARCHING),
    (MS_UNAVAILABLE, Flag.INVALID),
    (MS_QUESTIONABLE, Flag.QUESTIONABLE),
    (MS_INVALID, Flag.INVALID),
)
NO_VALUE_MASK = (1 << MS_UNAVAILABLE) | (1 << MS_INVALID)

# Device and Sensor Status (u24) bits
DS_EQUIPMENT_MALFUNCTION = 1
DS_SIGNAL_PROCESSING_IRREGULARITY = 2
DS_INADEQUATE_SIGNAL = 3
DS_POOR_SIGNAL = 4
DS_LOW_PERFUSION = 5
DS_ERRATIC_SIGNAL = 6
DS_NON_PULSATILE = 7
DS_QUESTIONABLE_PULSE = 8
DS_SIGNAL_ANALYSIS_ONGOING = 9
DS_INTERFERENCE = 10
DS_UNCONNECTED_TO_USER = 11
DS_UNKNOWN_SENSOR = 12
DS_SENSOR_DISPLACED = 13
DS_SENSOR_MALFUNCTION = 14
DS_SENSOR_DISCONNECTED = 15
DEV_STATUS_FLAGS: tuple[tuple[int, str], ...] = (
    (DS_EQUIPMENT_MALFUNCTION, Flag.SENSOR_FAULT),
    (DS_SIGNAL_PROCESSING_IRREGULARITY, Flag.QUESTIONABLE),
    (DS_INADEQUATE_SIGNAL, Flag.LOW_SIGNAL_QUALITY),
    (DS_POOR_SIGNAL, Flag.LOW_SIGNAL_QUALITY),
    (DS_LOW_PERFUSION, Flag.LOW_PERFUSION),
    # PLXS has no motion bit; an erratic signal is what motion artefact looks like to it.
    (DS_ERRATIC_SIGNAL, Flag.MOTION),
    (DS_NON_PULSATILE, Flag.LOW_SIGNAL_QUALITY),
    (DS_QUESTIONABLE_PULSE, Flag.QUESTIONABLE),
    (DS_SIGNAL_ANALYSIS_ONGOING, Flag.SEARCHING),
    (DS_INTERFERENCE, Flag.INTERFERENCE),
    (DS_UNCONNECTED_TO_USER, Flag.PROBE_OFF),
    (DS_UNKNOWN_SENSOR, Flag.SENSOR_FAULT),
    (DS_SENSOR_DISPLACED, Flag.PROBE_OFF),
    (DS_SENSOR_MALFUNCTION, Flag.SENSOR_FAULT),
    (DS_SENSOR_DISCONNECTED, Flag.PROBE_OFF),
)


@dataclass(frozen=True, slots=True)
class PlxSpotCheck:
    """A decoded 2A5E value."""

    spo2: MedFloat
    pulse_rate: MedFloat
    timestamp: DateTime | None = None
    clock_not_set: bool = False  # the timestamp is meaningless
    measurement_status: int | None = None
    device_status: int | None = None
    pai: MedFloat | None = None


@dataclass(frozen=True, slots=True)
class PlxContinuous:
    """A decoded 2A5F value; `fast`/`slow` are (SpO2, PR) pairs when present."""

    spo2: MedFloat
    pulse_rate: MedFloat
    fast: tuple[MedFloat, MedFloat] | None = None
    slow: tuple[MedFloat, MedFloat] | None = None
    measurement_status: int | None = None
    device_status: int | None = None
    pai: MedFloat | None = None


def parse_spot_check(data: bytes) -> PlxSpotCheck:
    need(data, 5)
    f = data[0]
    need(
        data,
        5
        + DATE_TIME_LEN * bool(f & SPOT_TIMESTAMP)
        + 2 * bool(f & SPOT_MEAS_STATUS)
        + 3 * bool(f & SPOT_DEV_STATUS)
        + 2 * bool(f & SPOT_PAI),
    )
    pos = 5
    ts = ms = ds = pai = None
    if f & SPOT_TIMESTAMP:
        ts = decode_date_time(data, pos)
        pos += DATE_TIME_LEN
    if f & SPOT_MEAS_STATUS:
        ms = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    if f & SPOT_DEV_STATUS:
        ds = int.from_bytes(data[pos : pos + 3], "little")
        pos += 3
    if f & SPOT_PAI:
        pai = decode_sfloat(data, pos)
    return PlxSpotCheck(
        spo2=decode_sfloat(data, 1),
        pulse_rate=decode_sfloat(data, 3),
        timestamp=ts,
        clock_not_set=bool(f & SPOT_CLOCK_NOT_SET),
        measurement_status=ms,
        device_status=ds,
        pai=pai,
    )


def parse_continuous(data: bytes) -> PlxContinuous:
    need(data, 5)
    f = data[0]
    need(
        data,
        5
        + 4 * bool(f & CONT_FAST)
        + 4 * bool(f & CONT_SLOW)
        + 2 * bool(f & CONT_MEAS_STATUS)
        + 3 * bool(f & CONT_DEV_STATUS)
        + 2 * bool(f & CONT_PAI),
    )
    pos = 5
    fast = slow = None
    ms = ds = pai = None
    if f & CONT_FAST:
        fast = (decode_sfloat(data, pos), decode_sfloat(data, pos + 2))
        pos += 4
    if f & CONT_SLOW:
        slow = (decode_sfloat(data, pos), decode_sfloat(data, pos + 2))
        pos += 4
    if f & CONT_MEAS_STATUS:
        ms = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    if f & CONT_DEV_STATUS:
        ds = int.from_bytes(data[pos : pos + 3], "little")
        pos += 3
    if f & CONT_PAI:
        pai = decode_sfloat(data, pos)
    return PlxContinuous(
        spo2=decode_sfloat(data, 1),
        pulse_rate=decode_sfloat(data, 3),
        fast=fast,
        slow=slow,
        measurement_status=ms,
        device_status=ds,
        pai=pai,
    )


def plx_status_flags(
    measurement_status: int | None,
    device_status: int | None,
    features: PlxFeatures | None = None,
) -> frozenset[str]:
    """Flags from both status words; bits the device says it does not support are ignored."""
    ms = measurement_status or 0
    ds = device_status or 0
    if features is not None:
        if features.measurement_status_support is not None:
            ms &= features.measurement_status_support
        if features.device_status_support is not None:
            ds &= features.device_status_support
    return bits_to_flags(ms, MEAS_STATUS_FLAGS) | bits_to_flags(ds, DEV_STATUS_FLAGS)


def plx_readings(
    rec: PlxSpotCheck | PlxContinuous,
    t: float,
    source: str,
    dropped: Counter[str] | None = None,
    features: PlxFeatures | None = None,
) -> list[Reading]:
    specs = [ValueSpec(Channel.SPO2, rec.spo2), ValueSpec(Channel.PULSE_RATE, rec.pulse_rate)]
    if rec.pai is not None:
        specs.append(ValueSpec(Channel.PERFUSION_INDEX, rec.pai))
    # "Unavailable" / "invalid" measurement: the device says these numbers are not values.
    ms = rec.measurement_status or 0
    if features is not None and features.measurement_status_support is not None:
        ms &= features.measurement_status_support
    device_time = None
    if isinstance(rec, PlxSpotCheck) and rec.timestamp is not None and not rec.clock_not_set:
        device_time = rec.timestamp.iso()
    return make_readings(
        specs,
        t=t,
        status=plx_status_flags(rec.measurement_status, rec.device_status, features),
        source=source,
        device_time=device_time,
        value_valid=not ms & NO_VALUE_MASK,
        dropped=dropped,
    )


def encode_spot_check(
    spo2: float | None,
    pulse_rate: float | None,
    *,
    timestamp: DateTime | None = None,
    clock_not_set: bool = False,
    measurement_status: int | None = None,
    device_status: int | None = None,
    pai: float | None = None,
    include_pai: bool = False,
) -> bytes:
    flags = (
        (SPOT_TIMESTAMP if timestamp is not None else 0)
        | (SPOT_MEAS_STATUS if measurement_status is not None else 0)
        | (SPOT_DEV_STATUS if device_status is not None else 0)
        | (SPOT_PAI if pai is not None or include_pai else 0)
        | (SPOT_CLOCK_NOT_SET if clock_not_set else 0)
    )
    out = bytearray([flags]) + encode_sfloat(spo2) + encode_sfloat(pulse_rate)
    if timestamp is not None:
        out += encode_date_time(timestamp)
    if measurement_status is not None:
        out += measurement_status.to_bytes(2, "little")
    if device_status is not None:
        out += device_status.to_bytes(3, "little")
    if flags & SPOT_PAI:
        out += encode_sfloat(pai, None if pai is None else -1)
    return bytes(out)


def encode_continuous(
    spo2: float | None,
    pulse_rate: float | None,
    *,
    fast: tuple[float | None, float | None] | None = None,
    slow: tuple[float | None, float | None] | None = None,
    measurement_status: int | None = None,
    device_status: int | None = None,
    pai: float | None = None,
    include_pai: bool = False,
) -> bytes:
    flags = (
        (CONT_FAST if fast is not None else 0)
        | (CONT_SLOW if slow is not None else 0)
        | (CONT_MEAS_STATUS if measurement_status is not None else 0)
        | (CONT_DEV_STATUS if device_status is not None else 0)
        | (CONT_PAI if pai is not None or include_pai else 0)
    )
    out = bytearray([flags]) + encode_sfloat(spo2) + encode_sfloat(pulse_rate)
    for pair in (fast, slow):
        if pair is not None:
            out += encode_sfloat(pair[0]) + encode_sfloat(pair[1])
    if measurement_status is not None:
        out += measurement_status.to_bytes(2, "little")
    if device_status is not None:
        out += device_status.to_bytes(3, "little")
    if flags & CONT_PAI:
        out += encode_sfloat(pai, None if pai is None else -1)
    return bytes(out)


# -- 0x2A60 PLX Features --------------------------------------------------------------------
FEAT_MEAS_STATUS = 0x0001
FEAT_DEV_STATUS = 0x0002
FEAT_SPOT_STORAGE = 0x0004
FEAT_SPOT_TIMESTAMP = 0x0008
FEAT_FAST = 0x0010
FEAT_SLOW = 0x0020
FEAT_PAI = 0x0040
FEAT_MULTIPLE_BONDS = 0x0080


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    supported: int
    measurement_status_support: int | None = None
    device_status_support: int | None = None


def parse_plx_features(data: bytes) -> PlxFeatures:
    need(data, 2)
    sup = int.from_bytes(data[0:2], "little")
    need(data, 2 + 2 * bool(sup & FEAT_MEAS_STATUS) + 3 * bool(sup & FEAT_DEV_STATUS))
    pos = 2
    ms = ds = None
    if sup & FEAT_MEAS_STATUS:
        ms = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    if sup & FEAT_DEV_STATUS:
        ds = int.from_bytes(data[pos : pos + 3], "little")
    return PlxFeatures(sup, ms, ds)


def encode_plx_features(features: PlxFeatures) -> bytes:
    sup = features.supported
    if features.measurement_status_support is not None:
        sup |= FEAT_MEAS_STATUS
    if features.device_status_support is not None:
        sup |= FEAT_DEV_STATUS
    out = bytearray(sup.to_bytes(2, "little"))
    if features.measurement_status_support is not None:
        out += features.measurement_status_support.to_bytes(2, "little")
    if features.device_status_support is not None:
        out += features.device_status_support.to_bytes(3, "little")
    return bytes(out)


# -- StreamDecoders -------------------------------------------------------------------------
class PlxSpotCheckDecoder(RecordDecoder[PlxSpotCheck]):
    """ble-2a5e: one PLX Spot-Check Measurement per feed(). `features` (2A60) when known."""

    def __init__(self, source: str = "ble-plx", features: PlxFeatures | None = None) -> None:
        super().__init__(
            protocol_id="ble-2a5e",
            parse=parse_spot_check,
            to_readings=lambda r, t, s, d: plx_readings(r, t, s, d, self.features),
            source=source,
        )
        self.features = features


class PlxContinuousDecoder(RecordDecoder[PlxContinuous]):
    """ble-2a5f: one PLX Continuous Measurement per feed(). `features` (2A60) when known."""

    def __init__(self, source: str = "ble-plx", features: PlxFeatures | None = None) -> None:
        super().__init__(
            protocol_id="ble-2a5f",
            parse=parse_continuous,
            to_readings=lambda r, t, s, d: plx_readings(r, t, s, d, self.features),
            source=source,
        )
        self.features = features
