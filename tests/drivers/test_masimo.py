"""Masimo ASCII 1 decoder: captured-style lines, sentinels, garbage and resync."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.masimo import MasimoDecoder, encode_line, parse_value
from monitor.core.models import Flag, Reading

T = 1000.0

# Rad-8 line layout as in the Rad-8 operator's manual (ASCII 1) and mdpnp poxrad_discrete.h.
RAD8 = (
    b"11/23/26 10:15:02 SN=0000012345 SPO2=097% BPM=072 PI=03.45% SPCO=--.-% "
    b"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
)
# Radical-7 colour build: 6-digit ALARM, extra keys, different order (parse by key).
RADICAL7 = (
    b"11/23/26 10:15:03 SN=---------- SPO2=088% BPM=131 PI=00.41% SPHB=--.- PVI=--- "
    b"ALARM=000012 EXC=000004 EXC1=00000000 RESVD=--------\r\n"
)
# Radical-5: short field set, 2-digit ALARM, 3-digit EXC, sensor off with dashes.
RADICAL5 = b"11/23/26 10:15:04 SPO2=---% BPM=--- PI=--.--% ALARM=00 EXC=020\r\n"


def readings(data: bytes) -> tuple[MasimoDecoder, list[Reading]]:
    dec = MasimoDecoder(source="ox")
    return dec, dec.feed(data, T)


def test_rad8_line_decodes_every_channel() -> None:
    dec, out = readings(RAD8)
    assert out == [
        Reading(T, "spo2", 97.0, "%", frozenset(), "ox", "11/23/26 10:15:02"),
        Reading(T, "pulse_rate", 72.0, "bpm", frozenset(), "ox", "11/23/26 10:15:02"),
        Reading(T, "perfusion_index", 3.45, "%", frozenset(), "ox", "11/23/26 10:15:02"),
    ]
    assert dec.frames == 1 and not dec.dropped


def test_radical7_keys_in_other_order_and_status_bits() -> None:
    _, out = readings(RADICAL7)
    by = {r.channel: r for r in out}
    assert by["spo2"].value == 88.0 and by["pulse_rate"].value == 131.0
    # ALARM 0x12: SpO2 low + alarm active; EXC 0x04: low perfusion.
    assert by["spo2"].status == frozenset({Flag.DEVICE_ALARM, Flag.LOW_PERFUSION})
    assert not by["spo2"].usable


def test_dashes_are_none_with_probe_off_status() -> None:
    _, out = readings(RADICAL5)
    assert [(r.channel, r.value) for r in out] == [
        ("spo2", None),
        ("pulse_rate", None),
        ("perfusion_index", None),
    ]
    # EXC 0x020 = sensor off; the dashes themselves say "no value" (INVALID).
    assert all(r.status == {Flag.PROBE_OFF, Flag.INVALID} for r in out)


def test_split_reads_and_partial_first_line() -> None:
    dec = MasimoDecoder()
    # The port opened mid-line: the partial first line is dropped and counted, then the
    # next line arrives split across three reads.
    out = dec.feed(b"PI=03.45% ALARM=0000 EXC=000800\r\n" + RAD8[:20], T)
    out += dec.feed(RAD8[20:50], T)
    out += dec.feed(RAD8[50:], T)
    assert [r.value for r in out] == [97.0, 72.0, 3.45]
    assert dec.dropped == {"bad_prefix": 1}


def test_garbled_lines_are_counted_and_yield_nothing() -> None:
    dec = MasimoDecoder()
    bad = [
        b"11/23/26 10:15:02 SPO2=9x7% BPM=072\r\n",  # would have been SpO2 97: bad digit
        b"11/23/26 10:15:02 SPO2=197% BPM=072\r\n",  # SpO2 above 100: line noise
        b"11/23/26 10:15:02 SPO2=097% BPM=072 EXC=zz\r\n",  # status not hex
        b"\xff\xfe\x00garbage\r\n",
        b"11/23/26 10:15:02 SN=1 ALARM=0000\r\n",  # no values at all
    ]
    out = dec.feed(b"".join(bad), T)
    assert out == []
    assert sum(dec.dropped.values()) == len(bad)
    assert set(dec.dropped) == {"bad_number", "implausible", "bad_status", "not_ascii", "no_values"}


def test_lf_cr_and_lone_lf_line_endings() -> None:
    dec = MasimoDecoder()
    line = RAD8.rstrip(b"\r\n")
    out = dec.feed(line + b"\n\r" + line + b"\n", T)
    assert len(out) == 6


def test_parse_value_rules() -> None:
    assert parse_value("097%") == 97.0
    assert parse_value("+--") is None
    assert parse_value("--.--%") is None
    assert parse_value("-5") == -5.0
    assert parse_value("abc") == "bad"


def test_encoder_round_trip() -> None:
    line = encode_line("11/23/26 10:00:00", 93, 101, 1.5, exc=0x000008)
    _, out = readings(line)
    assert {r.channel: r.value for r in out} == {
        "spo2": 93.0,
        "pulse_rate": 101.0,
        "perfusion_index": 1.5,
    }
    assert out[0].status == {Flag.SEARCHING}


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise_nor_give_implausible_values(data: bytes, chunk: int) -> None:
    dec = MasimoDecoder()
    out: list[Reading] = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk], T)
    for r in out:
        assert r.value is None or 0 <= r.value <= 350


@given(st.lists(st.tuples(st.integers(0, len(RAD8) - 1), st.integers(0, 255)), max_size=4))
def test_mutated_lines_never_raise(mutations: list[tuple[int, int]]) -> None:
    line = bytearray(RAD8)
    for pos, byte in mutations:
        line[pos] = byte
    dec = MasimoDecoder()
    out = dec.feed(bytes(line) + RAD8, T)
    for r in out:
        if r.channel == "spo2":
            assert r.value is None or 0 <= r.value <= 100


# protocols.md §5 EXC table (mdpnp poxrad_discrete.h): bits the first decoder missed, and
# bits that must not flag anything.
EXC_VECTORS = [
    ("080000", {Flag.SENSOR_FAULT}),  # emitter temperature out of range
    ("100000", {Flag.SENSOR_FAULT}),  # sensor current limit exceeded
    ("000800", set()),  # "Masimo SET": normal
    ("600800", set()),  # SpCO / SpMET low confidence: not our channels
    ("800000", set()),  # reserved: never a reason to reject (§0 rule 6)
    ("0001000", {Flag.PROBE_OFF}),  # 7-digit EXC, no cable
]


@pytest.mark.parametrize(("exc", "flags"), EXC_VECTORS)
def test_exc_bits(exc: str, flags: set[str]) -> None:
    line = f"11/23/26 10:15:02 SPO2=097% BPM=072 ALARM=0000 EXC={exc}\r\n".encode()
    dec, out = readings(line)
    assert [(r.channel, r.value, r.status) for r in out] == [
        ("spo2", 97.0, frozenset(flags)),
        ("pulse_rate", 72.0, frozenset(flags)),
    ]
    assert not dec.dropped
