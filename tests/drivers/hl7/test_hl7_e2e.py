"""`vigil run` with HL7 monitors: the monitor simulator (`vigil simulate --protocol hl7`)
sends ORU^R01 over MLLP to Vigil's listener; the room alarms on apnea; a bad message gets
an AR and shows in /api/health's drop counters; InfluxDB stores the respiration channels.
In a second room the monitor's CO2 sampling line blocks (IHE PCD-04 ORU^R40 start / end):
`co2_line_blocked` comes and goes, and the monitor's apnea flag and zero RR / EtCO2 of that
time raise nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Influxd, VigilProcess, collect_stream, free_port
from tests.drivers.hl7.test_transport import exchange
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def test_monitor_simulator_to_vigil_to_alarms(influxd: Influxd, tmp_path: Path) -> None:
    mllp_port, blocked_port = free_port(), free_port()
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_hl7"
influx_batch_s = 0.2

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-monitor"
protocol = "hl7"
hl7 = {{ mode = "listen", host = "127.0.0.1", port = {mllp_port} }}

[[rooms]]
id = "B"
[[rooms.devices]]
id = "B-monitor"
protocol = "hl7"
hl7 = {{ mode = "listen", host = "127.0.0.1", port = {blocked_port} }}
""")
    app = VigilProcess(config, tmp_path)
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    sim = subprocess.Popen(
        [sys.executable, "-m", "monitor", "simulate", "--protocol", "hl7", "--scenario", "apnea",
         "--mllp", f"connect:127.0.0.1:{mllp_port}", "--interval", "0.25",
         "--options", '{"apnea_start_s": 4, "apnea_duration_s": 60, "spo2_lag_s": 60}'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # Blocked 3 s in, for 6 s: unguarded, the apnea flag alone would alarm within 2 s.
    blocked_sim = subprocess.Popen(
        [sys.executable, "-m", "monitor", "simulate", "--protocol", "hl7",
         "--scenario", "co2_line_blocked", "--mllp", f"connect:127.0.0.1:{blocked_port}",
         "--interval", "0.25", "--options", '{"blocked_start_s": 3, "blocked_duration_s": 6}'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for room_id in ("A", "B"):
            r = app.post(
                f"/api/rooms/{room_id}/events",
                json={"event": "session_start", "args": {"pseudonym": "H1"}},
            )
            assert r.status_code == 200

        def b_monitor() -> dict[str, Any]:
            return app.get("/api/health").json()["drivers"]["B-monitor"]  # type: ignore[no-any-return]

        # While B's line is blocked (3 s to 9 s of its simulator) /api/health says so.
        wait_for(lambda: b_monitor().get("co2_line_blocked"), 30,
                 lambda: f"co2_line_blocked in B-monitor's health: {b_monitor()}",
                 every_s=0.2)  # fmt: skip

        def seen(kind: str, **match: object) -> bool:
            return any(
                m.get("type") == kind and all(m.get(k) == v for k, v in match.items())
                for m in list(messages)
            )

        def log() -> str:
            return app.log_path.read_text()

        wait_for(lambda: seen("alarm", condition="apnea", state="active"), 30,
                 lambda: f"an apnea alarm; log:\n{log()}", every_s=0.2)  # fmt: skip
        reply = asyncio.run(exchange(mllp_port, b"\x0bNOT HL7\x1c\r"))
        assert reply.startswith("AR not an HL7 v2 message")
        health = app.get("/api/health").json()
        device = health["drivers"]["A-monitor"]
        assert device["state"] == "connected" and device["frames"] > 5
        assert device["dropped"] == {"unparsable": 1}
        assert device["port"] == f"mllp listen on 127.0.0.1:{mllp_port}"
        room = app.get("/api/rooms/A").json()
        assert room["latest"]["apnea"]["value"] == 1
        assert {"resp_rate", "etco2", "spo2", "sbp"} <= set(room["latest"])
        wait_for(lambda: influxd.query("SELECT count(*) FROM reading WHERE channel = 'etco2'",
                                       db="vigil_hl7"),
                 15, "etco2 in InfluxDB", every_s=0.3)  # fmt: skip
        wait_for(lambda: seen("alarm", room="B", condition="co2_line_blocked", state="cleared"),
                 30, lambda: f"co2_line_blocked to clear; log:\n{log()}", every_s=0.2)  # fmt: skip
        b_alarms = [m for m in list(messages) if m.get("type") == "alarm" and m.get("room") == "B"]
        assert [(m["condition"], m["kind"], m["priority"], m["state"]) for m in b_alarms] == [
            ("co2_line_blocked", "technical", "medium", "active"),
            ("co2_line_blocked", "technical", "medium", "cleared"),
        ]
        assert b_monitor()["dropped"] == {}
        assert b_monitor()["co2_line_blocked"] is False
    finally:
        blocked_sim.terminate()
        blocked_sim.wait(10)
        sim.terminate()
        sim.wait(10)
        stop.set()
        reader.join(10)
        app.stop()
