"""BerryMed BCI protocol V1.2 (BM1000 family; zh2x/BCI_Protocol), protocols.md §8.

5-byte packets at 100 Hz, framed exactly like Contec legacy (drivers.syncbit). Unlike
Contec, BerryMed documents byte 0 bits 4/5 (no signal / probe unplugged). Bit order is
LSB-first: ehborisov's BitStruct lists fields MSB-first and reads them reversed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from drivers.syncbit import SyncBitFramer, pack, pulse_rate
from drivers.values import reading
from monitor.core.models import Channel, Flag, Reading

PROTOCOL_ID = "berrymed"
B0_NO_SIGNAL = 0x10
B0_PROBE_UNPLUGGED = 0x20
B0_BEEP = 0x40
B2_NO_FINGER = 0x10
B2_SEARCHING = 0x20
PR_INVALID = (0.0, 255.0)
SPO2_INVALID = (0.0, 127.0)


@dataclass(frozen=True, slots=True)
class BciPacket:
    pr: int
    spo2: int
    pleth: int
    signal: int  # 0-8, masked 0x0F (bgould masks 0x07)
    bar: int
    status_raw: tuple[int, int]

    @property
    def flags(self) -> frozenset[str]:
        b0, b2 = self.status_raw
        flags = set()
        if b0 & B0_PROBE_UNPLUGGED or b2 & B2_NO_FINGER:
            flags.add(Flag.PROBE_OFF)
        if b2 & B2_SEARCHING:
            flags.add(Flag.SEARCHING)
        if b0 & B0_NO_SIGNAL:
            flags.add(Flag.LOW_SIGNAL_QUALITY)
        return frozenset(flags)


def decode(p: bytes) -> BciPacket:
    return BciPacket(
        pr=pulse_rate(p[2], p[3]),
        spo2=p[4] & 0x7F,
        pleth=p[1] & 0x7F,
        signal=p[0] & 0x0F,
        bar=p[2] & 0x0F,
        status_raw=(p[0], p[2]),
    )


@dataclass
class BerryMedDecoder:
    source: str = "berrymed"
    protocol_id: str = PROTOCOL_ID
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _framer: SyncBitFramer = field(init=False)

    def __post_init__(self) -> None:
        self._framer = SyncBitFramer(self.dropped)

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for raw in self._framer.feed(data):
            p = decode(raw)
            self.frames += 1
            st = p.flags
            # No finger, no measurement: numbers sent with the probe off are stale.
            pr, spo2 = (None, None) if Flag.PROBE_OFF in st else (p.pr, p.spo2)
            out.append(
                reading(t, Channel.PULSE_RATE, pr, st, source=self.source, invalid=PR_INVALID)
            )
            out.append(reading(t, Channel.SPO2, spo2, st, source=self.source, invalid=SPO2_INVALID))
        return out


def encode(
    pr: int | None,
    spo2: int | None,
    *,
    probe_off: bool = False,
    searching: bool = False,
    pleth: int = 50,
    signal: int = 6,
) -> bytes:
    b0 = (signal & 0x0F) | (B0_PROBE_UNPLUGGED if probe_off else 0)
    b2 = (B2_NO_FINGER if probe_off else 0) | (B2_SEARCHING if searching else 0) | 0x07
    return pack(
        b0,
        pleth,
        b2,
        255 if pr is None else max(1, min(pr, 254)),
        127 if spo2 is None else max(1, min(spo2, 100)),
    )
