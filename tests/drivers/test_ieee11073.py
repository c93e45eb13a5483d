"""IEEE 11073-20601 SFLOAT / FLOAT / Date Time: vector tables and round trips.

Sources: ISO/IEEE 11073-20601 special values as tabulated in protocols.md §1.1–1.3;
NordicSemiconductor/Android-BLE-Common-Library `BloodPressureMeasurementDataCallbackTest.java`
(SFLOAT 0xF0BD = 18.9, 0xF09F = 15.9, 0x008A = 138); protocols.md §11 (the bias-of-8 bug).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ieee11073 import (
    DateTime,
    MedFloat,
    decode_date_time,
    decode_float,
    decode_sfloat,
    encode_date_time,
    encode_float,
    encode_sfloat,
    float_from_raw,
    sfloat_from_raw,
    sfloat_raw,
)

SFLOAT_VECTORS = [
    # raw, expected, source
    (0x07FF, MedFloat(None, "nan"), "11073-20601 special NaN"),
    (0x0800, MedFloat(None, "nres"), "11073-20601 special NRes"),
    (0x07FE, MedFloat(None, "pos_inf"), "11073-20601 special +INF"),
    (0x0802, MedFloat(None, "neg_inf"), "11073-20601 special -INF"),
    (0x0801, MedFloat(None, "reserved"), "11073-20601 reserved"),
    (0x008A, MedFloat(138.0), "Nordic BPM test: systolic 138"),
    (0xF0BD, MedFloat(18.9), "Nordic BPM test: 189e-1 kPa"),
    (0xF09F, MedFloat(15.9), "Nordic BPM test: 159e-1 kPa"),
    (0x000B, MedFloat(11.0), "Nordic BPM test: 11e0"),
    # Two's-complement exponent, not biased (protocols.md §11): nibble 8 is -8.
    (0x8078, MedFloat(1.2e-6), "protocols.md §1.1: exponent nibble 8 = -8"),
    (0x1078, MedFloat(1200.0), "exponent +1"),
    (0x7001, MedFloat(1e7), "largest exponent"),
    (0x0FFF, MedFloat(-1.0), "mantissa -1"),
    (0x0803, MedFloat(-2045.0), "most negative non-special mantissa at exponent 0"),
    # The same mantissa as a special but a non-zero exponent is a number (full-word compare).
    (0x17FF, MedFloat(20470.0), "0x7FF at exponent 1 is not NaN"),
    (0xF800, MedFloat(-204.8), "0x800 at exponent -1 is not NRes"),
]


@pytest.mark.parametrize(("raw", "expected", "source"), SFLOAT_VECTORS)
def test_sfloat_vectors(raw: int, expected: MedFloat, source: str) -> None:
    assert sfloat_from_raw(raw) == expected, source
    assert decode_sfloat(raw.to_bytes(2, "little")) == expected, source


ENCODE_VECTORS = [
    # value, exponent arg, raw, why
    (120, None, 0x0078, "integer mmHg: exponent 0"),
    (97.0, None, 0x0061, "integer %: exponent 0"),
    (18.9, None, 0xF0BD, "one decimal: exponent -1"),
    (3.25, None, 0xE145, "two decimals: exponent -2"),
    (5000, None, 0x11F4, "too big for exponent 0: 500e1"),
    (2046, None, 0x10CD, "2046 would be a special mantissa: 205e1 (rounded)"),
    (1.23456, None, 0xD4D3, "no exact pair: 1235e-3, smallest exponent that fits"),
    (16.0, -1, 0xF0A0, "kPa forced to one decimal"),
    (None, None, 0x07FF, "no value → NaN"),
    (-40, None, 0x0FD8, "negative integer"),
]


@pytest.mark.parametrize(("value", "exponent", "raw", "why"), ENCODE_VECTORS)
def test_sfloat_canonical_encoder(
    value: float | None, exponent: int | None, raw: int, why: str
) -> None:
    assert sfloat_raw(value, exponent) == raw, why


def test_sfloat_encoder_rejects_what_cannot_be_sent() -> None:
    with pytest.raises(ValueError):
        encode_sfloat(float("nan"))
    with pytest.raises(ValueError):
        encode_sfloat(3000, exponent=0)
    with pytest.raises(ValueError):
        encode_sfloat(1e12)


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_round_trip_values(mantissa: int, exponent: int) -> None:
    value = sfloat_from_raw(((exponent & 0xF) << 12) | (mantissa & 0xFFF)).value
    assert value is not None
    again = decode_sfloat(encode_sfloat(value))
    assert again.value == pytest.approx(value, rel=1e-12, abs=1e-12)
    raw = sfloat_raw(value)
    # The encoder never emits a special mantissa, at any exponent.
    assert raw & 0x0FFF not in {0x7FE, 0x7FF, 0x800, 0x801, 0x802}


@given(st.integers(0, 0xFFFF))
def test_any_sfloat_word_decodes_without_raising(raw: int) -> None:
    result = sfloat_from_raw(raw)
    assert (result.value is None) == (result.reason is not None)


FLOAT_VECTORS = [
    (0x007FFFFF, MedFloat(None, "nan"), "11073-20601 FLOAT NaN"),
    (0x00800000, MedFloat(None, "nres"), "FLOAT NRes"),
    (0x007FFFFE, MedFloat(None, "pos_inf"), "FLOAT +INF"),
    (0x00800002, MedFloat(None, "neg_inf"), "FLOAT -INF"),
    (0x00800001, MedFloat(None, "reserved"), "FLOAT reserved"),
    (0xFF000096, MedFloat(15.0), "150e-1: exponent int8 -1"),
    (0x80000001, MedFloat(1e-128), "exponent -128, not a bias of 128"),
    (0x00FFFFFF, MedFloat(-1.0), "mantissa -1"),
    (0x017FFFFF, MedFloat(83886070.0), "NaN mantissa at exponent 1 is a number"),
]


@pytest.mark.parametrize(("raw", "expected", "source"), FLOAT_VECTORS)
def test_float_vectors(raw: int, expected: MedFloat, source: str) -> None:
    assert float_from_raw(raw) == expected, source
    assert decode_float(raw.to_bytes(4, "little")) == expected, source
    # Philips IntelliVue Data Export sends FLOAT big-endian (protocols.md §1.2).
    assert decode_float(raw.to_bytes(4, "big"), byteorder="big") == expected, source


@pytest.mark.parametrize("value", [15.0, 98.6, -3.5, 123456.0, 0.001, None])
def test_float_round_trip(value: float | None) -> None:
    for order in ("little", "big"):
        assert decode_float(encode_float(value, byteorder=order), byteorder=order).value == value


DATE_VECTORS = [
    (
        bytes([0x00, 0x00, 4, 17, 20, 41, 59]),
        DateTime(None, 4, 17, 20, 41, 59),
        "Nordic BPM test: year 0 = unknown",
    ),
    (bytes([0xEA, 0x07, 11, 23, 2, 45, 0]), DateTime(2026, 11, 23, 2, 45, 0), "full date"),
    (
        bytes([0xEA, 0x07, 0, 0, 2, 45, 0]),
        DateTime(2026, None, None, 2, 45, 0),
        "unknown month/day",
    ),
    (
        bytes([0xEA, 0x07, 13, 32, 24, 60, 60]),
        DateTime(2026, None, None, None, None, None),
        "out of range",
    ),
]


@pytest.mark.parametrize(("data", "expected", "source"), DATE_VECTORS)
def test_date_time_vectors(data: bytes, expected: DateTime, source: str) -> None:
    assert decode_date_time(data) == expected, source


def test_date_time_round_trip_and_text() -> None:
    dt = DateTime(None, 4, 17, 20, 41, 59)
    assert decode_date_time(encode_date_time(dt)) == dt
    assert dt.iso() == "????-04-17T20:41:59"
