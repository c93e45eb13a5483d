"""The one simulator runner for every serial protocol.

A simulated device (`SerialSim`) turns the scenario's `Vitals` into its protocol's bytes once
per tick and may answer what the host sends (SunTech, Contec's new protocol). The runner
owns time and the link: it asks the scenario for the vitals, unplugs the link while the
scenario says the device is disconnected, passes host bytes to the device, and writes
whatever the device produces.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from drivers.sim.scenarios import Scenario, Vitals


class SerialSim(Protocol):
    #: Natural seconds between ticks (the device's own output rate).
    tick_s: float

    def emit(self, vitals: Vitals, now: float) -> bytes:
        """Bytes the device sends unprompted during one tick (b"" for none)."""
        ...

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        """The device's answer to bytes from the host (b"" for none)."""
        ...


class Link(Protocol):
    def write(self, data: bytes) -> object: ...

    def read(self) -> bytes: ...


class WriteOnlyLink:
    """A link for a sink that cannot be read (a plain write callable)."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write

    def read(self) -> bytes:
        return b""


class PySerialLink:
    """A real serial port (or pyserial URL) as a simulator link."""

    def __init__(self, ser: object) -> None:
        self._ser = ser

    def write(self, data: bytes) -> object:
        return self._ser.write(data)  # type: ignore[attr-defined]

    def read(self) -> bytes:
        n = self._ser.in_waiting  # type: ignore[attr-defined]
        return self._ser.read(n) if n else b""  # type: ignore[attr-defined]


#: Line noise for negative tests: stray bytes that are no frame start in any protocol we
#: simulate, or a sync byte that starts a packet which never completes.
NOISE = b"\xff\x00\x7f"


def corrupt(data: bytes) -> bytes:
    """Line noise in front, and the last byte lost: the frame it ends is incomplete."""
    return NOISE + data[:-1]


async def run_serial_sim(
    link: Link,
    device: SerialSim,
    scenario: Scenario,
    *,
    interval_s: float | None = None,
    clock: Callable[[], float] = time.time,
    corrupt_every: int = 0,
) -> None:
    """Run the device until cancelled. `interval_s` overrides the device's tick;
    `corrupt_every` N > 0 damages every Nth emission with `corrupt()`."""
    tick = interval_s if interval_s is not None else device.tick_s
    start = clock()
    plugged = True
    emissions = 0
    while True:
        now = clock()
        vitals = scenario(now - start)
        if vitals.connected != plugged:
            plugged = vitals.connected
            # A pty can be pulled and put back; another link just goes silent.
            action = getattr(link, "replug" if plugged else "unplug", None)
            if action is not None:
                action()
        if plugged:
            incoming = link.read()
            if incoming:
                answer = device.receive(incoming, vitals, now)
                if answer:
                    link.write(answer)
            out = device.emit(vitals, now)
            if out:
                emissions += 1
                if corrupt_every and emissions % corrupt_every == 0:
                    out = corrupt(out)
                link.write(out)
        await asyncio.sleep(tick)
