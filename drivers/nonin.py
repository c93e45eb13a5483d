"""Nonin OEM III module / Xpod 3012, serial Data Format 2 (protocols.md §6.1).

Frames of 5 bytes `01 STATUS PLETH FLOAT CHK` at 75/s; 25 frames make one packet whose
FLOAT bytes carry HR (frames 1-2), SpO2 (frame 3) and the other numerics. Resync slides one
byte at a time until two consecutive frames validate: 0x01 also occurs in the payload, so
splitting on it (as agricolab/app-nonin does) is wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from drivers.values import reading
from monitor.core.models import Channel, Flag, Reading

PROTOCOL_ID = "nonin-df2"
FRAME_LEN = 5
FRAMES_PER_PACKET = 25
HR_MISSING = 511
SPO2_MISSING = 127

# STATUS bits.
ST_ALWAYS = 0x80
ST_SNSD = 0x40  # sensor disconnected / inoperable
ST_ARTF = 0x20  # artifact
ST_OOT = 0x10  # out of track
ST_SNSA = 0x08  # sensor alarm: data unusable
ST_RPRF = 0x04  # red perfusion (low amplitude)
ST_GPRF = 0x02  # green perfusion (high amplitude); with RPRF = yellow
ST_SYNC = 0x01  # first frame of a packet

PACKET_FLAGS: tuple[tuple[int, str], ...] = (
    (ST_SNSD, Flag.PROBE_OFF),
    (ST_ARTF, Flag.MOTION),
    (ST_OOT, Flag.SEARCHING),
    (ST_SNSA, Flag.SENSOR_FAULT),
)


def checksum(b0: int, b1: int, b2: int, b3: int) -> int:
    return (b0 + b1 + b2 + b3) & 0xFF


def frame_ok(buf: bytes | bytearray, at: int = 0) -> bool:
    f = buf[at : at + FRAME_LEN]
    return (
        len(f) == FRAME_LEN
        and f[0] == 0x01
        and f[1] & ST_ALWAYS != 0
        and checksum(f[0], f[1], f[2], f[3]) == f[4]
    )


def rate9(msb: int, lsb: int) -> int:
    """A 9-bit rate: MSB byte bits 1-0 are rate bits 8-7, LSB byte bits 6-0 are bits 6-0."""
    return ((msb & 0x03) << 7) | (lsb & 0x7F)


def perfusion(status: int) -> str:
    """Per-frame perfusion colour; both bits set is yellow (pufferfish gets this wrong)."""
    red, green = bool(status & ST_RPRF), bool(status & ST_GPRF)
    return {(True, True): "yellow", (True, False): "red", (False, True): "green"}.get(
        (red, green), "none"
    )


@dataclass(frozen=True, slots=True)
class NoninPacket:
    """One validated 25-frame packet. Rates are None where the device sends its sentinel."""

    hr: int | None
    spo2: int | None
    e_hr: int | None
    e_spo2: int | None
    spo2_fast: int | None
    spo2_bb: int | None
    firmware: int
    status_raw: tuple[int, ...]  # STATUS byte of every frame, unknown bits included
    pleth: tuple[int, ...]

    @property
    def unusable(self) -> bool:
        """SNSD or SNSA on any frame: the module says its numbers are not data."""
        return any(s & (ST_SNSD | ST_SNSA) for s in self.status_raw)

    @property
    def flags(self) -> frozenset[str]:
        any_status = 0
        for s in self.status_raw:
            any_status |= s
        flags = {flag for mask, flag in PACKET_FLAGS if any_status & mask}
        if any(perfusion(s) == "red" for s in self.status_raw):
            flags.add(Flag.LOW_PERFUSION)
        return frozenset(flags)


def _hr(v: int) -> int | None:
    return None if v == HR_MISSING else v


def _spo2(b: int) -> int | None:
    v = b & 0x7F
    return None if v == SPO2_MISSING else v


def decode_packet(frames: list[bytes]) -> NoninPacket:
    fl = [f[3] for f in frames]
    return NoninPacket(
        hr=_hr(rate9(fl[0], fl[1])),
        spo2=_spo2(fl[2]),
        e_hr=_hr(rate9(fl[13], fl[14])),
        e_spo2=_spo2(fl[15]),
        spo2_fast=_spo2(fl[9]),
        spo2_bb=_spo2(fl[10]),
        firmware=fl[3],
        status_raw=tuple(f[1] for f in frames),
        pleth=tuple(f[2] for f in frames),
    )


@dataclass
class NoninDecoder:
    """Incremental DF2 decoder: one HR and one SpO2 reading per validated packet."""

    source: str = "nonin"
    protocol_id: str = PROTOCOL_ID
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _locked: bool = False
    _packet: list[bytes] = field(default_factory=list)
    _in_packet: bool = False

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for p in self.feed_packets(data):
            status = p.flags
            hr, spo2 = (None, None) if p.unusable else (p.hr, p.spo2)
            out.append(reading(t, Channel.PULSE_RATE, hr, status, source=self.source))
            out.append(reading(t, Channel.SPO2, spo2, status, source=self.source))
        return out

    def feed_packets(self, data: bytes) -> list[NoninPacket]:
        self._buf.extend(data)
        out: list[NoninPacket] = []
        buf = self._buf
        pos = 0
        skipped = 0
        while len(buf) - pos >= FRAME_LEN:
            if not self._locked:
                if len(buf) - pos < 2 * FRAME_LEN:
                    break
                if frame_ok(buf, pos) and frame_ok(buf, pos + FRAME_LEN):
                    self._locked = True
                else:
                    pos += 1
                    skipped += 1
                    continue
            if not frame_ok(buf, pos):
                # Lost sync: the packet being built cannot be trusted any more.
                self.dropped["bad_frame"] += 1
                self._abandon_packet()
                self._locked = False
                continue
            frame = bytes(buf[pos : pos + FRAME_LEN])
            pos += FRAME_LEN
            packet = self._add_frame(frame)
            if packet is not None:
                out.append(packet)
        if skipped:
            self.dropped["resync_bytes"] += skipped
        del buf[:pos]
        return out

    def _abandon_packet(self) -> None:
        if self._packet:
            self.dropped["incomplete_packet"] += 1
        self._packet = []
        self._in_packet = False

    def _add_frame(self, frame: bytes) -> NoninPacket | None:
        if frame[1] & ST_SYNC:
            self._abandon_packet()
            self._in_packet = True
        elif not self._in_packet:
            return None  # frames before the first SYNC after (re)locking: wait for a packet start
        self._packet.append(frame)
        if len(self._packet) < FRAMES_PER_PACKET:
            return None
        packet = decode_packet(self._packet)
        self._packet = []
        self._in_packet = False
        self.frames += 1
        return packet


def encode_packet(
    hr: int | None,
    spo2: int | None,
    *,
    status: int = 0,
    pleth: int = 50,
    firmware: int = 0x31,
) -> bytes:
    """The 25 frames of one DF2 packet (sentinels for None); `status` bits go on every frame."""
    hr_v = HR_MISSING if hr is None else max(0, min(hr, 510))
    sp_v = SPO2_MISSING if spo2 is None else max(0, min(spo2, 100))
    hr_msb, hr_lsb = (hr_v >> 7) & 0x03, hr_v & 0x7F
    floats = [0] * FRAMES_PER_PACKET
    floats[0], floats[1], floats[2], floats[3] = hr_msb, hr_lsb, sp_v, firmware
    floats[8], floats[9], floats[10] = sp_v, sp_v, sp_v  # SpO2-D, Fast, B-B
    floats[13], floats[14], floats[15], floats[16] = hr_msb, hr_lsb, sp_v, sp_v  # E-HR, E-SpO2(-D)
    floats[19], floats[20], floats[21], floats[22] = hr_msb, hr_lsb, hr_msb, hr_lsb  # HR-D, E-HR-D
    out = bytearray()
    for i, fv in enumerate(floats):
        st = ST_ALWAYS | (status & 0x7E) | (ST_SYNC if i == 0 else 0)
        pl = pleth & 0xFF
        out += bytes((0x01, st, pl, fv, checksum(0x01, st, pl, fv)))
    return bytes(out)
