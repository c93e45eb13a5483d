"""BerryMed BCI V1.2: vectors from the protocol document, the shared framer, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.berrymed import BerryMedDecoder, encode
from drivers.contec import ContecLegacyDecoder
from drivers.syncbit import SyncBitFramer, SyncBitPacket, decode_packet
from monitor.core.models import Flag, Reading
from tests.serial_helpers import T, assert_physiological, feed_chunked, mutate

SRC = "bm"


def r(channel: str, value: float | None, *flags: str) -> Reading:
    unit = "bpm" if channel == "pulse_rate" else "%"
    return Reading(T, channel, value, unit, frozenset(flags), SRC)


# Sources: BerryMed "BCI Protocol V1.2" (zh2x/BCI_Protocol) as in protocols.md §8;
# adafruit/Adafruit_CircuitPython_BLE_BerryMed_Pulse_Oximeter reads the same positions.
VECTORS = [
    ("PR 75 SpO2 98", bytes((0x88, 0x40, 0x0A, 75, 98)), [r("pulse_rate", 75), r("spo2", 98)]),
    (
        "PR 180 via byte 2 bit 6",
        bytes((0x88, 0x40, 0x4A, 180 - 128, 92)),
        [r("pulse_rate", 180), r("spo2", 92)],
    ),
    (
        "byte 0 bit 5 probe unplugged + sentinels 0xFF/0x7F",
        bytes((0xA0, 0x00, 0x40, 0x7F, 0x7F)),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
            r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
        ],
    ),
    (
        "byte 2 bit 4 no finger",
        bytes((0x80, 0x00, 0x50, 0x7F, 0x7F)),
        [
            r("pulse_rate", None, Flag.INVALID, Flag.PROBE_OFF),
            r("spo2", None, Flag.INVALID, Flag.PROBE_OFF),
        ],
    ),
    (
        "byte 2 bit 5 searching, byte 0 bit 4 no signal",
        bytes((0x90, 0x00, 0x20, 70, 95)),
        [
            r("pulse_rate", 70, Flag.SEARCHING, Flag.LOW_SIGNAL_QUALITY),
            r("spo2", 95, Flag.SEARCHING, Flag.LOW_SIGNAL_QUALITY),
        ],
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vectors(name: str, data: bytes, expected: list[Reading]) -> None:
    dec = BerryMedDecoder(source=SRC)
    assert dec.feed(data, T) == expected
    assert dec.frames == 1 and not dec.dropped


def test_fields_lsb_first_and_signal_masked_with_0x0f() -> None:
    # Signal strength 8 needs bit 3 (bgould masks 0x07 and reads 0); bar graph 12 likewise.
    # Bits are LSB-first (ehborisov's BitStruct reverses them).
    assert decode_packet(bytes((0xC8, 0x40, 0x4C, 52, 92))) == SyncBitPacket(
        pr=180, spo2=92, pleth=0x40, signal=8, bar=12, status_raw=(0xC8, 0x4C)
    )


def test_shares_the_contec_legacy_framer() -> None:
    assert type(BerryMedDecoder()._framer) is type(ContecLegacyDecoder()._framer) is SyncBitFramer


def test_packets_straddling_notifications() -> None:
    # BLE notifications carry several packets and cut them anywhere: one stream framer.
    data = encode(75, 98) * 7
    assert (
        feed_chunked(BerryMedDecoder(source=SRC), b"\x00\x7f" + data, 3)
        == [
            r("pulse_rate", 75),
            r("spo2", 98),
        ]
        * 7
    )


@given(
    st.one_of(st.none(), st.integers(20, 254)),  # plausible pulse rates (core/plausibility.py)
    st.one_of(st.none(), st.integers(1, 100)),
    st.booleans(),
)
def test_round_trip(pr: int | None, spo2: int | None, off: bool) -> None:
    out = BerryMedDecoder(source=SRC).feed(encode(pr, spo2, probe_off=off), T)
    flags = [Flag.PROBE_OFF] if off else []
    assert out == [
        r(
            "pulse_rate",
            None if off else pr,
            *flags,
            *([Flag.INVALID] if off or pr is None else []),
        ),
        r("spo2", None if off else spo2, *flags, *([Flag.INVALID] if off or spo2 is None else [])),
    ]


@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_raise_nor_give_implausible_values(data: bytes, chunk: int) -> None:
    assert_physiological(feed_chunked(BerryMedDecoder(), data, chunk))


@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 255)), max_size=6))
def test_mutated_streams_never_raise(mutations: list[tuple[int, int]]) -> None:
    assert_physiological(BerryMedDecoder().feed(mutate(encode(72, 97) * 20, mutations), T))
