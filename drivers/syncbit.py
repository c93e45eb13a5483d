"""The 5-byte sync-bit framing shared by Contec CMS50 legacy (§7.1) and BerryMed BCI (§8).

Byte 0 has bit 7 set, bytes 1-4 have it clear. There is no checksum: the sync bits are the
only integrity check. Resync: drop bytes until one with bit 7 set; if a later byte of the
packet has bit 7 set, the packet was cut short and restarts there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from drivers.values import reading
from monitor.core.models import Channel, Flag, Reading

PACKET_LEN = 5
PR_INVALID = (0.0, 255.0)  # PR 255 (and 0): no reading
SPO2_INVALID = (0.0, 127.0)  # SpO2 127 (and 0): no reading


@dataclass
class SyncBitFramer:
    """Bytes in, complete 5-byte packets out; counts what it drops in the shared counter."""

    dropped: Counter[str] = field(default_factory=Counter)
    _packet: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        skipped = 0
        for b in data:
            if b & 0x80:
                if self._packet:
                    self.dropped["short_packet"] += 1
                self._packet = bytearray((b,))
            elif not self._packet:
                skipped += 1  # no packet start seen yet: garbage or the tail of a cut packet
            else:
                self._packet.append(b)
                if len(self._packet) == PACKET_LEN:
                    out.append(bytes(self._packet))
                    self._packet = bytearray()
        if skipped:
            self.dropped["resync_bytes"] += skipped
        return out


@dataclass(frozen=True, slots=True)
class SyncBitPacket:
    """One 5-byte packet's fields; what the status bits mean is the protocol's to say."""

    pr: int
    spo2: int
    pleth: int
    signal: int  # 0-8, masked 0x0F (bgould/berrymed-pulseox-reader masks 0x07)
    bar: int
    status_raw: tuple[int, int]  # bytes 0 and 2 as received


def decode_packet(p: bytes) -> SyncBitPacket:
    return SyncBitPacket(
        pr=pulse_rate(p[2], p[3]),
        spo2=p[4] & 0x7F,
        pleth=p[1] & 0x7F,
        signal=p[0] & 0x0F,
        bar=p[2] & 0x0F,
        status_raw=(p[0], p[2]),
    )


@dataclass
class SyncBitDecoder:
    """Readings from a sync-bit stream. Subclasses say how their status bits read."""

    source: str = ""
    protocol_id: str = ""
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _framer: SyncBitFramer = field(init=False)

    def __post_init__(self) -> None:
        self._framer = SyncBitFramer(self.dropped)

    def flags_of(self, b0: int, b2: int) -> frozenset[str]:
        raise NotImplementedError

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for raw in self._framer.feed(data):
            p = decode_packet(raw)
            self.frames += 1
            st = self.flags_of(*p.status_raw)
            # No finger, no measurement: numbers sent with the probe off are stale.
            pr, spo2 = (None, None) if Flag.PROBE_OFF in st else (p.pr, p.spo2)
            out.append(
                reading(t, Channel.PULSE_RATE, pr, st, source=self.source, invalid=PR_INVALID)
            )
            out.append(reading(t, Channel.SPO2, spo2, st, source=self.source, invalid=SPO2_INVALID))
        return out


def pulse_rate(b2: int, b3: int) -> int:
    """PR bit 7 lives in byte 2 bit 6; bits 0-6 in byte 3."""
    return ((b2 & 0x40) << 1) | (b3 & 0x7F)


def pack(b0_low: int, pleth: int, b2_low: int, pr: int, spo2: int) -> bytes:
    """One packet: byte-0 flag bits, pleth, byte-2 flag bits (0-5), PR (0-255), SpO2 (0-127)."""
    return bytes(
        (
            0x80 | (b0_low & 0x7F),
            pleth & 0x7F,
            (b2_low & 0x3F) | ((pr & 0x80) >> 1),
            pr & 0x7F,
            spo2 & 0x7F,
        )
    )
