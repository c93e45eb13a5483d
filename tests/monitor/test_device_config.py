"""Device configuration: protocols and options validated against the registry at start-up,
and `vigil run` building every serial protocol's simulator, driver and decoder from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.config import ConfigError, load_settings
from tests.conftest import Influxd, VigilProcess
from tests.waiting import wait_for


def write(tmp_path: Path, device: str) -> Path:
    p = tmp_path / "vigil.toml"
    p.write_text(f'[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "A-dev"\n{device}\n')
    return p


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            'protocol = "nellcor"\nport = "/dev/ttyUSB0"',
            "rooms.0.devices.0.protocol: unknown protocol 'nellcor'; known: berrymed, ble-2a35",
        ),
        (
            'protocol = "suntech"\nport = "/dev/ttyUSB0"\noptions = { poll = 1 }',
            "rooms.0.devices.0.options.poll: not an option of protocol 'suntech'",
        ),
        (
            'protocol = "suntech"\nport = "/dev/ttyUSB0"\noptions = { poll_s = "fast" }',
            "rooms.0.devices.0.options.poll_s: expected float",
        ),
        (
            'protocol = "nonin-df2"\nport = "/dev/ttyUSB0"\noptions = { poll_s = 1 }',
            "options.poll_s: not an option of protocol 'nonin-df2' (allowed: none)",
        ),
        ('protocol = "berrymed"\nbaudrate = 0\nport = "/dev/x"', "rooms.0.devices.0.baudrate"),
        (
            'protocol = "ble-2a35"\nport = "/dev/x"',
            "rooms.0.devices.0: protocol 'ble-2a35' is a BLE characteristic decoder",
        ),
        ('protocol = "ble"', "rooms.0.devices.0: give either 'address'"),
        ('protocol = "ble"\nport = "/dev/x"', "port: a BLE device has an 'address'"),
        ('protocol = "masimo-ascii"\naddress = "AA:BB"', "address: only BLE devices"),
        (
            'protocol = "ble"\nsimulate = { profile = "ecg" }',
            "rooms.0.devices.0.simulate.profile: String should match pattern",
        ),
    ],
)
def test_bad_device_config_names_the_field(tmp_path: Path, device: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, device))
    assert message in str(err.value)


def test_good_device_config_keeps_protocol_defaults(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, 'protocol = "suntech"\nport = "/dev/ttyUSB0"\noptions = { poll_s = 1 }')
    )
    dev = s.rooms[0].devices[0]
    assert (dev.protocol, dev.baudrate, dev.options) == ("suntech", None, {"poll_s": 1})


@pytest.mark.slow
def test_vigil_run_reads_every_serial_protocol(influxd: Influxd, tmp_path: Path) -> None:
    protocols = ["masimo-ascii", "nonin-df2", "contec-5byte", "contec-9byte", "berrymed", "suntech"]
    devices = "\n".join(
        f'[[rooms.devices]]\nid = "{p}"\nprotocol = "{p}"\nsimulate = {{ scenario = "steady" }}'
        for p in protocols
    )
    # And one simulated BLE peripheral offering all three standard services (bumble).
    devices += (
        '\n[[rooms.devices]]\nid = "ble"\nprotocol = "ble"\n'
        'simulate = { scenario = "steady", profile = "bps+plxs+hrs", '
        "options = { bp_interval_s = 1 } }"
    )
    config = tmp_path / "vigil.toml"
    config.write_text(
        f'influx_url = "{influxd.url}"\ninflux_database = "vigil_serial"\n'
        f'[[rooms]]\nid = "A"\n{devices}\n'
    )
    app = VigilProcess(config, tmp_path)
    try:
        seen: dict[str, Any] = {}

        def running() -> tuple[dict[str, Any], dict[str, Any]] | None:
            seen.update(app.get("/api/health").json()["drivers"])
            oximeters_ok = all(seen[p]["frames"] > 0 for p in [*protocols, "ble"] if p != "suntech")
            room = app.get("/api/rooms/A").json()
            if (
                oximeters_ok
                and all(d["state"] == "connected" for d in seen.values())
                and "sbp" in room["latest"]
            ):
                return dict(seen), room
            return None

        drivers, room = wait_for(
            running, 20, lambda: f"every device delivering; saw {seen}", every_s=0.3
        )
    finally:
        app.stop()
    # The BLE device offers a cuff and an oximeter: two sources (the core tells a cuff by its
    # source), still one device in the room's list, its sources named with their services.
    assert [d["id"] for d in room["devices"]] == [*protocols, "ble"]
    assert drivers["ble"]["sources"] == {"ble": ["bps", "hrs"], "ble/plx": ["plxs"]}
    assert room["latest"]["sbp"]["source"] == "ble"  # no session: SunTech is not started
    assert {p: drivers[p]["dropped"] for p in protocols} == {p: {} for p in protocols}
    assert {p: drivers[p]["protocol"] for p in protocols} == {p: p for p in protocols}
    assert (drivers["ble"]["protocol"], drivers["ble"]["dropped"]) == ("ble", {})


@pytest.mark.slow
def test_demo_runs_serial_and_ble_devices_and_the_schedule_starts_the_cuff(
    influxd: Influxd, tmp_path: Path
) -> None:
    """What `make run` starts with no configuration: two rooms, serial and BLE devices."""
    config = tmp_path / "empty.toml"
    config.write_text("# no rooms: the demo\n")
    app = VigilProcess(
        config, tmp_path, env={"VIGIL_INFLUX_URL": influxd.url, "VIGIL_INFLUX_DATABASE": "demo"}
    )
    try:
        last: list[object] = []

        def running() -> tuple[dict[str, Any], dict[str, Any]] | None:
            health = app.get("/api/health").json()
            rooms = {r["room"]: r for r in app.get("/api/rooms").json()}
            last[:] = [health, rooms]
            b_bp = rooms["B"]["latest"].get("sbp")
            if all(d["frames"] > 0 for d in health["drivers"].values()) and b_bp:
                return health, rooms
            return None

        health, rooms = wait_for(
            running, 30, lambda: f"every device delivering and B's cuff; saw {last}", every_s=0.5
        )
    finally:
        app.stop()
    assert health["demo"] is True
    assert {k: (d["protocol"], d["state"]) for k, d in health["drivers"].items()} == {
        "A-oximeter": ("masimo-ascii", "connected"),
        "A-cuff": ("ble", "connected"),
        "B-oximeter": ("ble", "connected"),
        "B-cuff": ("suntech", "connected"),
    }
    # Room B's SunTech cuff only measures when commanded: a BP there means the pre-dose
    # schedule asked the cuff through the driver and the reading came back.
    b_bp = rooms["B"]["latest"]["sbp"]
    assert b_bp["value"] == 122.0 and b_bp["source"] == "B-cuff"
    assert rooms["A"]["latest"]["spo2"]["source"] == "A-oximeter"
    assert rooms["B"]["latest"]["spo2"]["source"] == "B-oximeter"
