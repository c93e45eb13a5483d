"""Paging latency: alarm transition published → request reaching a loopback receiver.

100 rooms live, each a simulated oximeter read through its pty by the real driver, into the
real runtime (room pipelines, hub, InfluxDB on loopback when influxd is installed). Every
room desaturates (starts staggered over a few seconds), so each produces an `active` and two
`escalated` transitions; each transition is timed from its publication on the hub to the
arrival of its page at an HTTP receiver (Apprise json://), one webhook path per room and
tier. Repeats are pushed out of the window: they are not transitions.
"""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOMS = 100
TARGET_P99_MS = 250.0


async def _measure(influx_url: str, state: Path, rooms_n: int = ROOMS) -> list[float]:
    """`state`: a scratch folder for the journal and tokens (never the checkout's .vigil/)."""
    from alerts.config import Contact
    from monitor.config import DeviceConfig, RoomConfig, Settings, SimulatorConfig
    from monitor.hl7out.config import AlertsSettings
    from monitor.runtime import Vigil

    receiver = subprocess.Popen(
        [sys.executable, "-m", "tests.receivers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert receiver.stdout is not None and receiver.stdin is not None
    port = int(receiver.stdout.readline())
    requests: list[tuple[float, str]] = []

    def read() -> None:
        assert receiver.stdout is not None
        for line in receiver.stdout:
            r = json.loads(line)
            requests.append((r["t"], r["path"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    contacts = [
        Contact(
            name=f"room-{i:03d}-tier-{tier}",
            tier=tier,
            rooms=[f"R{i:03d}"],
            urls=[f"json://127.0.0.1:{port}/R{i:03d}/{tier}"],
        )
        for i in range(rooms_n)
        for tier in (1, 2, 3)
    ]
    rooms = [
        RoomConfig(
            id=f"R{i:03d}",
            devices=[
                DeviceConfig(
                    id=f"R{i:03d}-ox",
                    protocol="masimo-ascii",
                    simulate=SimulatorConfig(
                        scenario="desaturation",
                        interval_s=0.5,
                        options={"desat_start_s": 1 + (i % 20) * 0.25, "desat_duration_s": 600},
                    ),
                )
            ],
        )
        for i in range(rooms_n)
    ]
    settings = Settings(
        influx_url=influx_url,
        influx_database="vigil_bench",
        journal_path=state / "journal.sqlite3",
        rooms=rooms,
        escalation_after_s={"medium": [2.0, 4.0], "high": [2.0, 4.0]},
        alerts=AlertsSettings(
            contacts=contacts,
            secret=secrets.token_urlsafe(32),  # type: ignore[arg-type]
            repeat_s={"high": 600.0, "medium": 600.0},
            token_db=state / "tokens.sqlite",
            ack_base_url="http://127.0.0.1:8000",
            workers=16,
        ),
    )
    vigil = Vigil(settings)
    published: dict[tuple[str, int], float] = {}  # (room, tier) → publication time
    hub_publish = vigil.hub.publish

    def stamped(m: dict[str, Any]) -> None:
        # Stamp at the moment the runtime publishes the transition, before any queueing.
        if m.get("type") == "alarm" and m["state"] in ("active", "escalated"):
            published.setdefault((m["room"], int(m["tier"])), time.time())
        hub_publish(m)

    vigil.hub.publish = stamped  # type: ignore[method-assign]
    await vigil.start()
    gc.freeze()  # as the service does after start-up (monitor/api/app.py)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = {(p.split("/")[1], int(p.split("/")[2])) for _, p in list(requests)}
            if len(got) >= rooms_n * 3:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.5)
    finally:
        await vigil.stop()
        receiver.stdin.close()
        receiver.wait(10)
        reader.join(5)
    arrived: dict[tuple[str, int], float] = {}
    for t, path in requests:
        _, room, tier = path.split("/")
        arrived.setdefault((room, int(tier)), t)
    return [(arrived[k] - published[k]) * 1000 for k in published if k in arrived]


def paging_latency(rooms_n: int = ROOMS) -> tuple[list[float], int]:
    """Each transition's latency (ms) and how many transitions were expected."""
    from tests.conftest import Influxd

    with tempfile.TemporaryDirectory() as tmp:
        influxd = Influxd(Path(tmp)) if shutil.which("influxd") else None
        url = influxd.url if influxd else "http://127.0.0.1:9"
        try:
            samples = asyncio.run(_measure(url, Path(tmp), rooms_n))
        finally:
            if influxd is not None:
                influxd.stop()
    return samples, rooms_n * 3


def main() -> None:
    samples, expected = paging_latency()
    if len(samples) < expected:
        print(f"paging: only {len(samples)}/{expected} transitions reached the receiver: FAILED")
        return
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    verdict = "OK" if p99 < TARGET_P99_MS else "ABOVE TARGET"
    print(
        f"paging: alarm transition -> loopback receiver, {ROOMS} rooms live, "
        f"{len(samples)} transitions: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {samples[-1]:.1f} ms "
        f"(target p99 < {TARGET_P99_MS:.0f} ms): {verdict}"
    )


if __name__ == "__main__":
    main()
