"""A room as the runtime's parts share it: its config, its pipeline, its one queue and its
devices, and what may be put on that queue.

Each room has one queue and one consumer (monitor/room_loop.py), so its pipeline (and so its
alarm state) has exactly one owner: readings, device states, controls from the API and ticks
all pass through that queue in order. Devices are started and supervised by
monitor/devices.py; what the room and its devices show is monitor/health.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.ble.driver import BleDriver
from drivers.hl7.driver import Hl7Driver
from drivers.serial_port import SerialDriver
from monitor.config import DeviceConfig, RoomConfig
from monitor.core.models import Control, DeviceState, Reading
from monitor.core.pipeline import PipelineEvent, RoomPipeline

if TYPE_CHECKING:
    from drivers.sim.pty import PtyPair


@dataclass(frozen=True)
class AwaitedControl:
    """A control whose sender (the API) waits for the core's outcome ("ok", "ok: ...",
    "ignored: ...", "rejected: ..."), resolved by the room's consumer once it has applied it."""

    control: Control
    outcome: asyncio.Future[str]


@dataclass(frozen=True)
class RoomCall:
    """A change to a room's pipeline made by the room's consumer, its one owner, in queue
    order (new rules from the admin page: monitor/live_config.py); `done` resolves after."""

    apply: Callable[[RoomPipeline], list[PipelineEvent]]
    done: asyncio.Future[None]


QueueItem = Reading | DeviceState | Control | AwaitedControl | RoomCall | float


@dataclass
class Device:
    config: DeviceConfig
    driver: SerialDriver | BleDriver | Hl7Driver
    pty: PtyPair | None = None
    measuring: bool = False  # a commanded BP measurement is under way


@dataclass
class Room:
    config: RoomConfig
    pipeline: RoomPipeline
    queue: asyncio.Queue[QueueItem] = field(default_factory=asyncio.Queue)
    devices: list[Device] = field(default_factory=list)


def driver_sources(driver: SerialDriver | BleDriver | Hl7Driver) -> list[str]:
    """The sources a driver feeds (a BLE device may feed a cuff and an oximeter)."""
    return list(driver.sources) if isinstance(driver, BleDriver) else [driver.source]
