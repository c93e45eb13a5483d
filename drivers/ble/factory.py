"""The BLE device the runtime reads in production: a real device over bleak, or over a bumble
central on an HCI transport. Simulated devices are built in drivers.sim.ble_factory.

Returns a BleDriver with the SerialDriver surface (`async run(emit)`, `.state`, `.detail`,
`.port`, `.decoder.frames/.dropped`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from drivers.ble.driver import BleDriver
from drivers.ble.hci_link import TransportLink
from drivers.ble.link import BleakLink, CentralLink


def create_ble_device(
    device_id: str,
    address: str,
    clock: Callable[[], float] = time.time,
    transport: str | None = None,
) -> BleDriver:
    """A real device by MAC address (or CoreBluetooth UUID) or advertised name, over bleak;
    or, with a bumble `transport` spec (e.g. `tcp-client:127.0.0.1:7755` for a
    `vigil simulate --ble` peripheral, `usb:0`), over a bumble central on that transport."""
    link: CentralLink = (
        TransportLink(transport, f"vigil-{device_id}") if transport is not None else BleakLink()
    )
    return BleDriver(link, address, source=device_id, clock=clock)
