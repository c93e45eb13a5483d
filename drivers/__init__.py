"""Device I/O and pure protocol decoders/encoders; simulated devices in `drivers.sim`.

The protocol table is `drivers.registry`; the real-BLE factory `drivers.ble.factory`. Every
exception a driver raises derives from one root (drivers/errors.py):

    DriverError            message, source
    ├── NotConnected       the device's port is not open
    ├── ShortRecord        a BLE value shorter than its flags require (dropped, counted)
    ├── LinkError          the BLE link could not do what was asked
    ├── BleUnavailable     no usable BLE adapter
    └── MeasurementError   a cuff measurement could not start or complete
"""

from drivers.errors import (
    BleUnavailable,
    DriverError,
    LinkError,
    MeasurementError,
    NotConnected,
    ShortRecord,
)

__all__ = [
    "BleUnavailable",
    "DriverError",
    "LinkError",
    "MeasurementError",
    "NotConnected",
    "ShortRecord",
]
