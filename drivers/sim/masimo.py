"""Simulated Masimo Rad-8: writes ASCII 1 lines once a second following a scenario."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from drivers.masimo import encode_line
from drivers.sim.scenarios import Scenario, Vitals

EXC_NO_SENSOR = 0x000001
EXC_SENSOR_OFF = 0x000020


def line_for(vitals: Vitals, wall_time: float) -> bytes:
    device_time = time.strftime("%m/%d/%y %H:%M:%S", time.localtime(wall_time))
    if vitals.probe_off:
        return encode_line(device_time, None, None, None, exc=EXC_SENSOR_OFF)
    return encode_line(device_time, vitals.spo2, vitals.pulse_rate, vitals.perfusion_index)


async def run_masimo(
    write: Callable[[bytes], object],
    scenario: Scenario,
    *,
    interval_s: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """Write one line per interval until cancelled."""
    start = clock()
    while True:
        now = clock()
        write(line_for(scenario(now - start), now))
        await asyncio.sleep(interval_s)
