"""The BLE central transport seam, and its production implementation on bleak.

`CentralLink` is everything the BleDriver needs from a radio: connect to one peripheral by
address or advertised name, list the characteristics it offers, read, subscribe to
notifications/indications, and be told when the link drops. Two implementations share the
driver above them: `BleakLink` (BlueZ / CoreBluetooth / WinRT, with bleak-retry-connector)
and `drivers.ble.bumble_link.BumbleLink` (an in-process bumble controller; tests and demo).

This module must import on machines without BlueZ: bleak is imported lazily.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import Any

from drivers.ble.common import (
    BP_FEATURE_CHAR,
    BPM_CHAR,
    BPS_SERVICE,
    HRM_CHAR,
    HRS_SERVICE,
    ICP_CHAR,
    PLX_CONT_CHAR,
    PLX_FEATURES_CHAR,
    PLX_SPOT_CHAR,
    PLXS_SERVICE,
    uuid16,
)
from drivers.errors import BleUnavailable as BleUnavailable  # its home: drivers/errors.py
from drivers.errors import LinkError as LinkError  # its home: drivers/errors.py

OnValue = Callable[[bytes], None]
OnDisconnect = Callable[[str], None]

#: The health services Vigil reads, and the characteristics of each it uses.
SERVICES: dict[int, tuple[int, ...]] = {
    BPS_SERVICE: (BPM_CHAR, ICP_CHAR, BP_FEATURE_CHAR),
    PLXS_SERVICE: (PLX_SPOT_CHAR, PLX_CONT_CHAR, PLX_FEATURES_CHAR),
    HRS_SERVICE: (HRM_CHAR,),
}
KNOWN_CHARS: frozenset[int] = frozenset(c for chars in SERVICES.values() for c in chars)

# A MAC address (BlueZ, bumble) or a CoreBluetooth UUID; anything else is an advertised name.
_ADDRESS = re.compile(
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(/P)?$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
)


def is_address(target: str) -> bool:
    return bool(_ADDRESS.match(target))


class CentralLink(abc.ABC):
    """One central's connection to one peripheral."""

    @abc.abstractmethod
    async def connect(self, target: str, on_disconnect: OnDisconnect, timeout_s: float) -> None:
        """Connect to `target` (address or advertised name); `on_disconnect(reason)` is called
        once when an established link drops. Raises LinkError."""

    @abc.abstractmethod
    async def discover(self) -> set[int]:
        """The 16-bit UUIDs of the known characteristics (KNOWN_CHARS) the peer offers."""

    @abc.abstractmethod
    async def read(self, char: int) -> bytes: ...

    @abc.abstractmethod
    async def subscribe(self, char: int, on_value: OnValue) -> None:
        """Enable notifications or indications (whichever the characteristic has)."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Drop the link if up; never raises."""


class BleakLink(CentralLink):
    """Production central on bleak + bleak-retry-connector (needs a BLE adapter / BlueZ)."""

    def __init__(self, scan_timeout_s: float = 10.0) -> None:
        self.scan_timeout_s = scan_timeout_s
        self._client: Any = None

    async def connect(self, target: str, on_disconnect: OnDisconnect, timeout_s: float) -> None:
        from bleak import BleakScanner
        from bleak.exc import BleakError
        from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

        try:
            if is_address(target):
                device = await BleakScanner.find_device_by_address(
                    target, timeout=self.scan_timeout_s
                )
            else:
                device = await BleakScanner.find_device_by_name(target, timeout=self.scan_timeout_s)
            if device is None:
                raise LinkError(f"{target} not found")
            async with asyncio.timeout(timeout_s):
                self._client = await establish_connection(
                    BleakClientWithServiceCache,
                    device,
                    target,
                    disconnected_callback=lambda _client: on_disconnect("peer disconnected"),
                )
        except TimeoutError as exc:
            raise LinkError(f"connect to {target} timed out") from exc
        except OSError as exc:  # bleak's D-Bus socket is missing: no BlueZ here
            raise LinkError(
                f"BLE unavailable ({exc}): no adapter, or BlueZ/D-Bus not running"
            ) from exc
        except BleakError as exc:
            raise LinkError(f"connect failed: {type(exc).__name__}: {exc}") from exc

    async def discover(self) -> set[int]:
        found: set[int] = set()
        for service in self._client.services:
            for char in service.characteristics:
                short = _short_uuid(str(char.uuid))
                if short in KNOWN_CHARS:
                    found.add(short)
        return found

    async def read(self, char: int) -> bytes:
        from bleak.exc import BleakError

        try:
            return bytes(await self._client.read_gatt_char(uuid16(char)))
        except (BleakError, OSError) as exc:
            raise LinkError(f"read {char:04X} failed: {exc}") from exc

    async def subscribe(self, char: int, on_value: OnValue) -> None:
        from bleak.exc import BleakError

        try:
            # bleak's start_notify enables indications too, whichever the characteristic has.
            await self._client.start_notify(uuid16(char), lambda _c, data: on_value(bytes(data)))
        except (BleakError, OSError) as exc:
            raise LinkError(f"subscribe {char:04X} failed: {exc}") from exc

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # already gone; nothing to clean up
                await client.disconnect()


def _short_uuid(full: str) -> int | None:
    full = full.lower()
    if len(full) == 36 and full.endswith("-0000-1000-8000-00805f9b34fb") and full[:4] == "0000":
        return int(full[4:8], 16)
    return None


async def scan_ble(timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """Scan for peripherals advertising BPS, PLXS or HRS; raises BleUnavailable with a reason."""
    try:
        from bleak import BleakScanner
        from bleak.exc import BleakError
    except ImportError as exc:  # pragma: no cover - bleak is a dependency
        raise BleUnavailable(f"bleak is not installed: {exc}") from exc
    wanted = {uuid16(s): s for s in SERVICES}
    try:
        found = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, service_uuids=list(wanted)
        )
    except (BleakError, OSError) as exc:
        raise BleUnavailable(
            f"BLE scan impossible: {type(exc).__name__}: {exc} "
            "(no Bluetooth adapter, or BlueZ/D-Bus not running)"
        ) from exc
    out: list[dict[str, Any]] = []
    for device, adv in found.values():
        services = sorted(f"{wanted[u]:04X}" for u in adv.service_uuids if u.lower() in wanted)
        if services:  # some backends ignore the filter
            out.append(
                {
                    "address": device.address,
                    "name": adv.local_name or device.name,
                    "rssi": adv.rssi,
                    "services": services,
                }
            )
    return sorted(out, key=lambda d: d["address"])
