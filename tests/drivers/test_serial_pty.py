"""The serial path through a real pseudo-terminal opened by pyserial."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from drivers.masimo import MasimoDecoder
from drivers.serial_port import NotConnected, SerialDriver
from drivers.sim.devices import MasimoSim
from drivers.sim.pty import PtyPair
from drivers.sim.runner import run_serial_sim
from drivers.sim.scenarios import scenario
from monitor.core.models import DeviceState, LinkState, Reading
from tests.waiting import wait_for_async


async def collect_until(items: list[Reading | DeviceState], pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    await wait_for_async(pred, timeout, every_s=0.02)


async def test_simulator_bytes_reach_readings_through_pty() -> None:
    pty = PtyPair()
    items: list[Reading | DeviceState] = []
    driver = SerialDriver(pty.port, MasimoDecoder(source="ox"), source="ox")
    tasks = [
        asyncio.create_task(run_serial_sim(pty, MasimoSim(), scenario("steady"), interval_s=0.05)),
        asyncio.create_task(driver.run(items.append)),
    ]
    try:
        await collect_until(
            items, lambda: sum(isinstance(i, Reading) and i.channel == "spo2" for i in items) >= 5
        )
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pty.close()
    states = [i.state for i in items if isinstance(i, DeviceState)]
    assert states[:2] == [LinkState.CONNECTING, LinkState.CONNECTED]
    spo2 = [i for i in items if isinstance(i, Reading) and i.channel == "spo2"]
    assert all(r.value in (97.0, 98.0) and r.source == "ox" for r in spo2)


async def test_garbled_line_is_counted_and_skipped() -> None:
    pty = PtyPair()
    items: list[Reading | DeviceState] = []
    decoder = MasimoDecoder(source="ox")
    driver = SerialDriver(pty.port, decoder, source="ox")
    task = asyncio.create_task(driver.run(items.append))
    try:
        await collect_until(items, lambda: driver.state == LinkState.CONNECTED)
        os.write(
            pty.master_fd,
            b"11/23/26 10:00:00 SPO2=0#5% BPM=072 EXC=000000\r\n"
            b"11/23/26 10:00:01 SPO2=095% BPM=072 EXC=000000\r\n",
        )
        await collect_until(items, lambda: any(isinstance(i, Reading) for i in items))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pty.close()
    assert decoder.dropped == {"bad_number": 1}
    assert [(r.channel, r.value) for r in items if isinstance(r, Reading)] == [
        ("spo2", 95.0),
        ("pulse_rate", 72.0),
    ]


async def test_missing_port_reports_disconnected_and_retries() -> None:
    items: list[Reading | DeviceState] = []
    driver = SerialDriver("/dev/does-not-exist-vigil", MasimoDecoder(), source="ox")
    task = asyncio.create_task(driver.run(items.append))
    try:
        await collect_until(
            items,
            lambda: (
                sum(isinstance(i, DeviceState) and i.state == LinkState.CONNECTING for i in items)
                >= 2
            ),
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    disconnected = [
        i for i in items if isinstance(i, DeviceState) and i.state == LinkState.DISCONNECTED
    ]
    assert disconnected and "open failed" in disconnected[0].detail


PAYLOAD = bytes(range(256)) * 1024  # 256 KiB: several tty buffers' worth


@contextlib.asynccontextmanager
async def connected_driver(
    monkeypatch: pytest.MonkeyPatch, write_timeout_s: float
) -> AsyncIterator[tuple[PtyPair, SerialDriver]]:
    import drivers.serial_port as serial_port

    monkeypatch.setattr(serial_port, "WRITE_TIMEOUT_S", write_timeout_s)
    pty = PtyPair()
    driver = SerialDriver(pty.port, MasimoDecoder(source="ox"), source="ox")
    task = asyncio.create_task(driver.run(lambda item: None))
    try:
        await collect_until([], lambda: driver.state == LinkState.CONNECTED)
        yield pty, driver
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pty.close()


async def write_while_draining(pty: PtyPair, driver: SerialDriver, pause_s: float) -> bytes:
    """Write PAYLOAD while the device side empties its buffer every `pause_s`."""
    received = bytearray()

    async def drain() -> None:
        while len(received) < len(PAYLOAD):
            while chunk := pty.read():
                received.extend(chunk)
            await asyncio.sleep(pause_s)

    await asyncio.gather(driver.write(PAYLOAD), asyncio.wait_for(drain(), 20))
    return bytes(received)


async def test_write_larger_than_the_tty_buffer_waits_for_room_then_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Time without progress, not for the whole write: a drain starved by a loaded machine
    # must not fail the first write; the second still times out after this long.
    async with connected_driver(monkeypatch, 1.0) as (pty, driver):
        assert await write_while_draining(pty, driver, 0.001) == PAYLOAD
        with pytest.raises(NotConnected, match="write timed out"):  # nobody reads any more
            await driver.write(PAYLOAD)


async def test_a_slow_reader_that_keeps_taking_bytes_never_times_the_write_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with connected_driver(monkeypatch, 0.5) as (pty, driver):
        t0 = asyncio.get_running_loop().time()
        # The buffer is emptied every 0.2 s: the whole write takes longer than 0.5 s.
        assert await write_while_draining(pty, driver, 0.2) == PAYLOAD
        assert asyncio.get_running_loop().time() - t0 > 0.5
