"""Random bytes on a real serial line (pty) into `vigil run`, a session running: the room gets
the `device_garbled` technical alarm, the device shows `garbled` in /api/health, and no
reading of that line is used, so no physiological alarm (issue #11 item 5)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.pty import PtyPair
from monitor.core.models import EXCLUDING_FLAGS
from tests.conftest import Influxd, VigilProcess, collect_stream
from tests.line_noise import random_bytes
from tests.waiting import wait_for

NOISE_BYTES_PER_S = 11_520  # BerryMed's 115200 baud, back to back


def start_noisy_room(
    influxd: Influxd, tmp_path: Path, extra: str = ""
) -> tuple[VigilProcess, PtyPair]:
    """`vigil run` with room G in session, its BerryMed oximeter on a pty the test writes to;
    `extra`: more configuration (top-level keys and tables, before the rooms)."""
    line = PtyPair()
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_garbled"
{extra}
[[rooms]]
id = "G"
name = "Room G"
auto_session_dose_after_s = 0
[[rooms.devices]]
id = "G-ox"
protocol = "berrymed"
port = "{line.port}"
""")
    return VigilProcess(config, tmp_path), line


@pytest.fixture
def vigil(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, PtyPair]]:
    proc, line = start_noisy_room(influxd, tmp_path)
    yield proc, line
    proc.stop()
    line.close()


def _noise(line: PtyPair, stop: threading.Event) -> None:
    noise = random_bytes(NOISE_BYTES_PER_S * 60, seed=7)
    chunk = NOISE_BYTES_PER_S // 10
    for i in range(0, len(noise), chunk):
        if stop.is_set():
            return
        try:
            os.write(line.master_fd, noise[i : i + chunk])
        except OSError:
            return
        time.sleep(0.1)


def _alarms(app: VigilProcess) -> dict[str, dict[str, Any]]:
    return {a["condition"]: a for a in app.get("/api/rooms/G").json()["alarms"]}


def _alarms_if_garbled(app: VigilProcess) -> dict[str, dict[str, Any]]:
    alarms = _alarms(app)
    return alarms if "device_garbled" in alarms else {}


def _readings_after_the_alarm(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mine = [m for m in list(messages) if m.get("room") == "G"]
    raised = [
        i
        for i, m in enumerate(mine)
        if m.get("type") == "alarm" and m["condition"] == "device_garbled"
    ]
    return [m for m in mine[raised[0] :] if m.get("type") == "reading"] if raised else []


def test_random_bytes_on_a_serial_line_give_device_garbled_and_no_vitals(
    vigil: tuple[VigilProcess, PtyPair],
) -> None:
    app, line = vigil
    wait_for(
        lambda: app.get("/api/health").json()["drivers"]["G-ox"]["state"] == "connected",
        15,
        "the driver to open the pty",
    )
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=collect_stream, args=(app, messages, stop))]
    threads[0].start()
    # The noise starts once the stream is open: the alarm must arrive as a message, not
    # only inside a late client's snapshot.
    wait_for(lambda: any(m.get("type") == "snapshot" for m in messages), 20, "stream snapshot")
    threads.append(threading.Thread(target=_noise, args=(line, stop)))
    threads[1].start()
    try:
        alarms = wait_for(
            lambda: _alarms_if_garbled(app), 20, lambda: f"device_garbled; alarms {_alarms(app)}"
        )
        # The noise keeps coming: the readings decoded from it after the alarm are the ones
        # checked below too (none may be used), counted rather than slept for.
        wait_for(lambda: len(_readings_after_the_alarm(messages)) >= 10, 20, "10 more readings")
        health = app.get("/api/health").json()
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    garbled = alarms["device_garbled"]
    assert garbled["kind"] == "technical"
    assert "check cable / baud rate" in garbled["reason"]
    assert health["drivers"]["G-ox"]["state"] == "garbled"
    assert health["status"] != "ok"
    mine = [m for m in messages if m.get("room") == "G"]
    readings = [m for m in mine if m.get("type") == "reading"]
    assert readings, "the noise decoded to no frame at all: the test proves nothing"
    used = [
        m for m in readings if m["value"] is not None and not set(m["status"]) & EXCLUDING_FLAGS
    ]
    assert used == []
    kinds = {(m["condition"], m["kind"]) for m in mine if m.get("type") == "alarm"}
    assert ("device_garbled", "technical") in kinds
    assert not [k for k in kinds if k[1] == "physiological"]
