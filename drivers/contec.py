"""Contec CMS50 family: legacy 5-byte stream (§7.1) and the new 9-byte protocol (§7.2).

Legacy: 19200 baud, odd parity, ~60 packets/s unprompted, framed as BerryMed BCI
(drivers.syncbit). New (firmware >= 4.6, CMS50E/F/EW): 115200 8N1; the host must send
"start live stream" and then a keep-alive every few seconds; every byte after the type has
bit 7 forced on and the real bit 7s travel in the high-bit byte (tobac/cms50ew ignores it,
so PR > 127 reads wrong there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from drivers.syncbit import PR_INVALID, SPO2_INVALID, SyncBitDecoder, pack
from drivers.values import reading
from monitor.core.models import Channel, Flag, Reading

LEGACY_ID = "contec-5byte"
NEW_ID = "contec-9byte"

# ---------------------------------------------------------------- legacy 5-byte stream
B2_PROBE_ERROR = 0x10  # byte 2 bit 4: probe error / no finger (all sources agree)
B2_SEARCHING = 0x20  # byte 2 bit 5: pulse searching


@dataclass
class ContecLegacyDecoder(SyncBitDecoder):
    source: str = "contec"
    protocol_id: str = LEGACY_ID

    def flags_of(self, b0: int, b2: int) -> frozenset[str]:
        # Byte 0 bits 4/5 mean different things in different sources: never rely on them.
        flags = set()
        if b2 & B2_PROBE_ERROR:
            flags.add(Flag.PROBE_OFF)
        if b2 & B2_SEARCHING:
            flags.add(Flag.SEARCHING)
        return frozenset(flags)


def encode_legacy(
    pr: int | None,
    spo2: int | None,
    *,
    probe_off: bool = False,
    searching: bool = False,
    pleth: int = 50,
    signal: int = 6,
) -> bytes:
    """One legacy packet; None → the device's sentinels (PR 255, SpO2 127)."""
    b2 = (B2_PROBE_ERROR if probe_off else 0) | (B2_SEARCHING if searching else 0) | 0x05
    return pack(
        signal & 0x0F,
        pleth,
        b2,
        255 if pr is None else max(1, min(pr, 254)),
        127 if spo2 is None else max(1, min(spo2, 100)),
    )


# ---------------------------------------------------------------- new 9-byte protocol
#: Packet length by type byte (§7.2).
PACKET_LENGTHS: dict[int, int] = {
    0x01: 9,
    0x02: 9,
    0x03: 9,
    0x04: 9,
    0x05: 9,
    0x06: 4,
    0x07: 8,
    0x08: 8,
    0x09: 6,
    0x0A: 4,
    0x0B: 4,
    0x0C: 2,
    0x0E: 3,
    0x0F: 8,
    0x10: 3,
    0x11: 9,
    0x12: 8,
    0x13: 9,
    0x14: 9,
}
TYPE_LIVE = 0x01
CMD_START_LIVE = 0xA1
CMD_HELLO = 0xA7
CMD_KEEPALIVE = 0xAF
KEEPALIVE_S = 5.0  # "every few seconds"
HIBIT_NOT_VALID = 0x03  # restored bit 7 of byte 2 or of pleth: numerics not yet valid
PLETH_FINGER_OUT = 0xC0  # tobac/cms50ew: raw pleth byte 0xC0 with no finger


def command(cmd: int, arg: int | None = None) -> bytes:
    """The 9-byte host command: 7D 81 CMD 80 80 80 80 80 80, a one-byte arg at offset 4."""
    out = bytearray((0x7D, 0x81, 0x80 | (cmd & 0x7F), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80))
    if arg is not None:
        out[4] = 0x80 | (arg & 0x7F)
    return bytes(out)


def restore_high_bits(raw: bytes) -> bytes:
    """v[i] = raw[i] & 0x7F | bit (i-2) of the high-bit byte, for i >= 2."""
    hi = raw[1]
    return bytes(raw[:2]) + bytes(
        (raw[i] & 0x7F) | (((hi >> (i - 2)) & 1) << 7) for i in range(2, len(raw))
    )


def hide_high_bits(ptype: int, values: bytes) -> bytes:
    """Encoder side: `values` are bytes 2..n; returns the wire packet."""
    hi = 0
    for i, v in enumerate(values):
        hi |= ((v >> 7) & 1) << i
    return bytes((ptype & 0x7F, 0x80 | hi)) + bytes(0x80 | (v & 0x7F) for v in values)


@dataclass(frozen=True, slots=True)
class LivePacket:
    pr: int
    spo2: int
    pleth: int
    status: int  # byte 2, undocumented: kept raw
    hibits: int
    raw_pleth: int

    @property
    def numerics_valid(self) -> bool:
        return not (self.hibits & HIBIT_NOT_VALID)

    @property
    def flags(self) -> frozenset[str]:
        if self.numerics_valid:
            return frozenset()
        if self.raw_pleth == PLETH_FINGER_OUT:
            return frozenset({Flag.PROBE_OFF})
        return frozenset({Flag.SEARCHING})


@dataclass
class ContecNewDecoder:
    source: str = "contec"
    protocol_id: str = NEW_ID
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _packet: bytearray = field(default_factory=bytearray)
    _want: int = 0

    def feed_packets(self, data: bytes) -> list[bytes]:
        """Complete packets (wire form) in order."""
        out: list[bytes] = []
        skipped = 0
        for b in data:
            if b < 0x80:
                if self._packet:
                    self.dropped["short_packet"] += 1
                    self._packet = bytearray()
                length = PACKET_LENGTHS.get(b)
                if length is None:
                    self.dropped["unknown_type"] += 1
                    continue
                self._packet = bytearray((b,))
                self._want = length
            elif not self._packet:
                skipped += 1
                continue
            else:
                self._packet.append(b)
            if self._packet and len(self._packet) == self._want:
                out.append(bytes(self._packet))
                self._packet = bytearray()
        if skipped:
            self.dropped["resync_bytes"] += skipped
        return out

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for raw in self.feed_packets(data):
            self.frames += 1
            if raw[0] != TYPE_LIVE:
                continue  # replies to other commands carry no live numerics
            p = decode_live(raw)
            st = p.flags
            pr: int | None = p.pr if p.numerics_valid else None
            spo2: int | None = p.spo2 if p.numerics_valid else None
            out.append(
                reading(t, Channel.PULSE_RATE, pr, st, source=self.source, invalid=PR_INVALID)
            )
            out.append(reading(t, Channel.SPO2, spo2, st, source=self.source, invalid=SPO2_INVALID))
        return out


def decode_live(raw: bytes) -> LivePacket:
    v = restore_high_bits(raw)
    return LivePacket(
        pr=v[5], spo2=v[6], pleth=v[3], status=v[2], hibits=raw[1] & 0x7F, raw_pleth=raw[3]
    )


def encode_live(
    pr: int | None, spo2: int | None, *, probe_off: bool = False, pleth: int = 50
) -> bytes:
    """A live packet as the device sends it: hibit bits 5-6 set (bytes 7-8 read 0xFF)."""
    if probe_off or pr is None or spo2 is None:
        # As captured with no finger: high bits 0-1 set (not valid), pleth raw 0xC0 if off.
        values = bytes((0x80, 0xC0 if probe_off else 0x80 | pleth, 0, 0, 0, 0xFF, 0xFF))
        wire = bytearray(hide_high_bits(TYPE_LIVE, values))
        if probe_off:
            wire[3] = PLETH_FINGER_OUT
        return bytes(wire)
    values = bytes(
        (0x00, pleth & 0x7F, 0x05, max(1, min(pr, 254)), max(1, min(spo2, 100)), 0xFF, 0xFF)
    )
    return hide_high_bits(TYPE_LIVE, values)
