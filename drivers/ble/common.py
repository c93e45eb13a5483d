"""Shared pieces of the BLE characteristic decoders: UUIDs, plausibility, the record wrapper.

One characteristic value is one record (protocols.md §0.3, §12): a record shorter than its
flags require is dropped whole and counted; a longer one is decoded and its tail ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from drivers.errors import ShortRecord as ShortRecord  # its home: drivers/errors.py
from drivers.ieee11073 import MedFloat
from drivers.values import plausible
from monitor.core.models import CANONICAL_UNIT, Flag, Reading

BASE_UUID = "0000{:04x}-0000-1000-8000-00805f9b34fb"


def uuid16(short: int) -> str:
    """The full 128-bit UUID string of a SIG-assigned 16-bit UUID (bleak's spelling)."""
    return BASE_UUID.format(short)


# Services and characteristics (Bluetooth SIG assigned numbers).
BPS_SERVICE = 0x1810
PLXS_SERVICE = 0x1822
HRS_SERVICE = 0x180D
BPM_CHAR = 0x2A35
ICP_CHAR = 0x2A36
BP_FEATURE_CHAR = 0x2A49
PLX_SPOT_CHAR = 0x2A5E
PLX_CONT_CHAR = 0x2A5F
PLX_FEATURES_CHAR = 0x2A60
HRM_CHAR = 0x2A37

KPA_TO_MMHG = 7.50062


def need(data: bytes, length: int) -> None:
    if len(data) < length:
        raise ShortRecord(f"need {length} bytes, have {len(data)}")


def bits_to_flags(word: int, table: Iterable[tuple[int, str]]) -> frozenset[str]:
    return frozenset(flag for bit, flag in table if word >> bit & 1)


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """One channel value of a record, before it becomes a Reading."""

    channel: str
    value: MedFloat
    original_unit: str | None = None  # set when converted (kPa → mmHg)
    factor: float = 1.0


def make_readings(
    specs: Iterable[ValueSpec],
    *,
    t: float,
    status: frozenset[str],
    source: str,
    device_time: str | None,
    value_valid: bool = True,
    dropped: Counter[str] | None = None,
) -> list[Reading]:
    """Turn decoded values into canonical Readings.

    A special (NaN, NRes, ±INF, reserved), a value the device marked invalid
    (`value_valid` False) becomes value None with the `invalid` flag; an implausible value
    keeps its value with the `implausible` flag.
    """
    out: list[Reading] = []
    for spec in specs:
        value = spec.value.value
        flags = status
        if value is not None and value_valid:
            value = round(value * spec.factor, 1) if spec.factor != 1.0 else value
            if not plausible(spec.channel, value):  # one table for every protocol
                flags = flags | {Flag.IMPLAUSIBLE}  # kept for the record, never used
                if dropped is not None:
                    dropped["implausible_value"] += 1
        else:
            value = None
        if value is None:
            flags = flags | {Flag.INVALID}
        out.append(
            Reading(
                t=t,
                channel=spec.channel,
                value=value,
                unit=CANONICAL_UNIT[spec.channel],
                status=flags,
                source=source,
                device_time=device_time,
                original_unit=spec.original_unit,
            )
        )
    return out


R = TypeVar("R")


@dataclass
class RecordDecoder(Generic[R]):
    """A StreamDecoder for one BLE characteristic: ONE `feed` call = ONE characteristic value.

    `parse` turns bytes into a typed record (raising ShortRecord); `to_readings` turns the
    record into Readings. Never raises on device input.
    """

    protocol_id: str
    parse: Callable[[bytes], R]
    to_readings: Callable[[R, float, str, Counter[str]], list[Reading]]
    source: str = ""
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    last_record: R | None = None

    def feed(self, data: bytes, t: float) -> list[Reading]:
        try:
            record = self.parse(bytes(data))
        except ShortRecord:
            self.dropped["short"] += 1
            return []
        except Exception:  # a decoder bug must not crash the driver; count it, keep going
            self.dropped["error"] += 1
            return []
        self.frames += 1
        self.last_record = record
        return self.to_readings(record, t, self.source, self.dropped)
