"""BerryMed BCI protocol V1.2 (BM1000 family; zh2x/BCI_Protocol), protocols.md §8.

5-byte packets at 100 Hz, framed exactly like Contec legacy (drivers.syncbit). Unlike
Contec, BerryMed documents byte 0 bits 4/5 (no signal / probe unplugged). Bit order is
LSB-first: ehborisov's BitStruct lists fields MSB-first and reads them reversed.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.syncbit import SyncBitDecoder, pack
from monitor.core.models import Flag

PROTOCOL_ID = "berrymed"
B0_NO_SIGNAL = 0x10
B0_PROBE_UNPLUGGED = 0x20
B0_BEEP = 0x40
B2_NO_FINGER = 0x10
B2_SEARCHING = 0x20


@dataclass
class BerryMedDecoder(SyncBitDecoder):
    source: str = "berrymed"
    protocol_id: str = PROTOCOL_ID

    def flags_of(self, b0: int, b2: int) -> frozenset[str]:
        flags = set()
        if b0 & B0_PROBE_UNPLUGGED or b2 & B2_NO_FINGER:
            flags.add(Flag.PROBE_OFF)
        if b2 & B2_SEARCHING:
            flags.add(Flag.SEARCHING)
        if b0 & B0_NO_SIGNAL:
            flags.add(Flag.LOW_SIGNAL_QUALITY)
        return frozenset(flags)


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
