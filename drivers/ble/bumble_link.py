"""In-process BLE: a bumble "radio" (LocalLink) shared by simulated peripherals and centrals.

No adapter, no BlueZ: every device gets its own bumble Controller on one LocalLink, and the
link layer, ATT and GATT run for real between them. `BumbleLink` is the central transport
used by tests and the demo; the BleDriver above it is the same one that runs over bleak.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any, Protocol

from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from drivers.ble.link import SERVICES, CentralLink, LinkError, OnDisconnect, OnValue, is_address


class Radio(Protocol):
    """Anything that makes bumble Devices: the in-process SimRadio, or a real controller
    reached over an HCI transport (drivers.ble.hci_link.ControllerRadio)."""

    def new_device(self, name: str) -> Device: ...


class SimRadio:
    """One shared in-process radio. Hands out unique static random addresses."""

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._n = itertools.count(1)

    def next_address(self) -> str:
        n = next(self._n)
        # Static random address: the two top bits set (Core Vol 6 Part B 1.3.2.1).
        return f"C0:00:00:00:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}"

    def new_device(self, name: str) -> Device:
        address = self.next_address()
        controller = Controller(name, link=self.link, public_address=address)
        return Device(
            name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
        )


_radio: SimRadio | None = None


def shared_radio() -> SimRadio:
    """The process-wide radio the demo's simulated devices and centrals meet on."""
    global _radio
    if _radio is None:
        _radio = SimRadio()
    return _radio


class BumbleLink(CentralLink):
    """A central on the in-process radio (one bumble Device per link)."""

    def __init__(self, radio: SimRadio, name: str = "vigil-central") -> None:
        self.device = radio.new_device(name)
        self._powered = False
        self._conn: Connection | None = None
        self._peer: Peer | None = None
        self._chars: dict[int, Any] = {}

    async def _find_by_name(self, name: str, timeout_s: float) -> Address:
        found: asyncio.Future[Address] = asyncio.get_running_loop().create_future()

        def on_adv(adv: Any) -> None:
            local = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or adv.data.get(
                AdvertisingData.SHORTENED_LOCAL_NAME
            )
            if isinstance(local, bytes):
                local = local.decode("utf-8", "replace")
            if local == name and not found.done():
                found.set_result(adv.address)

        self.device.on("advertisement", on_adv)
        try:
            await self.device.start_scanning(filter_duplicates=True)
            async with asyncio.timeout(timeout_s):
                return await found
        finally:
            self.device.remove_listener("advertisement", on_adv)
            with contextlib.suppress(Exception):
                await self.device.stop_scanning()

    async def connect(self, target: str, on_disconnect: OnDisconnect, timeout_s: float) -> None:
        try:
            if not self._powered:
                await self.device.power_on()
                self._powered = True
            address = (
                Address(target)
                if is_address(target)
                else await self._find_by_name(target, timeout_s)
            )
            conn = await self.device.connect(address, timeout=timeout_s)
        except TimeoutError as exc:
            raise LinkError(f"{target} not found / no answer within {timeout_s:g} s") from exc
        except Exception as exc:  # bumble raises several core/HCI error types
            raise LinkError(f"connect failed: {type(exc).__name__}: {exc}") from exc
        self._conn = conn
        self._peer = Peer(conn)
        self._chars = {}

        def on_disc(reason: int) -> None:
            if self._conn is conn:
                self._conn = self._peer = None
            on_disconnect(f"link lost (HCI reason 0x{reason:02X})")

        conn.on("disconnection", on_disc)

    async def discover(self) -> set[int]:
        peer = self._require()
        try:
            for service_id, chars in SERVICES.items():
                for service in await peer.discover_service(UUID.from_16_bits(service_id)):
                    await service.discover_characteristics()
                    for char in chars:
                        for proxy in service.get_characteristics_by_uuid(UUID.from_16_bits(char)):
                            self._chars[char] = proxy
        except Exception as exc:
            raise LinkError(f"discovery failed: {exc}") from exc
        return set(self._chars)

    async def read(self, char: int) -> bytes:
        self._require()
        try:
            return bytes(await self._chars[char].read_value())
        except Exception as exc:
            raise LinkError(f"read {char:04X} failed: {exc}") from exc

    async def subscribe(self, char: int, on_value: OnValue) -> None:
        peer = self._require()
        try:
            await peer.subscribe(self._chars[char], lambda value: on_value(bytes(value)))
        except Exception as exc:
            raise LinkError(f"subscribe {char:04X} failed: {exc}") from exc

    async def disconnect(self) -> None:
        conn, self._conn, self._peer = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()

    def _require(self) -> Peer:
        if self._peer is None:
            raise LinkError("not connected")
        return self._peer
