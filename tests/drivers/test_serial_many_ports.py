"""Past the select() ceiling: over 1,100 real ptys through SerialDriver on one event loop.

pyserial's read()/write() call select.select, which refuses descriptors above 1024 (about
200 ports in, with pyserial's four pipe descriptors per port); the drivers must not.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Iterator

import pytest

from drivers.masimo import MasimoDecoder
from drivers.serial_port import SerialDriver
from drivers.sim.pty import PtyPair
from monitor.core.models import DeviceState, LinkState, Reading
from tests.waiting import wait_for_async

PORTS = 1_111
FRAME = b"11/23/26 10:00:00 SPO2=095% BPM=072 EXC=000000\r\n"


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Each port costs ~7 descriptors here (pty master and slave, the driver's open, pyserial's
    abort pipes): raise the soft limit for the test, as a 1,000-room deployment would."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = PORTS * 8 + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.fail(f"RLIMIT_NOFILE hard limit {hard} < {need}: cannot open {PORTS} ports")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_over_1100_ports_read_and_write_beyond_fd_1024(many_fds: None) -> None:
    ptys: list[PtyPair] = []
    tasks: list[asyncio.Task[None]] = []
    items: list[list[Reading | DeviceState]] = []
    drivers: list[SerialDriver] = []
    try:
        for i in range(PORTS):
            ptys.append(PtyPair())
            got: list[Reading | DeviceState] = []
            items.append(got)
            drv = SerialDriver(ptys[-1].port, MasimoDecoder(source=f"ox{i}"), source=f"ox{i}")
            drivers.append(drv)
            tasks.append(asyncio.create_task(drv.run(got.append)))
        await wait_for_async(
            lambda: all(d.state == LinkState.CONNECTED for d in drivers), 60, every_s=0.05
        )
        high = [d for d in drivers if (d.fd or 0) > 1024]
        assert len(high) > PORTS // 2, "the test must reach descriptors select() refuses"

        for p in ptys:
            p.write(FRAME)
        await wait_for_async(
            lambda: all(any(isinstance(x, Reading) for x in g) for g in items), 30, every_s=0.05
        )
        last = items[-1]
        spo2 = [(x.value, x.source) for x in last if isinstance(x, Reading) and x.channel == "spo2"]
        assert spo2 == [(95.0, f"ox{PORTS - 1}")]
        assert drivers[-1].fd is not None and drivers[-1].fd > 1024

        # Writing (SunTech commands, Contec keep-alives) goes the same way.
        await drivers[-1].write(b"\x3a\x79\x05\x00\x48")
        await wait_for_async(lambda: os.read(ptys[-1].master_fd, 64) != b"", 5, every_s=0.05)
        assert all(d.state == LinkState.CONNECTED for d in drivers)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for p in ptys:
            p.close()
