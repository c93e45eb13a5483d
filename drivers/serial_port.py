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
from monitor.core.models import DeviceState, LinkState, Reading

log = logging.getLogger(__name__)

Emit = Callable[[Reading | DeviceState], None]
READ_TIMEOUT_S = 0.25  # bounds how long a blocking read holds the worker thread
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0


class SerialDriver:
    """Read one serial device forever; report link state; reconnect when the port goes away."""

    def __init__(
        self,
        port: str,
        decoder: StreamDecoder,
        *,
        source: str,
        baudrate: int = 9600,
        parity: str = serial.PARITY_NONE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.port = port
        self.decoder = decoder
        self.source = source
        self.baudrate = baudrate
        self.parity = parity
        self.state = LinkState.DISCONNECTED
        self.detail = ""
        self._clock = clock

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
            try:
                while True:
                    data = await asyncio.to_thread(ser.read, 4096)
                    if data:
                        for reading in self.decoder.feed(data, self._clock()):
                            emit(reading)
            except (serial.SerialException, OSError) as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"read failed: {exc}")
            finally:
                await asyncio.to_thread(ser.close)
            await asyncio.sleep(backoff)
