"""`vigil run` with one more, test-only serial protocol: `test-faulty`, Masimo's byte format
whose decoder raises ValueError (the one pyserial's select() raised in the field) while a
fault file for its source exists. Run as `python -m tests.faulty_protocol run --config ...`:
the protocol is registered in that process before the config is validated, and nothing of it
ships in Vigil.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from drivers.masimo import MasimoDecoder
from drivers.registry import ProtocolInfo, register
from drivers.sim import devices
from drivers.sim.registry import register_simulator
from monitor.core.models import Reading

PROTOCOL_ID = "test-faulty"
FAULT_DIR_ENV = "VIGIL_TEST_FAULT_DIR"  # a file named after a source there = its fault is on
FAULT = "filedescriptor out of range in select()"


class FaultyDecoder:
    protocol_id = PROTOCOL_ID

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._inner = MasimoDecoder(source=source)

    @property
    def dropped(self) -> Counter[str]:
        return self._inner.dropped

    @property
    def frames(self) -> int:
        return self._inner.frames

    def feed(self, data: bytes, t: float) -> list[Reading]:
        fault_dir = os.environ.get(FAULT_DIR_ENV)
        if fault_dir and (Path(fault_dir) / self.source).exists():
            raise ValueError(FAULT)
        return self._inner.feed(data, t)


register(
    ProtocolInfo(
        PROTOCOL_ID,
        "test only: Masimo ASCII whose decoder raises on demand",
        "serial",
        decoder=FaultyDecoder,
        baudrate=9600,
    )
)
register_simulator(PROTOCOL_ID, devices.MasimoSim)

if __name__ == "__main__":
    from monitor.cli import main

    main()
