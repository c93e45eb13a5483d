"""Serial transport: moves bytes from a pyserial port to a decoder, reconnecting with backoff.

The port may be a device path (/dev/ttyUSB0) or any pyserial URL (socket://host:port,
rfc2217://...). The transport does no decoding of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import serial

from drivers.base import StreamDecoder
from drivers.errors import NotConnected as NotConnected  # its home: drivers/errors.py
from monitor.core.models import DeviceState, LinkState, Reading

log = logging.getLogger(__name__)

Emit = Callable[[Reading | DeviceState], None]
READ_TIMEOUT_S = 0.25  # bounds how long a blocking read holds the worker thread
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0


class SerialDriver:
    """Read one serial device forever; report link state; reconnect when the port goes away."""

    #: Drivers that can start a measurement (SunTech) set this and offer
    #: `async def start_measurement()`; the BP schedule checks it.
    can_start_measurement: bool = False

    def __init__(
        self,
        port: str,
        decoder: StreamDecoder,
        *,
        source: str,
        baudrate: int = 9600,
        parity: str = serial.PARITY_NONE,
        clock: Callable[[], float] = time.time,
        greeting: bytes | None = None,
        keepalive: bytes | None = None,
        keepalive_s: float = 5.0,
    ) -> None:
        self.port = port
        self.decoder = decoder
        self.source = source
        self.baudrate = baudrate
        self.parity = parity
        self.state = LinkState.DISCONNECTED
        self.detail = ""
        self._clock = clock
        # Devices that stream only when asked (Contec new protocol): sent on every connect,
        # and the keep-alive while the port stays open.
        self.greeting = greeting
        self.keepalive = keepalive
        self.keepalive_s = keepalive_s
        self._ser: serial.SerialBase | None = None

    def _set_state(self, emit: Emit, state: LinkState, detail: str = "") -> None:
        if state != self.state or detail != self.detail:
            self.state, self.detail = state, detail
            emit(DeviceState(t=self._clock(), source=self.source, state=state, detail=detail))

    async def run(self, emit: Emit) -> None:
        backoff = BACKOFF_START_S
        while True:
            self._set_state(emit, LinkState.CONNECTING, self.port)
            try:
                ser = await asyncio.to_thread(
                    serial.serial_for_url,
                    self.port,
                    baudrate=self.baudrate,
                    parity=self.parity,
                    timeout=READ_TIMEOUT_S,
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"open failed: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_START_S
            self._set_state(emit, LinkState.CONNECTED, self.port)
            self._ser = ser
            keeper = asyncio.create_task(self._keep_alive()) if self.keepalive else None
            try:
                if self.greeting:
                    await self.write(self.greeting)
                while True:
                    data = await asyncio.to_thread(_read_available, ser)
                    if data:
                        self.handle(data, emit)
            except (serial.SerialException, OSError, NotConnected) as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"read failed: {exc}")
            finally:
                self._ser = None
                if keeper is not None:
                    keeper.cancel()
                await asyncio.to_thread(ser.close)
            await asyncio.sleep(backoff)

    def handle(self, data: bytes, emit: Emit) -> None:
        """Decode received bytes and emit the readings (drivers that talk back override)."""
        for reading in self.decoder.feed(data, self._clock()):
            emit(reading)

    async def write(self, data: bytes) -> None:
        """Send bytes to the device; NotConnected when the port is not open."""
        ser = self._ser
        if ser is None:
            raise NotConnected(f"{self.source}: port {self.port} is not open")
        try:
            await asyncio.to_thread(ser.write, data)
        except (serial.SerialException, OSError) as exc:
            raise NotConnected(f"{self.source}: write failed: {exc}") from exc

    async def _keep_alive(self) -> None:
        assert self.keepalive is not None
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                await self.write(self.keepalive)
            except NotConnected:
                return  # the read loop sees the failure and reconnects


def _read_available(ser: serial.SerialBase) -> bytes:
    """Wait (up to the port timeout) for one byte, then take whatever else is buffered.

    read(4096) would hold every chunk until the timeout expired: a request/response device
    (SunTech) would then answer no faster than four times a second.
    """
    first = bytes(ser.read(1))
    if not first:
        return b""
    waiting = ser.in_waiting
    return first + bytes(ser.read(waiting)) if waiting else first
