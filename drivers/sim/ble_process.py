"""A simulated BLE peripheral as its own process (`vigil simulate --ble`).

The same GATT servers and scenario engine as the in-process demo (drivers.sim.ble), on a
bumble transport: with a `tcp-server:HOST:PORT` spec (the default) the peripheral lives on a
virtual radio and centrals attach over HCI/TCP (`tcp-client:HOST:PORT`); with a controller
spec (`hci-socket:0`, `usb:0`, ...) it advertises on a real adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from drivers.ble.bumble_link import SimRadio
from drivers.ble.hci_link import (
    SERVER_SCHEMES,
    ControllerRadio,
    VirtualRadioServer,
    parse_host_port,
    transport_scheme,
)
from drivers.sim.ble import SimulatedBlePeripheral
from drivers.sim.ble_factory import SIM_OPTIONS, build_peripheral, parse_profiles
from drivers.sim.scenarios import scenario

#: What each BLE characteristic protocol id (drivers.registry) implies for the simulator.
PROFILE_FOR_PROTOCOL = {
    "ble-2a35": "bps",
    "ble-2a36": "bps",
    "ble-2a5e": "plxs",
    "ble-2a5f": "plxs",
    "ble-2a37": "hrs",
}


def profile_for(protocol: str | None, profile: str | None) -> str:
    """The simulator's profile from `--protocol` and `--profile`; ValueError when they clash
    or either is unknown. `protocol` is None or "ble" (any profile) or a characteristic id."""
    if protocol not in (None, "ble") and protocol not in PROFILE_FOR_PROTOCOL:
        raise ValueError(
            f"protocol {protocol!r} is not a BLE protocol; with --ble use --protocol ble "
            f"or one of {', '.join(sorted(PROFILE_FOR_PROTOCOL))}"
        )
    implied = PROFILE_FOR_PROTOCOL.get(protocol or "")
    if profile is None:
        return implied or "plxs"
    names = parse_profiles(profile)  # ValueError naming the known profiles
    if implied is not None and implied not in names:
        raise ValueError(
            f"--protocol {protocol} means profile {implied!r}, but --profile is {profile!r}"
        )
    return "+".join(names)


def check_options(profile: str, scenario_name: str, options: Mapping[str, Any]) -> None:
    """Fail before anything starts when the profile, scenario or its options are wrong."""
    build_check = dict(options)
    for key in SIM_OPTIONS:
        build_check.pop(key, None)
    parse_profiles(profile)
    scenario(scenario_name, build_check)


async def run_ble_simulator(
    *,
    profile: str,
    scenario_name: str,
    options: Mapping[str, Any],
    transport: str,
    name: str,
    say: Callable[[str], None],
    clock: Callable[[], float] = time.time,
) -> None:
    """Run the peripheral until cancelled. Raises OSError / bumble errors when the transport
    cannot be opened."""
    server: VirtualRadioServer | None = None
    controller: ControllerRadio | None = None
    peripheral: SimulatedBlePeripheral
    if transport_scheme(transport) in SERVER_SCHEMES:
        host, port = parse_host_port(transport)
        radio = SimRadio()
        server = VirtualRadioServer(radio, on_event=say)
        port = await server.start(host, port)
        peripheral = build_peripheral(radio, name, profile, scenario_name, options, clock)
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        say(f"virtual BLE radio: centrals attach over HCI/TCP on {host}:{port}")
        say(
            "read it with a device in vigil's config:\n"
            f'  protocol = "ble"\n  address = "{name}"\n'
            f'  transport = "tcp-client:{connect_host}:{port}"\n'
            f"or with bumble tools, e.g. bumble-scan tcp-client:{connect_host}:{port}"
        )
    else:
        controller = await ControllerRadio.open(transport)
        peripheral = build_peripheral(controller, name, profile, scenario_name, options, clock)
        say(f"BLE controller {transport}: advertising on a real radio")
        say(
            f'read it with any BLE central (phone, bleak): vigil config protocol = "ble", '
            f'address = "{name}"'
        )

    def on_connection(conn: Any) -> None:
        say(f"connected: central {conn.peer_address}")
        conn.on("disconnection", lambda reason: say(f"disconnected (HCI reason 0x{reason:02X})"))

    peripheral.device.on("connection", on_connection)
    await peripheral.start()
    say(
        f"simulated BLE peripheral {name!r} ({peripheral.address}), "
        f"services {'+'.join(sorted(peripheral.profiles))}, scenario {scenario_name!r}; "
        "advertising; Ctrl-C stops"
    )
    try:
        await peripheral.run()
    finally:
        if server is not None:
            await server.aclose()
        if controller is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await peripheral.device.power_off()
            await controller.aclose()
