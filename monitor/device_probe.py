"""The admin page's "test connection": a device's decoded readings, live, for a few seconds.

A device already running in a room is never opened a second time (a serial port read by two
readers splits its bytes between them; a BLE device takes one central): its readings come
from the live hub instead. Any other device is opened through the real driver, exactly as a
room would open it (a simulated one with its simulator on a pseudo-terminal or a bumble
link), and closed again when the time is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from monitor.config import BLE_PROTOCOL, DeviceConfig
from monitor.core.models import DeviceState, Reading
from monitor.rooms import Device, driver_sources

if TYPE_CHECKING:
    from monitor.runtime import Vigil

MAX_PROBE_S = 15.0
MAX_PROBES = 2  # devices opened for a test at once (each holds a port or a BLE link)
_probes = asyncio.Semaphore(MAX_PROBES)


def running_device(vigil: Vigil, device_id: str) -> tuple[str, Device] | None:
    for rid, room in vigil.rooms.items():
        for dev in room.devices:
            if dev.config.id == device_id:
                return rid, dev
    return None


def port_user(vigil: Vigil, dc: DeviceConfig) -> str | None:
    """The running device that holds `dc`'s serial port or BLE address, if any."""
    for room in vigil.rooms.values():
        for dev in room.devices:
            c = dev.config
            same_port = dc.port is not None and c.port == dc.port
            same_address = dc.address is not None and c.address == dc.address
            if same_port or same_address:
                return f"{c.id} in room {room.config.id}"
    return None


def sse_messages(chunk: bytes) -> list[dict[str, Any]]:
    """The messages in a chunk of the hub's Server-Sent Events (`data: {json}` lines)."""
    return [orjson.loads(line[5:]) for line in chunk.split(b"\n") if line.startswith(b"data:")]


def _message(item: Reading | DeviceState) -> dict[str, Any]:
    if isinstance(item, Reading):
        return {"type": "reading", **item.to_dict()}
    return {
        "type": "device",
        "source": item.source,
        "state": item.state.value,
        "detail": item.detail,
        "t": item.t,
    }


async def probe(vigil: Vigil, dc: DeviceConfig, seconds: float) -> AsyncIterator[dict[str, Any]]:
    """Messages (`info`, `reading`, `device`, `error`, then `end`) for `seconds`."""
    seconds = min(max(seconds, 1.0), MAX_PROBE_S)
    found = running_device(vigil, dc.id)
    if found is not None and found[1].config == dc:
        async for m in _live(vigil, found[0], found[1], seconds):
            yield m
        return
    holder = port_user(vigil, dc)
    if holder is not None:
        yield {
            "type": "error",
            "text": f"{dc.port or dc.address} is in use by {holder}; "
            "restart Vigil to apply the change, or test that device",
        }
        yield {"type": "end", "readings": 0}
        return
    if _probes.locked():
        yield {"type": "error", "text": f"{MAX_PROBES} tests are running; try again shortly"}
        yield {"type": "end", "readings": 0}
        return
    async with _probes:
        async for m in _opened(vigil, dc, seconds):
            yield m


async def _live(
    vigil: Vigil, rid: str, dev: Device, seconds: float
) -> AsyncIterator[dict[str, Any]]:
    sources = set(driver_sources(dev.driver))
    yield {
        "type": "info",
        "text": f"{dev.config.id} runs in room {rid}: its live readings "
        f"(state {dev.driver.state.value})",
    }
    sub = vigil.hub.subscribe([rid])
    n = 0
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    chunk = await sub.get()
            except TimeoutError:
                break
            if chunk is None:
                break
            for m in sse_messages(chunk):
                if m.get("type") in ("reading", "device") and m.get("source") in sources:
                    n += m["type"] == "reading"
                    yield {k: v for k, v in m.items() if k != "smoothed"}
    finally:
        vigil.hub.unsubscribe(sub)
    yield {"type": "end", "readings": n, "frames": dev.driver.decoder.frames}


async def _opened(vigil: Vigil, dc: DeviceConfig, seconds: float) -> AsyncIterator[dict[str, Any]]:
    from drivers.registry import build_serial_driver
    from drivers.sim.pty import PtyPair
    from drivers.sim.registry import make_sim
    from drivers.sim.runner import run_serial_sim
    from drivers.sim.scenarios import scenario

    q: asyncio.Queue[Reading | DeviceState] = asyncio.Queue(10_000)
    tasks: list[asyncio.Task[None]] = []
    pty: PtyPair | None = None
    try:
        if dc.protocol == BLE_PROTOCOL:
            from drivers.ble.factory import create_ble_device
            from drivers.sim.ble_factory import create_simulated_ble_device

            if dc.simulate is not None:
                options = dict(dc.simulate.options)
                driver, peripheral, coros = create_simulated_ble_device(
                    dc.id, dc.simulate.profile, dc.simulate.scenario, options, vigil.clock
                )
                tasks += [asyncio.create_task(c) for c in coros]
            else:
                assert dc.address is not None  # the validator demands address or simulate
                driver = create_ble_device(dc.id, dc.address, vigil.clock, transport=dc.transport)
        else:
            port = dc.port
            if dc.simulate is not None:
                pty = PtyPair()
                port = pty.port
                sim = run_serial_sim(
                    pty,
                    make_sim(dc.protocol, dc.simulate.device_options),
                    scenario(dc.simulate.scenario, dc.simulate.options),
                    interval_s=dc.simulate.interval_s,
                    clock=vigil.clock,
                )
                tasks.append(asyncio.create_task(sim))
            assert port is not None  # the validator demands port or simulate
            driver = build_serial_driver(
                dc.protocol,
                port,
                dc.id,
                baudrate=dc.baudrate,
                clock=vigil.clock,
                options=dc.options,
            )
        yield {"type": "info", "text": f"opened {dc.id} ({dc.protocol}) through its driver"}
        tasks.append(asyncio.create_task(driver.run(q.put_nowait)))
        n = 0
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    item = await q.get()
            except TimeoutError:
                break
            n += isinstance(item, Reading)
            yield _message(item)
        dec = driver.decoder
        yield {"type": "end", "readings": n, "frames": dec.frames, "dropped": dict(dec.dropped)}
    except Exception as exc:  # a device that cannot be opened is the answer, not a crash
        yield {"type": "error", "text": f"{type(exc).__name__}: {exc}"}
        yield {"type": "end", "readings": 0}
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if pty is not None:
            pty.close()
