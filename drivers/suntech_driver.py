"""SunTech Advantage over serial: the driver that can start a blood-pressure measurement.

The module speaks only when spoken to (plus the unsolicited 'K' when a measurement ends):
start → 'O' → poll cuff pressure about every 200 ms (live cuff pressure readings) → 'K' →
get BP data → the result. Readings are emitted as they arrive, like every other driver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from drivers import suntech
from drivers.errors import MeasurementError as MeasurementError  # its home: drivers/errors.py
from drivers.serial_port import Emit, SerialDriver
from drivers.suntech import Ack, BPResult, Response, SunTechDecoder

ACK_TIMEOUT_S = 2.0
POLL_S = 0.2
MEASUREMENT_TIMEOUT_S = 180.0  # a cuff cycle takes 30-60 s; the module's own limit is below


class SunTechDriver(SerialDriver):
    decoder: SunTechDecoder
    can_start_measurement = True

    def __init__(
        self,
        port: str,
        decoder: SunTechDecoder,
        *,
        source: str,
        baudrate: int = 9600,
        parity: str = "N",
        clock: Callable[[], float] = time.time,
        poll_s: float = POLL_S,
        measurement_timeout_s: float = MEASUREMENT_TIMEOUT_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
    ) -> None:
        super().__init__(
            port, decoder, source=source, baudrate=baudrate, parity=parity, clock=clock
        )
        self.poll_s = poll_s
        self.measurement_timeout_s = measurement_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self._responses: asyncio.Queue[Response] = asyncio.Queue()
        self._lock = asyncio.Lock()

    def handle(self, data: bytes, emit: Emit) -> None:
        t = self._clock()
        for resp in self.decoder.feed_responses(data):
            for r in self.decoder.readings(resp, t):
                emit(r)
            self._responses.put_nowait(resp)

    async def _next(self, timeout: float) -> Response:
        try:
            async with asyncio.timeout(timeout):
                return await self._responses.get()
        except TimeoutError:
            raise MeasurementError(f"{self.source}: no answer within {timeout:.1f} s") from None

    async def start_measurement(self, mode: str = "adult") -> BPResult:
        """Run one cuff cycle and return its result (error_code ≠ 0 is a result, not a raise).

        Raises MeasurementError when the module refuses (busy, error, no answer) and
        NotConnected when the port is not open. One measurement at a time.
        """
        body = suntech.START_MODES[mode]
        async with self._lock:
            while not self._responses.empty():
                self._responses.get_nowait()
            await self.write(suntech.encode_command(body))
            ack = await self._next(self.ack_timeout_s)
            if not (isinstance(ack, Ack) and ack.code == "O"):
                raise MeasurementError(f"{self.source}: start refused: {_describe(ack)}")
            deadline = asyncio.get_running_loop().time() + self.measurement_timeout_s
            while True:
                if asyncio.get_running_loop().time() > deadline:
                    await self.write(suntech.encode_command(suntech.ABORT))
                    raise MeasurementError(f"{self.source}: measurement timed out")
                await self.write(suntech.encode_command(suntech.GET_CUFF_PRESSURE))
                done = await self._drain_until_poll_answer()
                if done is not None:
                    if done.code != "K":
                        raise MeasurementError(
                            f"{self.source}: measurement ended: {_describe(done)}"
                        )
                    break
                await asyncio.sleep(self.poll_s)
            await self.write(suntech.encode_command(suntech.GET_BP_DATA))
            while True:
                resp = await self._next(self.ack_timeout_s)
                if isinstance(resp, BPResult):
                    return resp

    async def _drain_until_poll_answer(self) -> Ack | None:
        """Wait for the cuff-pressure answer; return an end-of-measurement ack if one came."""
        while True:
            resp = await self._next(self.ack_timeout_s)
            if isinstance(resp, Ack) and resp.code != "O":
                return resp
            if isinstance(resp, suntech.CuffPressure):
                return None


def _describe(resp: Response) -> str:
    if isinstance(resp, Ack):
        return f"'{resp.code}' ({resp.meaning})"
    return type(resp).__name__
