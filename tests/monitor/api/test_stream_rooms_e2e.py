"""The live stream under the real app (uvicorn): a client watches only the rooms it names,
readings arrive coalesced per room, and an alarm transition does not wait for the window."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Influxd, VigilProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

WINDOW_S = 2.0  # long, so that "held for the window" and "sent at once" cannot be confused

Received = list[tuple[float, dict[str, Any]]]


@pytest.fixture
def vigil(influxd: Influxd, tmp_path: Path) -> Iterator[VigilProcess]:
    config = tmp_path / "vigil.toml"
    rooms = "".join(
        f"""
[[rooms]]
id = "{room}"
[[rooms.devices]]
id = "{room}-ox"
protocol = "masimo-ascii"
simulate.scenario = "{scenario}"
simulate.interval_s = 0.2
simulate.options = {{ desat_start_s = 3, desat_duration_s = 60 }}
"""
        for room, scenario in (("A", "steady"), ("B", "desaturation"), ("C", "steady"))
    )
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_stream_rooms"
stream_interval_s = {WINDOW_S}

[rules.conditions.spo2_low]
delay_s = 0
{rooms}""")
    proc = VigilProcess(config, tmp_path)
    yield proc
    proc.stop()


def read_stream(app: VigilProcess, query: str, out: Received, stop: threading.Event) -> None:
    """(arrival time, message) of every message on /api/stream?<query>, until `stop`."""
    with (
        app.client() as client,
        client.stream("GET", f"/api/stream?{query}", timeout=httpx.Timeout(5.0)) as r,
    ):
        for line in r.iter_lines():
            if line.startswith("data:"):
                out.append((time.time(), json.loads(line[5:])))
            if stop.is_set():
                return


def _spo2(received: Received, room: str) -> list[float]:
    """The times of `room`'s SpO2 updates a client received."""
    return [
        m["t"]
        for _, m in list(received)
        if m["type"] == "reading" and (m["room"], m["channel"]) == (room, "spo2")
    ]


def test_clients_get_their_rooms_coalesced_and_alarms_at_once(vigil: VigilProcess) -> None:
    ab: Received = []
    c: Received = []
    stop = threading.Event()
    readers = [
        threading.Thread(target=read_stream, args=(vigil, "rooms=A,B", ab, stop)),
        threading.Thread(target=read_stream, args=(vigil, "rooms=C", c, stop)),
    ]
    for r in readers:
        r.start()
    try:
        wait_for(
            lambda: any(m.get("type") == "alarm" and m["room"] == "B" for _, m in list(ab)),
            30,
            "an alarm from room B",
        )
        # A few more windows of readings, on both clients.
        wait_for(
            lambda: len(_spo2(ab, "A")) >= 3 and len(_spo2(c, "C")) >= 3,
            6 * WINDOW_S,
            "three windows of readings on each client",
        )
    finally:
        stop.set()
        for r in readers:
            r.join(10)

    # Each client: a snapshot of its rooms, then its rooms' messages only (and heartbeats).
    assert [r["room"] for r in ab[0][1]["rooms"]] == ["A", "B"]
    assert [r["room"] for r in c[0][1]["rooms"]] == ["C"]
    assert {m["room"] for _, m in ab[1:] if "room" in m} == {"A", "B"}
    assert {m["room"] for _, m in c[1:] if "room" in m} == {"C"}
    assert any(m["type"] == "heartbeat" for _, m in c)

    # Readings: at most one update per room per window, the newest value (the device sends
    # five a second).
    spo2_a = _spo2(ab, "A")
    assert len(spo2_a) >= 3
    assert min(b - a for a, b in zip(spo2_a, spo2_a[1:], strict=False)) > WINDOW_S - 0.5

    # The alarm: sent when the core raised it (not up to a window later), right after the
    # reading that raised it (held readings of the room go first).
    i, (arrived, alarm) = next((i, x) for i, x in enumerate(ab) if x[1]["type"] == "alarm")
    assert (alarm["room"], alarm["condition"], alarm["state"]) == ("B", "spo2_low", "active")
    assert arrived - alarm["t"] < WINDOW_S / 2
    before = [m for _, m in ab[:i] if m.get("room") == "B" and m["type"] == "reading"]
    last_spo2 = [m for m in before if m["channel"] == "spo2"][-1]
    assert last_spo2["t"] == alarm["t"] and last_spo2["value"] < 90


def test_unknown_room_is_refused_with_its_name(vigil: VigilProcess) -> None:
    r = vigil.get("/api/stream?rooms=A,Z")
    assert r.status_code == 422
    assert r.json()["detail"] == "rooms: unknown room(s) Z"
