"""BLE across processes: bumble devices on HCI transports instead of the in-process radio.

Two pieces let a simulated peripheral (`vigil simulate --ble`) and Vigil's BleDriver run in
different processes, using bumble's own transports and virtual controllers:

- `VirtualRadioServer`: the simulator's side when there is no adapter. The peripheral sits
  on an in-process radio (SimRadio, a bumble LocalLink); every TCP client that connects gets
  its own fresh virtual bumble Controller on that radio, spoken to in plain HCI (H4) — the
  same thing bumble's `tcp-server:` transport and `apps/controllers.py` do, but one controller
  per client so a restarted central always finds a clean controller, and a vanished central
  releases its link (the peripheral then advertises again).
- `TransportLink`: a CentralLink whose bumble Device talks HCI over any bumble transport spec
  (`tcp-client:127.0.0.1:7755` to reach the server above, or `hci-socket:0` / `usb:0` for
  a real adapter). The transport is opened per connection attempt and a lost transport
  counts as a lost link, so BleDriver's reconnect loop covers a simulator that was restarted.
- `ControllerRadio`: the simulator's side with a real adapter (`hci-socket:0`, `usb:0`):
  the peripheral's Device drives that controller, so phones and bleak centrals can see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.transport import open_transport
from bumble.transport.common import StreamPacketSource, Transport

from drivers.ble.bumble_link import BumbleLink, SimRadio
from drivers.ble.link import LinkError, OnDisconnect

log = logging.getLogger(__name__)

#: Where `vigil simulate --ble` serves its virtual radio unless told otherwise.
DEFAULT_PORT = 7755
DEFAULT_SERVER_SPEC = f"tcp-server:127.0.0.1:{DEFAULT_PORT}"
#: Transport schemes that mean "serve a virtual radio here" rather than "drive this controller".
SERVER_SCHEMES = ("tcp-server",)
#: Schemes a peripheral can drive as its own controller (bumble.transport.open_transport).
CONTROLLER_SCHEMES = (
    "hci-socket",
    "usb",
    "pyusb",
    "serial",
    "vhci",
    "tcp-client",
    "udp",
    "ws-client",
    "android-netsim",
    "android-emulator",
    "unix",
)


def transport_scheme(spec: str) -> str:
    return spec.split(":", 1)[0]


def check_transport_spec(spec: str, *, central: bool) -> str:
    """The spec if its scheme is one bumble opens (and fits this side); ValueError otherwise."""
    scheme = transport_scheme(spec)
    known = CONTROLLER_SCHEMES if central else SERVER_SCHEMES + CONTROLLER_SCHEMES
    if scheme not in known or ":" not in spec and scheme not in ("vhci", "usb", "hci-socket"):
        raise ValueError(
            f"unknown bumble transport {spec!r}; use one of " + ", ".join(f"{s}:..." for s in known)
        )
    if scheme == "tcp-server":
        parse_host_port(spec)
    return spec


def parse_host_port(spec: str) -> tuple[str, int]:
    """`tcp-server:HOST:PORT` → (HOST, PORT); bumble's `_` host means every interface."""
    try:
        host, port_s = spec.split(":", 1)[1].rsplit(":", 1)
        port = int(port_s)
    except ValueError:
        raise ValueError(f"transport {spec!r}: expected tcp-server:HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"transport {spec!r}: port {port} out of range")
    return ("0.0.0.0" if host == "_" else host), port


def _static_random_address(seed: str | None = None) -> str:
    """A static random address (top two bits set); stable for a given seed."""
    raw = hashlib.sha256(seed.encode()).digest()[:6] if seed else random.randbytes(6)
    b = bytes([raw[0] | 0xC0]) + raw[1:]
    return ":".join(f"{x:02X}" for x in b)


# -- simulator side: a virtual radio served over TCP ------------------------------------------
class _QuietSink:
    """HCI packets to one TCP client; dropped once the client has gone."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport: asyncio.Transport | None = transport

    def on_packet(self, packet: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)


class _CentralSession(asyncio.Protocol):
    """One TCP client = one virtual controller on the radio, for as long as it stays."""

    def __init__(self, server: VirtualRadioServer) -> None:
        self.server = server
        self.controller: Controller | None = None
        self.sink: _QuietSink | None = None
        self.source: StreamPacketSource | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.source = StreamPacketSource()
        self.sink = _QuietSink(transport)
        address = self.server.radio.next_address()
        self.controller = Controller(
            f"remote-central-{address}",
            host_source=self.source,
            host_sink=self.sink,
            link=self.server.radio.link,
            public_address=address,
        )
        self.server.clients += 1
        self.server.on_event(f"central connected from {transport.get_extra_info('peername')}")

    def data_received(self, data: bytes) -> None:
        assert self.source is not None
        self.source.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sink is not None:
            self.sink.transport = None
        if self.controller is not None:
            self.server.release(self.controller)
            self.controller = None
        self.server.clients -= 1
        self.server.on_event("central went away")


class VirtualRadioServer:
    """Serve virtual controllers on `radio` to HCI-over-TCP clients (bumble `tcp-client:`)."""

    def __init__(self, radio: SimRadio, on_event: Callable[[str], None] = lambda _m: None) -> None:
        self.radio = radio
        self.on_event = on_event
        self.clients = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (useful with port 0). Raises OSError."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _CentralSession(self), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def release(self, controller: Controller) -> None:
        # The central's host is gone, so nobody will ever ask this controller to disconnect:
        # do it on its behalf (the peer sees "remote user terminated", as if the phone had
        # walked away) and take the controller off the air.
        for conn in list(controller.le_connections.values()):
            with contextlib.suppress(Exception):
                controller.on_hci_disconnect_command(
                    hci.HCI_Disconnect_Command(
                        connection_handle=conn.handle,
                        reason=hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR,
                    )
                )
        with contextlib.suppress(Exception):
            self.radio.link.remove_controller(controller)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()


# -- simulator side: a real controller ---------------------------------------------------------
class ControllerRadio:
    """The peripheral drives a real controller (`hci-socket:0`, `usb:0`, ...)."""

    def __init__(self, transport: Transport, spec: str) -> None:
        self.transport = transport
        self.spec = spec

    @classmethod
    async def open(cls, spec: str) -> ControllerRadio:
        return cls(await open_transport(spec), spec)

    def new_device(self, name: str) -> Device:
        return Device.with_hci(
            name,
            Address(_static_random_address(name)),
            self.transport.source,
            self.transport.sink,
        )

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close()


# -- Vigil side: a central on an HCI transport -------------------------------------------------
class TransportLink(BumbleLink):
    """A bumble central whose controller is reached over a bumble transport spec."""

    def __init__(self, spec: str, name: str = "vigil-central") -> None:
        # BumbleLink's state, without a device on the in-process radio: the device is made
        # per connection attempt, once the transport is open.
        self.spec = spec
        self.name = name
        self.device: Device = None  # type: ignore[assignment]
        self._transport: Transport | None = None
        self._powered = False
        self._conn = None
        self._peer = None
        self._chars: dict[int, Any] = {}

    async def connect(self, target: str, on_disconnect: OnDisconnect, timeout_s: float) -> None:
        await self._close_transport()
        try:
            async with asyncio.timeout(timeout_s):
                transport = await open_transport(self.spec)
        except TimeoutError as exc:
            raise LinkError(f"transport {self.spec}: no answer within {timeout_s:g} s") from exc
        except Exception as exc:  # OSError (refused), bumble TransportInitError, ...
            raise LinkError(f"transport {self.spec}: {type(exc).__name__}: {exc}") from exc
        self._transport = transport
        self.device = Device.with_hci(
            self.name, Address(_static_random_address()), transport.source, transport.sink
        )
        try:
            async with asyncio.timeout(timeout_s):
                await self.device.power_on()
        except Exception as exc:
            raise LinkError(f"transport {self.spec}: controller did not start: {exc}") from exc
        self._powered = True

        lost_reason = f"HCI transport {self.spec} lost"
        terminated = getattr(transport.source, "terminated", None)

        def on_lost(_f: object) -> None:
            # The controller vanished (simulator killed, adapter unplugged). bumble flushes
            # its connections then (reported below); should it not, say it ourselves.
            if self._transport is transport and self._conn is not None:
                self._conn = self._peer = None
                on_disconnect(lost_reason)

        def on_link_down(reason: str) -> None:
            # bumble reports a flushed link as HCI reason 0x00; name the real cause.
            dead = isinstance(terminated, asyncio.Future) and terminated.done()
            on_disconnect(lost_reason if dead else reason)

        if isinstance(terminated, asyncio.Future):
            terminated.add_done_callback(on_lost)
        await super().connect(target, on_link_down, timeout_s)

    async def disconnect(self) -> None:
        # Over a dead transport bumble would wait forever for the controller's answer.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await super().disconnect()
        await self._close_transport()

    async def _close_transport(self) -> None:
        transport, self._transport = self._transport, None
        self._powered = False
        if transport is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await transport.close()
