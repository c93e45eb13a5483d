"""The 5-byte sync-bit framing shared by Contec CMS50 legacy (§7.1) and BerryMed BCI (§8).

Byte 0 has bit 7 set, bytes 1-4 have it clear. There is no checksum: the sync bits are the
only integrity check. Resync: drop bytes until one with bit 7 set; if a later byte of the
packet has bit 7 set, the packet was cut short and restarts there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PACKET_LEN = 5


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
