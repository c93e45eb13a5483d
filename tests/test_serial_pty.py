"""The serial path through a real pseudo-terminal opened by pyserial."""

from __future__ import annotations

import asyncio
import os

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


async def test_write_larger_than_the_tty_buffer_waits_for_room_then_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import drivers.serial_port as serial_port

    # Time without progress, not for the whole write: a drain starved by a loaded machine
    # must not fail the first write; the second still times out after this long.
    monkeypatch.setattr(serial_port, "WRITE_TIMEOUT_S", 1.0)
    pty = PtyPair()
    driver = SerialDriver(pty.port, MasimoDecoder(source="ox"), source="ox")
    task = asyncio.create_task(driver.run(lambda item: None))
    try:
        await collect_until([], lambda: driver.state == LinkState.CONNECTED)
        payload = bytes(range(256)) * 1024  # 256 KiB: far more than a tty buffer holds
        received = bytearray()

        async def drain() -> None:
            while len(received) < len(payload):
                received.extend(pty.read())
                await asyncio.sleep(0.001)

        await asyncio.gather(driver.write(payload), asyncio.wait_for(drain(), 10))
        assert bytes(received) == payload

        with pytest.raises(NotConnected, match="write timed out"):  # nobody reads any more
            await driver.write(payload)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pty.close()


async def test_a_slow_reader_that_keeps_taking_bytes_never_times_the_write_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import drivers.serial_port as serial_port

    monkeypatch.setattr(serial_port, "WRITE_TIMEOUT_S", 0.5)
    pty = PtyPair()
    driver = SerialDriver(pty.port, MasimoDecoder(source="ox"), source="ox")
    task = asyncio.create_task(driver.run(lambda item: None))
    try:
        await collect_until([], lambda: driver.state == LinkState.CONNECTED)
        payload = bytes(range(256)) * 1024  # 256 KiB: several tty buffers' worth
        received = bytearray()

        async def drain() -> None:  # empties the buffer every 0.2 s: in all longer than 0.5 s
            while len(received) < len(payload):
                while chunk := pty.read():
                    received.extend(chunk)
                await asyncio.sleep(0.2)

        t0 = asyncio.get_running_loop().time()
        await asyncio.gather(driver.write(payload), asyncio.wait_for(drain(), 20))
        assert bytes(received) == payload
        assert asyncio.get_running_loop().time() - t0 > serial_port.WRITE_TIMEOUT_S
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pty.close()
