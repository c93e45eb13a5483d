"""Serial transport: moves bytes from a pyserial port to a decoder, reconnecting with backoff.

The port may be a device path (/dev/ttyUSB0) or any pyserial URL (socket://host:port,
rfc2217://...). The transport does no decoding of its own.

A device path is read and written on the event loop itself: pyserial opens and configures
the port (in a thread: opening can block), then the loop watches the port's file descriptor
(epoll) and `os.read`/`os.write` move the bytes. No thread hop per read, and no `select()`:
pyserial's own `read()`/`write()` (and pyserial-asyncio(-fast), which calls them) use
`select.select`, which fails for any descriptor above 1024, i.e. past ~200 open ports.
A URL port has no descriptor the loop can watch, so it keeps a blocking read in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

import serial

from drivers.base import StreamDecoder
from drivers.byte_queue import ByteQueue
from drivers.errors import NotConnected as NotConnected  # its home: drivers/errors.py
from drivers.quality import Verdict
from monitor.core.models import DeviceState, LinkState, Reading

log = logging.getLogger(__name__)

Emit = Callable[[Reading | DeviceState], None]
READ_TIMEOUT_S = 0.25  # bounds how long a blocking read holds a worker thread (URL ports)
WRITE_TIMEOUT_S = 2.0  # a port that takes no bytes for this long is treated as gone
READ_CHUNK = 4096
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
        self._link: FdLink | ThreadLink | None = None

    @property
    def fd(self) -> int | None:
        """The open port's file descriptor when the event loop reads it (else None)."""
        link = self._link
        return link.fd if isinstance(link, FdLink) else None

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
            link = open_link(ser)
            self._set_state(emit, LinkState.CONNECTED, self.port)
            self._link = link
            keeper = asyncio.create_task(self._keep_alive()) if self.keepalive else None
            try:
                if self.greeting:
                    await self.write(self.greeting)
                while True:
                    self.handle(await link.read(), emit)
            except (serial.SerialException, OSError, NotConnected) as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"read failed: {exc}")
            finally:
                self._link = None
                if keeper is not None:
                    keeper.cancel()
                await link.close()
            await asyncio.sleep(backoff)

    def handle(self, data: bytes, emit: Emit) -> None:
        """Decode received bytes and emit the readings (drivers that talk back override)."""
        for reading in self.decoder.feed(data, self._clock()):
            emit(reading)
        self._report_quality(emit)

    def _report_quality(self, emit: Emit) -> None:
        """A garbled stream (drivers.quality) is a link state the room shows; clean again,
        the link is connected again."""
        quality = getattr(self.decoder, "quality", None)
        if quality is None:
            return
        if quality.verdict == Verdict.GARBLED and self.state == LinkState.CONNECTED:
            self._set_state(emit, LinkState.GARBLED, quality.detail)
        elif quality.verdict != Verdict.GARBLED and self.state == LinkState.GARBLED:
            self._set_state(emit, LinkState.CONNECTED, self.port)

    async def write(self, data: bytes) -> None:
        """Send bytes to the device; NotConnected when the port is not open."""
        link = self._link
        if link is None:
            raise NotConnected(f"{self.source}: port {self.port} is not open")
        try:
            await link.write(data)
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


def open_link(ser: serial.SerialBase) -> FdLink | ThreadLink:
    """The event-loop link for a local port; the thread link for a URL port (no descriptor)."""
    if isinstance(ser, serial.Serial) and os.name == "posix":
        return FdLink(ser)
    return ThreadLink(ser)


class FdLink:
    """An open local port read and written on the event loop through its descriptor.

    The descriptor stays registered with the loop while the port is open; each wake-up
    reads what the kernel holds, so a request/response device (SunTech) is answered as soon
    as its bytes arrive.
    """

    def __init__(self, ser: serial.SerialBase) -> None:
        self._ser = ser
        self.fd: int = ser.fileno()
        os.set_blocking(self.fd, False)  # os.read/os.write must never block the loop
        self._loop = asyncio.get_running_loop()
        self._received = ByteQueue()
        self._loop.add_reader(self.fd, self._readable)
        self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: the other end is gone (unplugged adapter, closed pty)
            self._fail(exc)
            return
        if not data:
            self._fail(serial.SerialException("device disconnected (end of file)"))
            return
        self._received.put(data)

    def _fail(self, exc: BaseException) -> None:
        self._stop_reading()  # a dead descriptor stays "readable": stop the busy wake-ups
        self._received.close(exc)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self.fd)

    async def read(self) -> bytes:
        """The bytes received since the last call, waiting for at least one."""
        data = await self._received.get()
        if data is None:  # closed without a failure: only close() does that
            raise NotConnected("port closed")
        return data

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = self._loop.time() + WRITE_TIMEOUT_S
        while view:
            try:
                written = os.write(self.fd, view)
                view = view[written:]
                if written:  # the port took bytes: it is not gone, whatever the write's size
                    deadline = self._loop.time() + WRITE_TIMEOUT_S
            except (BlockingIOError, InterruptedError):
                timeout = deadline - self._loop.time()
                if timeout <= 0:
                    raise serial.SerialTimeoutException("write timed out") from None
                await self._writable(timeout)

    async def _writable(self, timeout: float) -> None:
        ready: asyncio.Future[None] = self._loop.create_future()
        self._loop.add_writer(self.fd, _resolve, ready)
        try:
            async with asyncio.timeout(timeout):
                await ready
        except TimeoutError:
            pass  # the caller's deadline check says so
        finally:
            self._loop.remove_writer(self.fd)

    async def close(self) -> None:
        self._stop_reading()
        self._received.close()
        self._ser.close()  # a local port closes at once (no thread needed)


class ThreadLink:
    """A URL port (socket://, rfc2217://): pyserial's blocking calls, each in a thread."""

    fd = None

    def __init__(self, ser: serial.SerialBase) -> None:
        self._ser = ser

    async def read(self) -> bytes:
        while True:
            data = await asyncio.to_thread(_read_available, self._ser)
            if data:
                return data

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self._ser.write, data)

    async def close(self) -> None:
        await asyncio.to_thread(self._ser.close)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
