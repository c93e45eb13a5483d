"""Heart Rate Service 0x180D: 0x2A37 Heart Rate Measurement (protocols.md §3).

`flags | HR (u8 or u16 LE) | [Energy Expended u16] | [RR u16 LE × n]`, RR in 1/1024 s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from drivers.ble.common import RecordDecoder, ValueSpec, make_readings, need
from drivers.ieee11073 import MedFloat
from monitor.core.models import Channel, Flag, Reading

FLAG_HR_U16 = 0x01
FLAG_CONTACT_SUPPORTED = 0x04  # bits 1–2 read as one field: (flags >> 1) & 3
FLAG_CONTACT_DETECTED = 0x02
FLAG_ENERGY = 0x08
FLAG_RR = 0x10


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    heart_rate: int
    sensor_contact: bool | None = None  # None: the sensor cannot tell
    energy_expended: int | None = None  # kJ
    rr_intervals: tuple[int, ...] = ()  # raw, 1/1024 s

    @property
    def rr_ms(self) -> tuple[float, ...]:
        return tuple(rr * 1000 / 1024 for rr in self.rr_intervals)


def parse_hrm(data: bytes) -> HeartRateMeasurement:
    need(data, 2)
    f = data[0]
    hr_len = 2 if f & FLAG_HR_U16 else 1
    need(data, 1 + hr_len + 2 * bool(f & FLAG_ENERGY) + 2 * bool(f & FLAG_RR))
    hr = int.from_bytes(data[1 : 1 + hr_len], "little")
    pos = 1 + hr_len
    energy = None
    if f & FLAG_ENERGY:
        energy = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    rr: tuple[int, ...] = ()
    if f & FLAG_RR:
        n = (len(data) - pos) // 2  # a dangling odd byte is ignored
        rr = tuple(int.from_bytes(data[pos + 2 * i : pos + 2 * i + 2], "little") for i in range(n))
    contact = {2: False, 3: True}.get((f >> 1) & 3)
    return HeartRateMeasurement(hr, contact, energy, rr)


def hrm_readings(
    rec: HeartRateMeasurement, t: float, source: str, dropped: Counter[str] | None = None
) -> list[Reading]:
    status = frozenset({Flag.PROBE_OFF}) if rec.sensor_contact is False else frozenset()
    # HR 0 is what straps and wrist sensors send when they have no signal (many cannot report
    # contact): no value, not asystole — the oximeter's own pulse rate covers a true arrest.
    hr = MedFloat(None, "zero") if rec.heart_rate == 0 else MedFloat(float(rec.heart_rate))
    return make_readings(
        [ValueSpec(Channel.HEART_RATE, hr)],
        t=t,
        status=status,
        source=source,
        device_time=None,
        dropped=dropped,
    )


def encode_hrm(
    heart_rate: int,
    *,
    sensor_contact: bool | None = None,
    energy_expended: int | None = None,
    rr_intervals: tuple[int, ...] = (),
    u16: bool | None = None,
    include_rr: bool = False,
) -> bytes:
    """A 2A37 value; HR is u8 unless it does not fit (or `u16` says otherwise)."""
    wide = heart_rate > 0xFF if u16 is None else u16
    flags = (FLAG_HR_U16 if wide else 0) | (FLAG_ENERGY if energy_expended is not None else 0)
    if sensor_contact is not None:
        flags |= FLAG_CONTACT_SUPPORTED | (FLAG_CONTACT_DETECTED if sensor_contact else 0)
    if rr_intervals or include_rr:
        flags |= FLAG_RR
    out = bytearray([flags]) + heart_rate.to_bytes(2 if wide else 1, "little")
    if energy_expended is not None:
        out += energy_expended.to_bytes(2, "little")
    for rr in rr_intervals:
        out += rr.to_bytes(2, "little")
    return bytes(out)


class HeartRateDecoder(RecordDecoder[HeartRateMeasurement]):
    """ble-2a37: one Heart Rate Measurement per feed()."""

    def __init__(self, source: str = "ble-hr") -> None:
        super().__init__(
            protocol_id="ble-2a37", parse=parse_hrm, to_readings=hrm_readings, source=source
        )
