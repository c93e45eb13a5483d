"""Shared helpers for the serial protocol tests: chunked feeding and property checks."""

from __future__ import annotations

from drivers.base import StreamDecoder
from drivers.values import PLAUSIBLE
from monitor.core.models import Flag, Reading

T = 1000.0


def feed_chunked(dec: StreamDecoder, data: bytes, chunk: int) -> list[Reading]:
    out: list[Reading] = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk], T)
    return out


def assert_physiological(out: list[Reading]) -> None:
    """Every value is None (with a reason), inside the channel's plausible range, or
    flagged implausible (kept for the record, never usable)."""
    for r in out:
        if r.value is None:
            assert Flag.INVALID in r.status
        elif Flag.IMPLAUSIBLE in r.status:
            assert not r.usable
        else:
            lo, hi = PLAUSIBLE[r.channel]
            assert lo <= r.value <= hi, r


def mutate(data: bytes, mutations: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, byte in mutations:
        buf[pos % len(buf)] = byte
    return bytes(buf)
