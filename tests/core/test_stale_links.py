"""Stale-data alarms and device links when a channel's source is not known yet.

A device that never delivered a reading has no known channels: its stale data is explained
by its own down link (device_disconnected says it), not reported a second time as
spo2_stale / pulse_rate_stale. A link known to be a cuff's does not explain oximeter data.
"""

from __future__ import annotations

import pytest

from monitor.config import DeviceConfig, RoomConfig, SimulatorConfig
from monitor.core.models import Control, DeviceState, LinkState
from monitor.core.pipeline import RoomPipeline
from monitor.devices import configured_cuffs
from tests.core_helpers import Item, pr, run, spo2, transitions

DOWN, UP = LinkState.DISCONNECTED, LinkState.CONNECTED


def ticks(t0: int, t1: int) -> list[Item]:
    return [float(t) for t in range(t0, t1)]


CASES: list[tuple[str, tuple[str, ...], list[Item], list[tuple[float, str, str]]]] = [
    (
        # QA: both serial ports missing from the start; only the disconnection is news.
        "both devices never connected",
        (),
        [
            DeviceState(0, "ox", DOWN, "no port"),
            DeviceState(0, "cuff", DOWN, "no port"),
            Control(0, "session_start"),
            *ticks(1, 30),
        ],
        [(10.0, "device_disconnected", "active")],
    ),
    (
        "oximeter never connected, cuff connected",
        (),
        [
            DeviceState(0, "ox", DOWN, "no port"),
            DeviceState(0, "cuff", UP),
            Control(0, "session_start"),
            *ticks(1, 30),
        ],
        [(10.0, "device_disconnected", "active")],
    ),
    (
        # The down link is a cuff's (named by the runtime): it cannot explain missing
        # oximetry from a connected but silent oximeter.
        "known cuff never connected, oximeter connected but silent",
        ("cuff",),
        [
            DeviceState(0, "ox", UP),
            DeviceState(0, "cuff", DOWN, "no port"),
            Control(0, "session_start"),
            *ticks(1, 30),
        ],
        [
            (10.0, "spo2_stale", "active"),
            (10.0, "pulse_rate_stale", "active"),
            (10.0, "device_disconnected", "active"),
        ],
    ),
    (
        "every device connected but silent",
        (),
        [DeviceState(0, "ox", UP), Control(0, "session_start"), *ticks(1, 30)],
        [(10.0, "spo2_stale", "active"), (10.0, "pulse_rate_stale", "active")],
    ),
    (
        # The link comes up at 20 and stays silent: the same grace as a new session.
        "never-connected oximeter comes up silent",
        (),
        [
            DeviceState(0, "ox", DOWN, "no port"),
            Control(0, "session_start"),
            *ticks(1, 20),
            DeviceState(20, "ox", UP),
            *ticks(21, 40),
        ],
        [
            (10.0, "device_disconnected", "active"),
            (20.0, "device_disconnected", "cleared"),
            (30.0, "spo2_stale", "active"),
            (30.0, "pulse_rate_stale", "active"),
        ],
    ),
    (
        "never-connected oximeter comes up and delivers",
        (),
        [
            DeviceState(0, "ox", DOWN, "no port"),
            Control(0, "session_start"),
            *ticks(1, 20),
            DeviceState(20, "ox", UP),
            *[r for t in range(21, 40) for r in (spo2(t, 97), pr(t, 70))],
        ],
        [(10.0, "device_disconnected", "active"), (20.0, "device_disconnected", "cleared")],
    ),
]


@pytest.mark.parametrize(("cuffs", "items", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_stale_and_links_of_devices_not_heard_from(
    cuffs: tuple[str, ...], items: list[Item], expected: list[tuple[float, str, str]]
) -> None:
    p = RoomPipeline("A", escalation_after_s={}, cuff_sources=cuffs)
    assert transitions(run(p, items)) == expected


def test_the_runtime_names_configured_cuffs_to_the_core() -> None:
    room = RoomConfig(
        id="A",
        devices=[
            DeviceConfig(id="ox", protocol="masimo-ascii", port="/dev/ttyUSB9"),
            DeviceConfig(id="nibp", protocol="suntech", port="/dev/ttyUSB8"),
            DeviceConfig(id="ble-cuff", protocol="ble", simulate=SimulatorConfig(profile="bps")),
            DeviceConfig(
                id="ble-both", protocol="ble", simulate=SimulatorConfig(profile="plxs+bps")
            ),
            # Heart rate from a cuff's source would count as the cuff's pulse: not named.
            DeviceConfig(id="ble-hr", protocol="ble", simulate=SimulatorConfig(profile="bps+hrs")),
            DeviceConfig(id="ble-real", protocol="ble", address="AA:BB:CC:DD:EE:FF"),
        ],
    )
    assert configured_cuffs(room) == ["nibp", "ble-cuff", "ble-both"]
