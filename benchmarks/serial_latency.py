"""Serial byte → reading latency with 100 oximeters on ptys, each sending a frame a second.

Issue #12 found reading → stream latency dominated (~50 ms median) by reads that waited for
the default executor's threads. The bytes are written into each pty's master at a random
phase; measured (1) until the driver emits the SpO2 reading, and (2) through the whole
runtime (room queue, pipeline, journal, hub with its coalescing) until the encoded message
is in a live-stream subscriber's outbox.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drivers.masimo import MasimoDecoder
from drivers.serial_port import SerialDriver
from drivers.sim.pty import PtyPair
from monitor.core.models import DeviceState, LinkState, Reading

PORTS = 100
SECONDS = 10.0
FRAME = b"11/23/26 10:00:00 SPO2=097% BPM=072 EXC=000000\r\n"
P50_TARGET_MS = 25.0  # the coalescing batch (20 ms) is the most a reading may wait


async def play(
    ptys: list[PtyPair], sent: list[float], ready: Callable[[], bool], seconds: float
) -> None:
    """Once `ready()` (every port open), write a frame into each pty once a second at a random
    phase for `seconds`, noting in `sent` when."""

    async def device(i: int) -> None:
        await asyncio.sleep(random.random())
        while True:
            sent[i] = time.perf_counter()
            ptys[i].write(FRAME)
            await asyncio.sleep(1.0)

    while not ready():
        await asyncio.sleep(0.05)
    devices = [asyncio.create_task(device(i)) for i in range(len(ptys))]
    await asyncio.sleep(seconds)
    for t in devices:
        t.cancel()
    await asyncio.gather(*devices, return_exceptions=True)


async def measure(ports: int = PORTS, seconds: float = SECONDS) -> list[float]:
    """Latencies in ms from the bytes to the driver's SpO2 reading."""
    ptys = [PtyPair() for _ in range(ports)]
    sent = [0.0] * ports
    latencies: list[float] = []

    def emit_for(i: int) -> Callable[[Reading | DeviceState], None]:
        def emit(item: Reading | DeviceState) -> None:
            if isinstance(item, Reading) and item.channel == "spo2":
                latencies.append((time.perf_counter() - sent[i]) * 1000)

        return emit

    drivers = [SerialDriver(p.port, MasimoDecoder(source=f"ox{i}"), source=f"ox{i}")
               for i, p in enumerate(ptys)]  # fmt: skip
    tasks = [asyncio.create_task(d.run(emit_for(i))) for i, d in enumerate(drivers)]
    try:
        await play(
            ptys, sent, lambda: all(d.state == LinkState.CONNECTED for d in drivers), seconds
        )
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for p in ptys:
            p.close()
    return latencies


async def measure_stream(influx_url: str, state: Path, seconds: float = SECONDS) -> list[float]:
    """Latencies in ms from the bytes to the SpO2 message in a stream subscriber's outbox."""
    from monitor.config import DeviceConfig, RoomConfig, Settings
    from monitor.runtime import Vigil

    ptys = [PtyPair() for _ in range(PORTS)]
    rooms = [
        RoomConfig(
            id=str(i),
            devices=[DeviceConfig(id=f"ox{i}", protocol="masimo-ascii", port=p.port)],
        )
        for i, p in enumerate(ptys)
    ]
    settings = Settings(
        influx_url=influx_url,
        influx_database="vigil_bench",
        journal_path=state / "journal.sqlite3",
        rooms=rooms,
    )
    vigil = Vigil(settings)
    sent = [0.0] * PORTS
    latencies: list[float] = []
    await vigil.start()
    sub = vigil.hub.subscribe()

    async def client() -> None:
        while (data := await sub.get()) is not None:
            now = time.perf_counter()
            for line in data.split(b"\n"):
                if line.startswith(b'data: {"type":"reading"'):
                    m = json.loads(line[6:])
                    if m["channel"] == "spo2" and sent[int(m["room"])]:
                        latencies.append((now - sent[int(m["room"])]) * 1000)

    def ready() -> bool:
        return all(d.driver.state == LinkState.CONNECTED
                   for r in vigil.rooms.values() for d in r.devices)  # fmt: skip

    reader = asyncio.create_task(client())
    try:
        await play(ptys, sent, ready, seconds)
    finally:
        reader.cancel()
        await vigil.stop()
        for p in ptys:
            p.close()
    return latencies


def stream_latency() -> list[float]:
    from tests.conftest import Influxd

    with tempfile.TemporaryDirectory() as tmp:
        influxd = Influxd(Path(tmp)) if shutil.which("influxd") else None
        url = influxd.url if influxd else "http://127.0.0.1:9"
        try:
            return asyncio.run(measure_stream(url, Path(tmp)))
        finally:
            if influxd is not None:
                influxd.stop()


def _report(what: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99)]
    verdict = "OK" if p50 <= P50_TARGET_MS else "BELOW TARGET"
    print(
        f"{what}, {PORTS} ptys at 1 Hz: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"{len(ms)} readings (target p50 <= {P50_TARGET_MS} ms): {verdict}"
    )


def main() -> None:
    _report("serial bytes → reading (driver)", asyncio.run(measure()))
    _report("serial bytes → stream outbox (runtime)", stream_latency())


if __name__ == "__main__":
    main()
