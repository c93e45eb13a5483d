"""Simulated BLE devices: a bumble GATT peripheral following a scenario, and the BleDriver
that reads it (the demo rooms, `vigil simulate --ble`, tests).

The driver is the one that reads a real device (drivers.ble.factory builds that one), with the
SerialDriver surface (`async run(emit)`, `.state`, `.detail`, `.port`,
`.decoder.frames/.dropped`); the factory also returns the coroutines that run the peripheral,
which the caller spawns next to the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from drivers.ble.bumble_link import BumbleLink, Radio, SimRadio, shared_radio
from drivers.ble.driver import BleDriver
from drivers.sim.ble import PROFILES, SimulatedBlePeripheral
from drivers.sim.scenarios import scenario

#: Option keys read by the simulator itself; every other option goes to the scenario.
SIM_OPTIONS = (
    "interval_s",
    "bp_interval_s",
    "demo_data",
    "replay_stored",
    "bp_timestamps",
    "clock_offset_s",
)


def parse_profiles(profile: str) -> list[str]:
    """`"plxs"`, `"bps"`, `"hrs"` or a combination such as `"plxs+hrs"`."""
    names = [p.strip().lower() for p in profile.replace(",", "+").split("+") if p.strip()]
    unknown = [p for p in names if p not in PROFILES]
    if not names or unknown:
        raise ValueError(
            f"unknown BLE profile {profile!r}; "
            f"use {', '.join(sorted(PROFILES))} or a '+' combination"
        )
    return names


def build_peripheral(
    radio: Radio,
    name: str,
    profile: str,
    scenario_name: str,
    options: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> SimulatedBlePeripheral:
    """A simulated peripheral named `name` on `radio`; `options` holds the simulator's own
    keys (SIM_OPTIONS) and the scenario's. ValueError for an unknown profile or scenario."""
    opts = dict(options or {})
    sim_opts = {k: opts.pop(k) for k in SIM_OPTIONS if k in opts}
    return SimulatedBlePeripheral(
        radio,
        name,
        parse_profiles(profile),
        scenario(scenario_name, opts),
        interval_s=float(sim_opts.get("interval_s", 1.0)),
        bp_interval_s=float(sim_opts.get("bp_interval_s", 60.0)),
        demo_data=bool(sim_opts.get("demo_data", False)),
        replay_stored=int(sim_opts.get("replay_stored", 0)),
        bp_timestamps=bool(sim_opts.get("bp_timestamps", False)),
        clock_offset_s=float(sim_opts.get("clock_offset_s", 0.0)),
        clock=clock,
    )


def create_simulated_ble_device(
    device_id: str,
    profile: str,
    scenario_name: str,
    options: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
    *,
    radio: SimRadio | None = None,
) -> tuple[BleDriver, SimulatedBlePeripheral, list[Coroutine[Any, Any, None]]]:
    """A bumble GATT server following `scenario_name` and a BleDriver connected to it by name.

    Must be called with an event loop running (bumble binds to it). Returns the driver, the
    peripheral (tests can make it go away) and the coroutines to spawn (the peripheral's run).
    The driver's own `run(emit)` is NOT in the list: spawn it as for any driver.
    """
    radio = radio or shared_radio()
    name = f"Vigil-Sim-{device_id}"
    peripheral = build_peripheral(radio, name, profile, scenario_name, options, clock)
    driver = BleDriver(
        BumbleLink(radio, f"central-{device_id}"), name, source=device_id, clock=clock
    )
    return driver, peripheral, [peripheral.run()]
