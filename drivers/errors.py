"""Every exception a driver raises, under one root (the tree is in drivers/__init__.py).

Stdlib only, so any module may import it. The root carries what a caller needs beside the
text: which source (device) it is about, when the raiser knows.
"""

from __future__ import annotations


class DriverError(Exception):
    """The root of the drivers' exceptions. `message`: what happened; `source`: the device's
    source id when known (None otherwise)."""

    def __init__(self, message: str = "", *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class NotConnected(DriverError):
    """The device's port is not open (unplugged, or not yet connected)."""


class ShortRecord(DriverError):
    """The value is shorter than its flags require (dropped whole, counted as `short`)."""


class LinkError(DriverError):
    """The BLE link could not do what was asked (not found, connect failed, GATT error)."""


class BleUnavailable(DriverError):
    """No usable BLE adapter (no BlueZ / D-Bus, adapter off, permission denied)."""


class MeasurementError(DriverError):
    """The measurement could not be started or did not complete; the message says why."""
