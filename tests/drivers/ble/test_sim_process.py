"""`vigil simulate --ble` as its own process, read by `vigil run` through the same BleDriver.

Real processes on loopback: the simulator serves a virtual bumble radio over HCI/TCP, Vigil's
BleDriver reaches it with a bumble central on `tcp-client:`. Killing the simulator must show
the device disconnected; restarting it must bring the device and its readings back.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app as cli_app
from monitor.config import ConfigError, load_settings
from tests.conftest import ROOT, Influxd, VigilProcess, free_port
from tests.waiting import wait_for, wait_for_async

NAME = "Vigil-Sim-test-ox"


class SimProcess:
    """`vigil simulate --ble ...` with its output in a file; waits until it advertises."""

    def __init__(self, port: int, log: Path, *args: str) -> None:
        """`args` replace the default profile, scenario, name and options."""
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "simulate",
                "--ble",
                "--interval",
                "0.5",
                "--transport",
                f"tcp-server:127.0.0.1:{port}",
                *(args or ("--profile", "plxs+hrs", "--scenario", "steady", "--name", NAME)),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_for(lambda: "advertising" in log.read_text(), 15, lambda: log.read_text())

    def kill(self) -> None:
        """A crash, not a clean stop: nothing gets to say goodbye over the link."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.log.close()


@pytest.fixture
def setup(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, int, list[SimProcess]]]:
    port = free_port()
    sims = [SimProcess(port, tmp_path / "sim.log")]
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_ble_sim"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "ble"
address = "{NAME}"
transport = "tcp-client:127.0.0.1:{port}"
""")
    app = VigilProcess(config, tmp_path)
    try:
        yield app, port, sims
    finally:
        app.stop()
        for sim in sims:
            sim.kill()


def room_a(app: VigilProcess) -> dict[str, Any]:
    """Room A with its device list turned into {device id: view}."""
    rooms = {r["room"]: r for r in app.get("/api/rooms").json()}
    room: dict[str, Any] = rooms["A"]
    room["devices"] = {d["id"]: d for d in room["devices"]}
    return room


def test_vigil_run_reads_a_ble_simulator_process_and_follows_it_dying_and_returning(
    setup: tuple[VigilProcess, int, list[SimProcess]], tmp_path: Path
) -> None:
    app, port, sims = setup

    def fresh_readings(after: float) -> dict[str, Any] | None:
        room = room_a(app)
        latest = room["latest"]
        state = room["devices"].get("A-ox", {}).get("state")
        fresh = {"spo2", "heart_rate"} <= set(latest) and all(
            latest[c]["t"] > after for c in ("spo2", "heart_rate")
        )
        return room if state == "connected" and fresh else None

    room = wait_for(lambda: fresh_readings(0), 15, lambda: room_a(app))
    # The steady scenario: SpO2 97–98 %, pulse and heart rate 70–74 /min, from this device.
    assert {c: room["latest"][c]["source"] for c in ("spo2", "heart_rate")} == {
        "spo2": "A-ox",
        "heart_rate": "A-ox",
    }
    assert 96 <= room["latest"]["spo2"]["value"] <= 99
    assert 60 <= room["latest"]["heart_rate"]["value"] <= 85
    assert app.get("/api/health").json()["drivers"]["A-ox"]["protocol"] == "ble"

    sims[0].kill()

    def device_down() -> dict[str, Any] | None:
        device: dict[str, Any] = room_a(app)["devices"]["A-ox"]
        return device if device["state"] == "disconnected" else None

    down = wait_for(device_down, 10, lambda: room_a(app)["devices"])
    # The lost link names the dead transport; so does a reconnect attempt that finds the
    # simulator still down.
    spec = f"tcp-client:127.0.0.1:{port}"
    prefixes = (f"HCI transport {spec} lost", f"transport {spec}: Connection")
    assert down["detail"].startswith(prefixes), down

    restarted_at = time.time()
    sims.append(SimProcess(port, tmp_path / "sim2.log"))
    room = wait_for(lambda: fresh_readings(restarted_at), 20, lambda: room_a(app))
    assert room["devices"]["A-ox"]["state"] == "connected"
    assert "central connected" in (tmp_path / "sim2.log").read_text()


async def test_a_simulator_that_goes_away_and_a_central_that_goes_away(tmp_path: Path) -> None:
    """Over the TCP radio: the scenario's disconnect drops the link and the device comes
    back; a central that vanishes releases the peripheral, so the next one finds it."""
    port = free_port()
    sim = SimProcess(
        port,
        tmp_path / "sim.log",
        *("--protocol", "ble-2a37", "--scenario", "disconnect_return"),
        *("--options", '{"disconnect_start_s": 6, "disconnect_duration_s": 2}'),
    )
    try:
        first = await central_session(port, "Vigil-Sim-hrs", until_connections=2, timeout_s=15)
        second = await central_session(port, "Vigil-Sim-hrs", until_connections=1, timeout_s=5)
        # Three HCI/TCP clients came and went: the first session's two links, the second's.
        wait_for(
            lambda: sim.log_path.read_text().count("central went away") == 3,
            5,
            sim.log_path.read_text,
        )
    finally:
        sim.kill()
    assert first.states == ["connecting", "connected", "disconnected", "connecting", "connected"]
    assert first.details[2] == "link lost (HCI reason 0x13)"  # the peripheral hung up
    assert second.states == ["connecting", "connected"]
    assert first.readings_since_last_connect > 0 and second.readings_since_last_connect > 0


class Session:
    def __init__(self) -> None:
        self.states: list[str] = []
        self.details: list[str] = []
        self.readings_since_last_connect = 0


async def central_session(
    port: int, name: str, *, until_connections: int, timeout_s: float
) -> Session:
    """A BleDriver on a bumble central over tcp-client, run until it has connected
    `until_connections` times and then received readings; then cancelled."""
    import asyncio

    from drivers.ble.factory import create_ble_device
    from monitor.core.models import DeviceState

    out = Session()
    driver = create_ble_device("hr", name, transport=f"tcp-client:127.0.0.1:{port}")

    def emit(item: object) -> None:
        if isinstance(item, DeviceState):
            out.states.append(item.state.value)
            out.details.append(item.detail)
            if item.state.value == "connected":
                out.readings_since_last_connect = 0
        else:
            out.readings_since_last_connect += 1

    task = asyncio.create_task(driver.run(emit))
    await wait_for_async(
        lambda: driver.connections >= until_connections and out.readings_since_last_connect > 2,
        timeout_s,
        lambda: f"{until_connections} connections, then readings; {out.__dict__}",
        every_s=0.1,
    )
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "nellcor", "--ble"], "protocol 'nellcor' is not a BLE protocol"),
        (["--protocol", "masimo-ascii", "--ble"], "'masimo-ascii' is not a BLE protocol"),
        (["--protocol", "ble-2a35", "--profile", "plxs"], "means profile 'bps'"),
        (["--ble", "--profile", "ecg"], "unknown BLE profile 'ecg'"),
        (["--ble", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["--ble", "--port", "/dev/ttyUSB0"], "--port: serial simulator option"),
        (["--ble", "--pty"], "--pty: serial simulator option"),
        (["--ble", "--transport", "bogus:1"], "unknown bumble transport 'bogus:1'"),
        (["--ble", "--transport", "tcp-server:127.0.0.1:x"], "expected tcp-server:HOST:PORT"),
        (["--ble", "--options", "[1]"], "--options must be a JSON object"),
        (["--ble", "--options", "{bad"], "Expecting property name"),
        (["--ble", "--interval", "0"], "--interval must be > 0"),
        (["--ble", "--profile", "bps+plxs+hrs", "--name", "x" * 19], "--name: 1 to 18 bytes"),
        (["--profile", "bps"], "--profile is a BLE simulator option; add --ble"),
        (["--transport", "usb:0", "--pty"], "--transport is a BLE simulator option"),
    ],
)
def test_simulate_ble_argument_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli_app, ["simulate", *args])
    assert (result.exit_code, message in result.output) == (2, True), result.output


def test_simulate_ble_reports_a_transport_it_cannot_open() -> None:
    # A port already taken: the simulator says so instead of a traceback.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        result = CliRunner().invoke(
            cli_app, ["simulate", "--ble", "--transport", f"tcp-server:127.0.0.1:{taken}"]
        )
    assert result.exit_code == 2 and "cannot open transport" in result.output, result.output


def write(tmp_path: Path, device: str) -> Path:
    p = tmp_path / "vigil.toml"
    p.write_text(f'[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "A-dev"\n{device}\n')
    return p


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            'protocol = "ble"\naddress = "x"\ntransport = "carrier-pigeon:1"',
            "rooms.0.devices.0.transport: unknown bumble transport",
        ),
        (
            'protocol = "ble"\naddress = "x"\ntransport = "tcp-server:127.0.0.1:7755"',
            "rooms.0.devices.0.transport: unknown bumble transport",
        ),
        (
            'protocol = "ble"\ntransport = "tcp-client:127.0.0.1:7755"\nsimulate = {}',
            "transport: give the device's 'address'",
        ),
        (
            'protocol = "masimo-ascii"\nport = "/dev/x"\ntransport = "usb:0"',
            "transport: only BLE devices have a bumble transport",
        ),
    ],
)
def test_bad_ble_transport_config_names_the_field(
    tmp_path: Path, device: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, device))
    assert message in str(err.value)


def test_ble_transport_config_is_kept(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, 'protocol = "ble"\naddress = "Cuff"\ntransport = "tcp-client:h:1"')
    )
    dev = s.rooms[0].devices[0]
    assert (dev.protocol, dev.address, dev.transport) == ("ble", "Cuff", "tcp-client:h:1")
