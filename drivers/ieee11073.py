"""IEEE 11073-20601 numeric types used by BLE health profiles (protocols.md §1).

SFLOAT (`medfloat16`): 4-bit two's-complement exponent, 12-bit two's-complement mantissa.
FLOAT (`medfloat32`): int8 exponent, signed 24-bit mantissa. Both reserve special values
(NaN, NRes, ±INFINITY, reserved) that are compared on the *whole* raw word before any
arithmetic: a special is never a number (protocols.md §0.1).

Pure functions, no I/O. Decoders never raise on device bytes of the right length; callers
check lengths (a short record is dropped by the characteristic decoder, not here).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple


class MedFloat(NamedTuple):
    """A decoded 11073 number: `value` is None exactly when `reason` names a special."""

    value: float | None
    reason: str | None = None


# -- SFLOAT ---------------------------------------------------------------------------------
SFLOAT_NAN = 0x07FF
SFLOAT_NRES = 0x0800
SFLOAT_POS_INF = 0x07FE
SFLOAT_NEG_INF = 0x0802
SFLOAT_RESERVED = 0x0801
SFLOAT_SPECIALS: dict[int, str] = {
    SFLOAT_NAN: "nan",
    SFLOAT_NRES: "nres",
    SFLOAT_POS_INF: "pos_inf",
    SFLOAT_NEG_INF: "neg_inf",
    SFLOAT_RESERVED: "reserved",
}
# The encoder never emits a mantissa in 0x7FE..0x802 (±2046..2048) at any exponent: some
# decoders test the mantissa alone and would read such a value as a special.
SFLOAT_MAX_MANTISSA = 2045


def _scale(mantissa: int, exponent: int) -> float:
    # Decimal keeps m × 10^e exact until the single final rounding to float: 1205e-1 → 120.5,
    # not 120.50000000000001.
    return float(Decimal(mantissa).scaleb(exponent))


def sfloat_from_raw(raw: int) -> MedFloat:
    """Decode a 16-bit SFLOAT word (already assembled from its little-endian bytes)."""
    raw &= 0xFFFF
    special = SFLOAT_SPECIALS.get(raw)
    if special is not None:
        return MedFloat(None, special)
    mantissa = raw & 0x0FFF
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    exponent = raw >> 12
    if exponent >= 0x8:  # two's complement, NOT a bias of 8 (protocols.md §11)
        exponent -= 0x10
    return MedFloat(_scale(mantissa, exponent))


def decode_sfloat(data: bytes, offset: int = 0) -> MedFloat:
    """Decode the little-endian SFLOAT at `data[offset:offset+2]`."""
    return sfloat_from_raw(int.from_bytes(data[offset : offset + 2], "little"))


def _pick_pair(value: float, max_mantissa: int, exponents: range) -> tuple[int, int]:
    """The canonical (mantissa, exponent): the exact pair with the fewest decimals, else the
    smallest exponent whose rounded mantissa fits."""
    dec = Decimal(repr(value))  # repr: the shortest decimal that round-trips the float
    if not dec.is_finite():
        raise ValueError(f"cannot encode {value!r}; use None for 'no value'")
    normal = dec.normalize()
    exp = int(normal.as_tuple().exponent)
    want = min(exp, 0)  # integers get exponent 0 even when a larger one would do
    for e in range(max(want, exponents.start), exponents.stop):
        exact = dec.scaleb(-e)
        if exact == exact.to_integral_value() and abs(int(exact)) <= max_mantissa:
            return int(exact), e
    for e in exponents:
        rounded = int(dec.scaleb(-e).to_integral_value())  # ROUND_HALF_EVEN
        if abs(rounded) <= max_mantissa:
            return rounded, e
    raise ValueError(f"{value!r} is out of range for this 11073 type")


def sfloat_raw(value: float | None, exponent: int | None = None) -> int:
    """The 16-bit SFLOAT word for `value` (None → NaN).

    `exponent` forces a resolution (e.g. -1 for kPa); the value is rounded to it. Without it
    the canonical pair of protocols.md §1.1 is chosen.
    """
    if value is None:
        return SFLOAT_NAN
    if exponent is None:
        mantissa, exponent = _pick_pair(value, SFLOAT_MAX_MANTISSA, range(-8, 8))
    else:
        if not -8 <= exponent <= 7:
            raise ValueError(f"SFLOAT exponent {exponent} outside -8..7")
        mantissa = int(Decimal(repr(value)).scaleb(-exponent).to_integral_value())
        if abs(mantissa) > SFLOAT_MAX_MANTISSA:
            raise ValueError(f"{value!r} does not fit an SFLOAT at exponent {exponent}")
    return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)


def encode_sfloat(value: float | None, exponent: int | None = None) -> bytes:
    """Little-endian SFLOAT bytes for `value` (None → NaN)."""
    return sfloat_raw(value, exponent).to_bytes(2, "little")


# -- FLOAT ----------------------------------------------------------------------------------
FLOAT_NAN = 0x007FFFFF
FLOAT_NRES = 0x00800000
FLOAT_POS_INF = 0x007FFFFE
FLOAT_NEG_INF = 0x00800002
FLOAT_RESERVED = 0x00800001
FLOAT_SPECIALS: dict[int, str] = {
    FLOAT_NAN: "nan",
    FLOAT_NRES: "nres",
    FLOAT_POS_INF: "pos_inf",
    FLOAT_NEG_INF: "neg_inf",
    FLOAT_RESERVED: "reserved",
}
FLOAT_MAX_MANTISSA = 0x7FFFFD  # stay clear of the special mantissas, as for SFLOAT

ByteOrder = Literal["little", "big"]


def float_from_raw(raw: int) -> MedFloat:
    """Decode a 32-bit FLOAT word."""
    raw &= 0xFFFFFFFF
    special = FLOAT_SPECIALS.get(raw)
    if special is not None:
        return MedFloat(None, special)
    mantissa = raw & 0x00FFFFFF
    if mantissa >= 0x00800000:
        mantissa -= 0x01000000
    exponent = raw >> 24
    if exponent >= 0x80:  # signed int8, not a bias of 128
        exponent -= 0x100
    return MedFloat(_scale(mantissa, exponent))


def decode_float(data: bytes, offset: int = 0, byteorder: ByteOrder = "little") -> MedFloat:
    """Decode the FLOAT at `data[offset:offset+4]` (little-endian in BLE, big in IntelliVue)."""
    return float_from_raw(int.from_bytes(data[offset : offset + 4], byteorder))


def float_raw(value: float | None, exponent: int | None = None) -> int:
    if value is None:
        return FLOAT_NAN
    if exponent is None:
        mantissa, exponent = _pick_pair(value, FLOAT_MAX_MANTISSA, range(-128, 128))
    else:
        if not -128 <= exponent <= 127:
            raise ValueError(f"FLOAT exponent {exponent} outside -128..127")
        mantissa = int(Decimal(repr(value)).scaleb(-exponent).to_integral_value())
        if abs(mantissa) > FLOAT_MAX_MANTISSA:
            raise ValueError(f"{value!r} does not fit a FLOAT at exponent {exponent}")
    return ((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF)


def encode_float(
    value: float | None, exponent: int | None = None, byteorder: ByteOrder = "little"
) -> bytes:
    return float_raw(value, exponent).to_bytes(4, byteorder)


# -- Date Time ------------------------------------------------------------------------------
DATE_TIME_LEN = 7


@dataclass(frozen=True, slots=True)
class DateTime:
    """A device's zoneless clock reading; unknown or out-of-range fields are None.

    Never turned into a `datetime`: year 0 means "unknown" and device clocks are unsynchronised,
    so this is metadata only (protocols.md §0.5, §1.3). The one exception is a recency check:
    drivers.ble.bp_replay compares a complete one with the receive time, through the cuff's
    learned or assumed clock offset, to tell a replayed cuff record from the current one.
    """

    year: int | None
    month: int | None
    day: int | None
    hours: int | None
    minutes: int | None
    seconds: int | None

    def iso(self) -> str:
        """ISO-8601-like text with `-`/`?` placeholders for unknown fields."""

        def f(v: int | None, width: int) -> str:
            return "?" * width if v is None else f"{v:0{width}d}"

        return (
            f"{f(self.year, 4)}-{f(self.month, 2)}-{f(self.day, 2)}"
            f"T{f(self.hours, 2)}:{f(self.minutes, 2)}:{f(self.seconds, 2)}"
        )


def _field(v: int, lo: int, hi: int) -> int | None:
    return v if lo <= v <= hi else None


def decode_date_time(data: bytes, offset: int = 0) -> DateTime:
    """Decode the 7-byte Date Time at `data[offset:]` (caller checks the length)."""
    b = data[offset : offset + DATE_TIME_LEN]
    year = int.from_bytes(b[0:2], "little")
    return DateTime(
        year=_field(year, 1582, 9999),  # 0 = unknown; the spec's range is 1582..9999
        month=_field(b[2], 1, 12),  # 0 = unknown
        day=_field(b[3], 1, 31),  # 0 = unknown
        hours=_field(b[4], 0, 23),
        minutes=_field(b[5], 0, 59),
        seconds=_field(b[6], 0, 59),
    )


def encode_date_time(dt: DateTime) -> bytes:
    """The 7 bytes for `dt`; unknown year/month/day are written as 0 (time fields must be set)."""
    return (dt.year or 0).to_bytes(2, "little") + bytes(
        [dt.month or 0, dt.day or 0, dt.hours or 0, dt.minutes or 0, dt.seconds or 0]
    )
