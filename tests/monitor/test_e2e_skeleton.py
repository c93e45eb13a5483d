"""The walking skeleton end to end: simulated device bytes → pty → driver → room pipeline →
InfluxDB, /api/rooms and the live stream, with Vigil started as a user starts it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.pty import PtyPair
from tests.conftest import Influxd, VigilProcess, collect_stream
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def vigil(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, PtyPair]]:
    garbage_port = PtyPair()
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_e2e"
influx_batch_s = 0.2

[[rooms]]
id = "A"
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}

[[rooms]]
id = "B"
name = "Room B"
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
simulate.scenario = "desaturation"
simulate.interval_s = 0.5
simulate.options = {{ desat_start_s = 3, desat_duration_s = 22 }}

[[rooms]]
id = "C"
[[rooms.devices]]
id = "C-ox"
protocol = "masimo-ascii"
port = "{garbage_port.port}"
""")
    proc = VigilProcess(config, tmp_path)
    yield proc, garbage_port
    proc.stop()
    garbage_port.close()


def test_desaturation_alarm_appears_and_clears_everywhere(
    vigil: tuple[VigilProcess, PtyPair], influxd: Influxd
) -> None:
    app, garbage = vigil
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    try:
        # Garbage into room C's serial line: a bad number, line noise, an impossible SpO2.
        wait_for(
            lambda: app.get("/api/health").json()["drivers"]["C-ox"]["state"] == "connected",
            10,
            "room C's driver to open its port",
        )
        os.write(
            garbage.master_fd,
            b"11/23/26 10:00:00 SPO2=0#5% BPM=072 EXC=000000\r\n"
            b"\x00\xff\x13noise\r\n"
            b"11/23/26 10:00:01 SPO2=355% BPM=072 EXC=000000\r\n",
        )

        def alarm_states() -> list[tuple[str, str, str]]:
            return [
                (m["room"], m["condition"], m["state"])
                for m in list(messages)
                if m.get("type") == "alarm"
            ]

        def cleared() -> bool:
            """The alarm cleared; while it is only active, /api/rooms/B must show it too."""
            if ("B", "spo2_low", "cleared") in alarm_states():
                return True
            if ("B", "spo2_low", "active") in alarm_states():
                shown = app.get("/api/rooms/B").json()["alarms"]
                # The room may have cleared between the two reads: only then is it fine.
                if not any(a["condition"] == "spo2_low" for a in shown) and (
                    ("B", "spo2_low", "cleared") not in alarm_states()
                ):
                    pytest.fail("alarm on the stream but not in /api/rooms/B")
            return False

        wait_for(cleared, 70, lambda: f"spo2_low to clear in B; saw {alarm_states()}",
                 every_s=0.25)  # fmt: skip
    finally:
        stop.set()
        reader.join(10)

    assert alarm_states() == [("B", "spo2_low", "active"), ("B", "spo2_low", "cleared")]
    active = next(m for m in messages if m.get("type") == "alarm")
    assert active["priority"] == "medium" and active["value"] < 90 and active["limit"] == 90

    assert messages[0]["type"] == "snapshot"
    assert {m["room"] for m in messages if m.get("type") == "reading"} == {"A", "B"}
    assert any(m.get("type") == "heartbeat" for m in messages)

    rooms = {r["room"]: r for r in app.get("/api/rooms").json()}
    assert rooms["A"]["latest"]["spo2"]["value"] in (97.0, 98.0)
    assert rooms["A"]["alarms"] == [] and rooms["B"]["alarms"] == []
    assert rooms["C"]["latest"] == {} and rooms["C"]["alarms"] == []

    health = app.get("/api/health").json()
    assert health["influxdb"]["status"] == "ok"
    assert health["drivers"]["C-ox"]["dropped"] == {
        "bad_number": 1,
        "not_ascii": 1,
        "implausible": 1,
    }

    last: list[object] = []

    def stored() -> list[dict[str, object]]:
        points = influxd.query(
            "SELECT count(value) FROM reading WHERE room = 'A' AND channel = 'spo2'", db="vigil_e2e"
        )
        alarms = influxd.query("SELECT reason FROM alarm GROUP BY condition, state", db="vigil_e2e")
        last[:] = [points, alarms]
        return alarms if points and int(str(points[0]["count"])) >= 10 and len(alarms) == 2 else []

    alarms = wait_for(stored, 5, lambda: f"readings and alarms in InfluxDB; it has {last}")
    assert {(a["condition"], a["state"]) for a in alarms} == {
        ("spo2_low", "active"),
        ("spo2_low", "cleared"),
    }


def test_bad_config_stops_start_up_naming_the_field(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "bad.toml"
    config.write_text(
        '[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "x"\n'
        'protocol = "masimo-ascii"\nbaudrate = -1\nport = "/dev/null"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "rooms.0.devices.0.baudrate" in result.stderr
