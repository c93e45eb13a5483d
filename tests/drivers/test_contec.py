"""Contec CMS50: legacy 5-byte stream and new-protocol 9-byte live packets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.contec import (
    CMD_KEEPALIVE,
    CMD_START_LIVE,
    ContecLegacyDecoder,
    ContecNewDecoder,
    command,
    encode_legacy,
    encode_live,
    hide_high_bits,
    restore_high_bits,
)
from drivers.syncbit import SyncBitPacket, decode_packet
from monitor.core.models import Flag, Reading
from tests.serial_helpers import T, assert_physiological, feed_chunked, mutate

SRC = "ox"


def r(channel: str, value: float | None, *flags: str) -> Reading:
    unit = "bpm" if channel == "pulse_rate" else "%"
    return Reading(T, channel, value, unit, frozenset(flags), SRC)


# ------------------------------------------------------------------ legacy 5-byte stream
# Sources: protocols.md §7.1 (atbrask/CMS50Dplus cms50dplus.py bit layout; validity rules).
LEGACY = [
    ("PR 72 SpO2 97", bytes((0x86, 0x30, 0x05, 72, 97)), [r("pulse_rate", 72), r("spo2", 97)]),
    (
        "PR 150: bit 7 in byte 2 bit 6 (atbrask: pulse_msb)",
        bytes((0x86, 0x30, 0x45, 150 - 128, 96)),
        [r("pulse_rate", 150), r("spo2", 96)],
    ),
    (
        "sentinels PR 255 / SpO2 127",
        bytes((0x80, 0x00, 0x40, 0x7F, 0x7F)),
        [r("pulse_rate", None, Flag.INVALID), r("spo2", None, Flag.INVALID)],
    ),
    (
        "PR 0 / SpO2 0 are no reading",
        bytes((0x80, 0x00, 0x00, 0x00, 0x00)),
        [r("pulse_rate", None, Flag.INVALID), r("spo2", None, Flag.INVALID)],
    ),
    (
        "byte 2 bit 4: probe error / no finger (all sources agree)",
        bytes((0x80, 0x00, 0x10 | 0x40, 0x7F, 0x7F)),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
            r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
        ],
    ),
    (
        "byte 2 bit 5: pulse searching",
        bytes((0x86, 0x30, 0x25, 70, 95)),
        [r("pulse_rate", 70, Flag.SEARCHING), r("spo2", 95, Flag.SEARCHING)],
    ),
    (
        "byte 0 bits 4/5 are disputed: never probe-off on their own",
        bytes((0x80 | 0x30 | 0x06, 0x30, 0x05, 70, 95)),
        [r("pulse_rate", 70), r("spo2", 95)],
    ),
    (
        "SpO2 above 100 is implausible, not a reading",
        bytes((0x86, 0x30, 0x05, 70, 110)),
        [r("pulse_rate", 70), r("spo2", 110, Flag.IMPLAUSIBLE)],
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), LEGACY, ids=[v[0] for v in LEGACY])
def test_legacy_vectors(name: str, data: bytes, expected: list[Reading]) -> None:
    dec = ContecLegacyDecoder(source=SRC)
    assert dec.feed(data, T) == expected
    assert dec.frames == 1 and not dec.dropped


def test_legacy_packet_keeps_raw_status() -> None:
    assert decode_packet(bytes((0xB6, 0x30, 0x55, 22, 96))) == SyncBitPacket(
        pr=150, spo2=96, pleth=0x30, signal=6, bar=5, status_raw=(0xB6, 0x55)
    )


def test_legacy_resync_restarts_on_unexpected_sync_byte() -> None:
    good = encode_legacy(72, 97)
    dec = ContecLegacyDecoder(source=SRC)
    # Garbage, then a packet cut short by the next packet's sync byte, then two good ones.
    out = dec.feed(b"\x01\x02\x03" + good[:3] + good + good, T)
    assert out == [r("pulse_rate", 72), r("spo2", 97)] * 2
    assert dec.dropped == {"resync_bytes": 3, "short_packet": 1}


@given(
    st.one_of(st.none(), st.integers(20, 254)),  # plausible pulse rates (core/plausibility.py)
    st.one_of(st.none(), st.integers(1, 100)),
    st.booleans(),
    st.booleans(),
)
def test_legacy_round_trip(pr: int | None, spo2: int | None, off: bool, search: bool) -> None:
    out = ContecLegacyDecoder(source=SRC).feed(
        encode_legacy(pr, spo2, probe_off=off, searching=search), T
    )
    flags = {Flag.PROBE_OFF} if off else set()
    flags |= {Flag.SEARCHING} if search else set()
    assert out == [
        r(
            "pulse_rate",
            None if off else pr,
            *flags,
            *([Flag.INVALID] if off or pr is None else []),
        ),
        r("spo2", None if off else spo2, *flags, *([Flag.INVALID] if off or spo2 is None else [])),
    ]


# ------------------------------------------------------------------ new 9-byte protocol
def test_host_commands() -> None:
    # protocols.md §7.2; aebruno/myoxi cms50f.go and OSCAR cms50f37_loader.cpp build the same.
    assert command(CMD_START_LIVE) == bytes.fromhex("7d81a1808080808080")
    assert command(CMD_KEEPALIVE) == bytes.fromhex("7d81af808080808080")
    assert command(0xA6, 2) == bytes.fromhex("7d81a6808280808080")


# Live packets (protocols.md §7.2 field table; high-bit byte as in aebruno/myoxi, not as
# tobac/cms50ew, which ignores it).
NEW = [
    (
        "PR 72 SpO2 97, hibits 0x60 (bytes 7-8 read 0xFF)",
        bytes((0x01, 0xE0, 0x80, 0xB2, 0x85, 0xC8, 0xE1, 0xFF, 0xFF)),
        [r("pulse_rate", 72), r("spo2", 97)],
    ),
    (
        "PR 160 needs the high-bit byte (bit 3 → byte 5)",
        bytes((0x01, 0xE8, 0x80, 0xB2, 0x85, 0xA0, 0xE1, 0xFF, 0xFF)),
        [r("pulse_rate", 160), r("spo2", 97)],
    ),
    (
        "hibit bit 0 set: numerics not yet valid → searching",
        bytes((0x01, 0xE1, 0x80, 0xB2, 0x85, 0xC8, 0xE1, 0xFF, 0xFF)),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.SEARCHING),
            r("spo2", None, Flag.INVALID, Flag.SEARCHING),
        ],
    ),
    (
        "raw pleth 0xC0 with invalid numerics: finger out (tobac/cms50ew)",
        bytes((0x01, 0xE3, 0x80, 0xC0, 0x80, 0x80, 0x80, 0xFF, 0xFF)),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
            r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
        ],
    ),
    (
        "SpO2 127 sentinel",
        bytes((0x01, 0xE0, 0x80, 0xB2, 0x85, 0xC8, 0xFF, 0xFF, 0xFF)),
        [r("pulse_rate", 72), r("spo2", None, Flag.INVALID)],
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), NEW, ids=[v[0] for v in NEW])
def test_new_vectors(name: str, data: bytes, expected: list[Reading]) -> None:
    dec = ContecNewDecoder(source=SRC)
    assert dec.feed(data, T) == expected
    assert dec.frames == 1 and not dec.dropped


def test_high_bit_restore_and_hide_are_inverse() -> None:
    values = bytes((0x00, 0xB2, 0x05, 0xA0, 0x61, 0xFF, 0xFF))
    wire = hide_high_bits(0x01, values)
    assert all(b & 0x80 for b in wire[1:])
    assert restore_high_bits(wire)[2:] == values


def test_new_protocol_framing_and_resync() -> None:
    live = encode_live(72, 97)
    dec = ContecNewDecoder(source=SRC)
    out = dec.feed(
        b"\xff\xfe"  # bytes >= 0x80 outside a packet
        + live[:5]  # cut short by the next type byte
        + b"\x0d"  # unknown type
        + bytes((0x0C, 0x80))  # a 2-byte reply of another type: counted, no readings
        + live,
        T,
    )
    assert out == [r("pulse_rate", 72), r("spo2", 97)]
    assert dec.dropped == {"resync_bytes": 2, "short_packet": 1, "unknown_type": 1}
    assert dec.frames == 2


@given(st.one_of(st.none(), st.integers(20, 254)), st.integers(1, 100), st.booleans())
def test_new_round_trip(pr: int | None, spo2: int, off: bool) -> None:
    out = ContecNewDecoder(source=SRC).feed(encode_live(pr, spo2, probe_off=off), T)
    if off or pr is None:
        flag = Flag.PROBE_OFF if off else Flag.SEARCHING
        assert out == [
            r("pulse_rate", None, Flag.INVALID, flag),
            r("spo2", None, Flag.INVALID, flag),
        ]
    else:
        assert out == [r("pulse_rate", pr), r("spo2", spo2)]


@pytest.mark.parametrize("decoder", [ContecLegacyDecoder, ContecNewDecoder])
@given(data=st.binary(max_size=600), chunk=st.integers(1, 64))
def test_random_bytes_never_raise_nor_give_implausible_values(
    decoder: type, data: bytes, chunk: int
) -> None:
    assert_physiological(feed_chunked(decoder(), data, chunk))


@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 255)), max_size=6))
def test_mutated_streams_never_raise(mutations: list[tuple[int, int]]) -> None:
    assert_physiological(
        ContecLegacyDecoder().feed(mutate(encode_legacy(72, 97) * 20, mutations), T)
    )
    assert_physiological(ContecNewDecoder().feed(mutate(encode_live(72, 97) * 11, mutations), T))


def test_numbers_sent_with_the_probe_off_are_not_readings() -> None:
    # Byte 2 bit 4 (probe error) with plausible-looking numbers: stale, so None.
    out = ContecLegacyDecoder(source=SRC).feed(bytes((0x80, 0x00, 0x10, 72, 97)), T)
    assert out == [
        r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
        r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
    ]
