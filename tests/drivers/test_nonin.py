"""Nonin OEM III Data Format 2: vectors, resync, packet assembly, round trips, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.nonin import (
    ST_ARTF,
    ST_GPRF,
    ST_OOT,
    ST_RPRF,
    ST_SNSA,
    ST_SNSD,
    NoninDecoder,
    NoninPacket,
    checksum,
    encode_packet,
    perfusion,
    rate9,
)
from monitor.core.models import Flag, Reading
from tests.serial_helpers import T, assert_physiological, feed_chunked, mutate

SRC = "ox"


def frame(status: int, pleth: int, fl: int, sync: bool = False) -> bytes:
    st_ = 0x80 | status | (0x01 if sync else 0)
    return bytes((0x01, st_, pleth, fl, checksum(0x01, st_, pleth, fl)))


def packet(floats: dict[int, int], status: int = 0, pleth: int = 0x01) -> bytes:
    """25 frames by hand; `floats` maps 1-based frame number → FLOAT byte (others 0).

    Pleth 0x01 on purpose: 0x01 in the payload must not be taken for a frame start.
    """
    return b"".join(frame(status, pleth, floats.get(i, 0), sync=(i == 1)) for i in range(1, 26))


def r(channel: str, value: float | None, *flags: str) -> Reading:
    unit = "bpm" if channel == "pulse_rate" else "%"
    return Reading(T, channel, value, unit, frozenset(flags), SRC)


# (name, bytes, expected readings). Sources: Nonin "OEM III Module Specification" DF2 frame
# schedule and STATUS bits as summarised in protocols.md §6.1; pez-globo/pufferfish-software
# PacketReceiver.cpp for the frame layout (not its 9-bit mask, which is wrong).
VECTORS = [
    (
        "HR 72 / SpO2 97 (§6.1 frames 1-3)",
        packet({1: 0x00, 2: 72, 3: 97}),
        [r("pulse_rate", 72.0), r("spo2", 97.0)],
    ),
    (
        "HR 200 needs bit 7 from the MSB frame (pufferfish's mask loses it)",
        packet({1: 0x01, 2: 0x48, 3: 95}),
        [r("pulse_rate", 200.0), r("spo2", 95.0)],
    ),
    (
        "HR 300: MSB bits 1-0 = 0b10 (§6.1 9-bit formula)",
        packet({1: 0x02, 2: 0x2C, 3: 90}),
        [r("pulse_rate", 300.0), r("spo2", 90.0)],
    ),
    (
        "missing data: HR 511, SpO2 127 are sentinels, never numbers (§0 rule 1)",
        packet({1: 0x03, 2: 0x7F, 3: 0x7F}, status=ST_SNSD),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
            r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
        ],
    ),
    (
        "artifact + out of track on a packet",
        packet({2: 80, 3: 93}, status=ST_ARTF | ST_OOT),
        [
            r("pulse_rate", 80.0, Flag.MOTION, Flag.SEARCHING),
            r("spo2", 93.0, Flag.MOTION, Flag.SEARCHING),
        ],
    ),
    (
        "sensor alarm: the module says the numbers are unusable",
        packet({2: 80, 3: 93}, status=ST_SNSA),
        [
            r("pulse_rate", None, Flag.SENSOR_FAULT, Flag.INVALID),
            r("spo2", None, Flag.SENSOR_FAULT, Flag.INVALID),
        ],
    ),
    (
        "red perfusion (bit 2 only) = low perfusion",
        packet({2: 80, 3: 93}, status=ST_RPRF),
        [r("pulse_rate", 80.0, Flag.LOW_PERFUSION), r("spo2", 93.0, Flag.LOW_PERFUSION)],
    ),
    (
        "bits 2 and 1 both set = yellow, not low perfusion",
        packet({2: 80, 3: 93}, status=ST_RPRF | ST_GPRF),
        [r("pulse_rate", 80.0), r("spo2", 93.0)],
    ),
    (
        "SpO2 byte bit 7 is not part of the value",
        packet({2: 60, 3: 0x80 | 96}),
        [r("pulse_rate", 60.0), r("spo2", 96.0)],
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vectors(name: str, data: bytes, expected: list[Reading]) -> None:
    dec = NoninDecoder(source=SRC)
    assert dec.feed(data, T) == expected
    assert dec.frames == 1 and not dec.dropped


def test_packet_object_keeps_raw_status_and_secondary_numerics() -> None:
    data = packet({1: 0, 2: 70, 3: 98, 4: 0x31, 10: 97, 11: 96, 14: 0, 15: 71, 16: 98})
    (p,) = NoninDecoder().feed_packets(data)
    assert p == NoninPacket(
        hr=70,
        spo2=98,
        e_hr=71,
        e_spo2=98,
        spo2_fast=97,
        spo2_bb=96,
        firmware=0x31,
        status_raw=(0x81,) + (0x80,) * 24,
        pleth=(1,) * 25,
    )


def test_rate9_and_perfusion_helpers() -> None:
    assert [rate9(m, lsb) for m, lsb in [(0, 0), (0, 0x7F), (1, 0), (3, 0x7F), (0xFC, 0x80)]] == [
        0,
        127,
        128,
        511,
        0,
    ]
    assert [perfusion(s) for s in (0x80, 0x84, 0x82, 0x86)] == ["none", "red", "green", "yellow"]


def test_resync_after_garbage_full_of_0x01() -> None:
    # Garbage that looks like frame starts, then a frame with a bad checksum, then good data.
    garbage = b"\x01\x81\x01\x01\x01\x01\x80\x00\x00\x01" + frame(0, 1, 5)[:4] + b"\x00"
    dec = NoninDecoder(source=SRC)
    good = packet({2: 72, 3: 97})
    out = dec.feed(garbage + good + good, T)
    assert out == [r("pulse_rate", 72.0), r("spo2", 97.0)] * 2
    assert set(dec.dropped) == {"resync_bytes"}


def test_packet_starts_only_at_sync_and_needs_all_25_frames() -> None:
    good = packet({2: 72, 3: 97})
    # Opened mid-packet: frames 11-25 then a whole packet.
    dec = NoninDecoder(source=SRC)
    assert dec.feed(good[50:] + good, T) == [r("pulse_rate", 72.0), r("spo2", 97.0)]
    assert dec.frames == 1 and not dec.dropped
    # A corrupted frame 13 loses that packet only.
    bad = bytearray(good)
    bad[12 * 5 + 4] ^= 0xFF
    dec = NoninDecoder(source=SRC)
    assert dec.feed(bytes(bad) + good, T) == [r("pulse_rate", 72.0), r("spo2", 97.0)]
    assert dec.dropped["bad_frame"] == 1 and dec.dropped["incomplete_packet"] == 1
    # A packet cut short by the next SYNC is dropped, the new one used.
    dec = NoninDecoder(source=SRC)
    assert dec.feed(good[:60] + good, T) == [r("pulse_rate", 72.0), r("spo2", 97.0)]
    assert dec.dropped == {"incomplete_packet": 1}


@pytest.mark.parametrize("chunk", [1, 3, 7, 125])
def test_split_reads_give_the_same_readings(chunk: int) -> None:
    data = b"\x07\x01" + encode_packet(66, 94) * 3
    assert (
        feed_chunked(NoninDecoder(source=SRC), data, chunk)
        == [
            r("pulse_rate", 66.0),
            r("spo2", 94.0),
        ]
        * 3
    )


@given(st.one_of(st.none(), st.integers(0, 350)), st.one_of(st.none(), st.integers(0, 100)))
def test_encoder_round_trip(hr: int | None, spo2: int | None) -> None:
    (p,) = NoninDecoder().feed_packets(encode_packet(hr, spo2))
    assert (p.hr, p.spo2, p.e_hr, p.e_spo2) == (hr, spo2, hr, spo2)


@given(st.binary(max_size=700), st.integers(1, 64))
def test_random_bytes_never_raise_nor_give_implausible_values(data: bytes, chunk: int) -> None:
    assert_physiological(feed_chunked(NoninDecoder(), data, chunk))


@given(st.lists(st.tuples(st.integers(0, 249), st.integers(0, 255)), max_size=6))
def test_mutated_packets_never_raise(mutations: list[tuple[int, int]]) -> None:
    data = mutate(encode_packet(72, 97) * 2, mutations)
    assert_physiological(NoninDecoder().feed(data, T))
