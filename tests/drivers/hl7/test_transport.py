"""HL7 over real loopback sockets: the monitor simulator -> the MLLP driver -> a room's core.

The listener must survive garbage, oversize and broken messages and disconnects (each bad
message answered AE/AR and counted); the client must reconnect when the monitor comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import hl7
import pytest
from hl7.mllp import open_hl7_connection

from drivers.hl7.decoder import Hl7Decoder
from drivers.hl7.driver import Hl7Driver
from drivers.sim.hl7 import Hl7MonitorSim
from drivers.sim.scenarios import scenario
from monitor.core.models import AlarmEvent, Control, DeviceState, LinkState, Reading
from monitor.core.pipeline import RoomPipeline
from tests.waiting import wait_for_async

Item = Reading | DeviceState


@contextlib.asynccontextmanager
async def tasks(*coros: object) -> AsyncIterator[None]:
    running = [asyncio.create_task(c) for c in coros]  # type: ignore[arg-type]
    try:
        yield
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def exchange(port: int, payload: bytes) -> str:
    """Send raw bytes on a fresh connection and read one MLLP reply's MSA-1 and MSA-3."""
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    block = await asyncio.wait_for(reader.readblock(), 5)
    writer.close()
    msa = hl7.parse(block.decode()).segment("MSA")
    return f"{msa(1)} {msa(3) if len(msa) > 3 else ''}"


async def test_listener_feeds_the_core_and_survives_bad_input() -> None:
    items: list[Item] = []
    decoder = Hl7Decoder("mon")
    driver = Hl7Driver(decoder, source="mon", mode="listen", host="127.0.0.1", port=0)
    sim = Hl7MonitorSim(
        scenario("apnea", {"apnea_start_s": 1.5, "apnea_duration_s": 60, "spo2_lag_s": 60}),
        interval_s=0.2,
    )
    room = RoomPipeline("A")
    room.control(Control(time.time(), "session_start", by="n"))
    events: list[AlarmEvent] = []

    def emit(item: Item) -> None:
        items.append(item)
        out = room.feed(item) if isinstance(item, Reading) else room.device_state(item)
        events.extend(e for e in out if isinstance(e, AlarmEvent))

    async def port() -> int:
        await driver.listening.wait()
        assert driver.bound_port is not None
        return driver.bound_port

    async with tasks(driver.run(emit), sim.connect("127.0.0.1", port)):
        p = await port()
        # Garbage, a message in an unknown format and a broken OBX on other connections.
        assert (await exchange(p, b"\x0bHELLO\x1c\r")).startswith("AR not an HL7 v2 message")
        adt = "MSH|^~\\&|X|Y|VIGIL||20260101||ADT^A01|9|P|2.5\r"
        assert await exchange(p, b"\x0b" + adt.encode() + b"\x1c\r") == (
            "AR message type ADT A01 not supported"
        )
        bad = "MSH|^~\\&|X|Y|VIGIL||20260101||ORU^R01|10|P|2.6\rOBX|1|NM|150456^^MDC||abc\r"
        assert (await exchange(p, b"\x0b" + bad.encode() + b"\x1c\r")).startswith("AE OBX 1")
        # A peer that sends half a block and goes away, and one that sends no MLLP at all.
        _, w = await open_hl7_connection("127.0.0.1", p)
        w.write(b"\x0bMSH|^~\\&|X")
        await w.drain()
        w.close()
        _, w = await open_hl7_connection("127.0.0.1", p)
        w.write(b"GET / HTTP/1.1\r\n\r\n\x1c\r")
        await w.drain()
        w.close()
        await wait_for_async(lambda: any(e.condition == "apnea" for e in events), every_s=0.05)
        assert sim.acks and set(sim.acks) == {"AA"}  # the real monitor was never disturbed
        await wait_for_async(lambda: decoder.dropped["framing"] == 1, every_s=0.05)
    assert dict(decoder.dropped) == {
        "unparsable": 1,
        "rejected_200": 1,
        "value": 1,
        "framing": 1,
    }
    apnea = next(e for e in events if e.condition == "apnea")
    assert (apnea.priority.value, apnea.kind.value, apnea.reason) == (
        "high",
        "physiological",
        "apnea 1 >= 1",
    )
    assert {r.channel for r in items if isinstance(r, Reading)} >= {
        "spo2", "pulse_rate", "resp_rate", "etco2", "apnea", "sbp", "dbp", "map"
    }  # fmt: skip
    assert any(r.source == "mon/nibp" for r in items if isinstance(r, Reading))


async def test_client_mode_reconnects_when_the_monitor_returns() -> None:
    items: list[Item] = []
    decoder = Hl7Decoder("mon")
    sim = Hl7MonitorSim(scenario("steady"), interval_s=0.1)
    ready: asyncio.Queue[int] = asyncio.Queue()
    server = asyncio.create_task(sim.serve("127.0.0.1", 0, ready.put_nowait))
    port = await ready.get()
    driver = Hl7Driver(decoder, source="mon", mode="connect", host="127.0.0.1", port=port)

    def states() -> list[str]:
        return [i.state.value for i in items if isinstance(i, DeviceState)]

    def readings() -> int:
        return sum(isinstance(i, Reading) for i in items)

    async with tasks(driver.run(items.append)):
        await wait_for_async(lambda: readings() > 5, every_s=0.05)
        server.cancel()  # the monitor goes away (its server and connections close)
        with contextlib.suppress(asyncio.CancelledError):
            await server
        await wait_for_async(lambda: driver.state == LinkState.DISCONNECTED, every_s=0.05)
        seen = readings()
        server = asyncio.create_task(sim.serve("127.0.0.1", port, ready.put_nowait))
        await ready.get()
        await wait_for_async(lambda: readings() > seen + 5, every_s=0.05)
        assert states()[:2] == ["connecting", "connected"]
        assert states().count("connected") >= 2
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def test_a_port_in_use_is_visible_and_retried() -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    items: list[Item] = []
    driver = Hl7Driver(Hl7Decoder("mon"), source="mon", mode="listen", host="127.0.0.1", port=port)
    async with tasks(driver.run(items.append)):
        await wait_for_async(lambda: driver.detail.startswith("cannot listen"), every_s=0.05)
        assert driver.state == LinkState.DISCONNECTED
        blocker.close()
        await blocker.wait_closed()
        await wait_for_async(lambda: driver.listening.is_set(), 15, every_s=0.05)
        assert driver.state == LinkState.CONNECTING  # listening, waiting for the monitor


@pytest.mark.parametrize("size", [2 << 20])
async def test_oversize_block_is_dropped_and_the_connection_goes_on(size: int) -> None:
    decoder = Hl7Decoder("mon")
    driver = Hl7Driver(decoder, source="mon", mode="listen", host="127.0.0.1", port=0)
    async with tasks(driver.run(lambda item: None)):
        await driver.listening.wait()
        assert driver.bound_port is not None
        ok = "MSH|^~\\&|X|Y|VIGIL||20260101||ORU^R01|1|P|2.6\rOBX|1|NM|150456^^MDC||97\r"
        payload = b"\x0b" + b"A" * size + b"\x1c\r" + b"\x0b" + ok.encode() + b"\x1c\r"
        assert await exchange(driver.bound_port, payload) == "AA "
    assert decoder.dropped["oversize"] == 1


async def test_a_sender_that_connects_per_message_keeps_the_link_up() -> None:
    """Some gateways open a connection for every message: no flapping link state."""
    items: list[Item] = []
    driver = Hl7Driver(
        Hl7Decoder("mon"), source="mon", mode="listen", host="127.0.0.1", port=0, linger_s=1.0
    )
    async with tasks(driver.run(items.append)):
        await driver.listening.wait()
        assert driver.bound_port is not None
        ok = "MSH|^~\\&|X|Y|VIGIL||20260101||ORU^R01|{}|P|2.6\rOBX|1|NM|150456^^MDC||97\r"
        for n in range(5):
            payload = b"\x0b" + ok.format(n).encode() + b"\x1c\r"
            assert await exchange(driver.bound_port, payload) == "AA "
            await asyncio.sleep(0.2)
        states = [i.state.value for i in items if isinstance(i, DeviceState)]
        assert states == ["connecting", "connected"]
        await wait_for_async(lambda: driver.state == LinkState.DISCONNECTED, every_s=0.05)
        assert driver.detail == "monitor 127.0.0.1 hung up"
    assert sum(isinstance(i, Reading) for i in items) == 5
