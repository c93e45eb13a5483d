"""Device supervision: each room's serial, BLE and HL7 devices (real or simulated) started,
their drivers run under the supervisor, and the cuffs commanded when the BP schedule asks.

A driver hands its `Reading`s and `DeviceState`s to its room's queue (monitor/rooms.py); it
never pages and never touches storage. A simulator is imported only for a room that
simulates, so a clinic's process loads none (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from drivers.ble.driver import BleDriver
from drivers.hl7.decoder import NIBP_SUFFIX
from drivers.registry import build_serial_driver, protocol_info
from monitor.config import BLE_PROTOCOL, DeviceConfig, RoomConfig
from monitor.core.models import DeviceState, LinkState, Reading
from monitor.hl7_device import HL7_PROTOCOL, build_hl7_device
from monitor.link_log import RepeatFilter
from monitor.rooms import Device, Room, driver_sources
from monitor.supervisor import Supervisor

log = logging.getLogger("monitor.runtime")  # the logger these lines always came from

BP_START_WAIT_S = 10.0  # how long a BP request waits for the cuff's link to come up


def configured_cuffs(room: RoomConfig) -> list[str]:
    """Sources the config says are BP cuffs, known before their first reading: a serial
    cuff Vigil starts (SunTech), a simulated BLE cuff without a heart-rate service (its
    oximeter reports as `<id>/plx`). The core then knows a missing cuff cannot explain a
    silent oximeter. A real BLE device's services are known only once it connects."""
    out = []
    for dc in room.devices:
        if dc.protocol == BLE_PROTOCOL:
            services = dc.simulate.profile.split("+") if dc.simulate is not None else []
            if "bps" in services and "hrs" not in services:
                out.append(dc.id)
        elif dc.protocol == HL7_PROTOCOL:
            out.append(dc.id + NIBP_SUFFIX)  # its NIBP pulse is the cuff's from the first
        elif protocol_info(dc.protocol).can_start_measurement:
            out.append(dc.id)
    return out


def driver_task(dev: Device) -> str:
    """The supervisor's name for a device's driver task (health reads its state by it)."""
    return f"driver-{dev.config.id}"


class Devices:
    """Starts the rooms' devices under `supervisor` and commands their cuffs."""

    def __init__(self, supervisor: Supervisor, *, clock: Callable[[], float]) -> None:
        self.supervisor = supervisor
        self.clock = clock
        # Cuff trouble on the console: once per change, not on every schedule tick.
        self.cuff_failures = RepeatFilter()

    def _spawn(self, factory: Callable[[], Awaitable[None]], name: str) -> None:
        self.supervisor.spawn(name, factory)

    def start(self, room: Room, dc: DeviceConfig) -> None:
        if dc.protocol == BLE_PROTOCOL:
            self._start_ble_device(room, dc)
            return
        if dc.protocol == HL7_PROTOCOL:
            driver, sims = build_hl7_device(dc, self.clock)
            for i, sim in enumerate(sims):
                self._spawn(sim, f"sim-{dc.id}-{i}")
            self._run_driver(room, Device(config=dc, driver=driver))
            return
        pty = None
        port = dc.port
        if dc.simulate is not None:
            # Imported here: a clinic's rooms read real devices, and load no simulator.
            from drivers.sim.pty import PtyPair
            from drivers.sim.registry import make_sim
            from drivers.sim.runner import run_serial_sim
            from drivers.sim.scenarios import scenario

            pty = PtyPair()
            port = pty.port
            self._spawn(
                partial(
                    run_serial_sim,
                    pty,
                    make_sim(dc.protocol, dc.simulate.device_options),
                    scenario(dc.simulate.scenario, dc.simulate.options),
                    interval_s=dc.simulate.interval_s,
                    clock=self.clock,
                ),
                f"sim-{dc.id}",
            )
        assert port is not None  # the config validator demands port or simulate
        driver = build_serial_driver(
            dc.protocol, port, dc.id, baudrate=dc.baudrate, clock=self.clock, options=dc.options
        )
        self._run_driver(room, Device(config=dc, driver=driver, pty=pty))

    def _start_ble_device(self, room: Room, dc: DeviceConfig) -> None:
        # Imported here: bumble takes about a third of start-up's imports, and a restart
        # without BLE devices should get its alarms back sooner (monitor/restart.py).
        from drivers.ble.factory import create_ble_device
        from drivers.sim.ble_factory import create_simulated_ble_device

        driver: BleDriver
        if dc.simulate is not None:
            # A bumble GATT server on an in-process link, read by the same BleDriver that
            # reads a real device through bleak.
            options = dict(dc.simulate.options)
            if dc.simulate.interval_s is not None:
                options["interval_s"] = dc.simulate.interval_s
            driver, peripheral, coros = create_simulated_ble_device(
                dc.id, dc.simulate.profile, dc.simulate.scenario, options, self.clock
            )
            for coro in coros:  # = [peripheral.run()]: a restart needs the method itself
                coro.close()
            self._spawn(peripheral.run, f"sim-{dc.id}")
        else:
            assert dc.address is not None  # the config validator demands address or simulate
            driver = create_ble_device(dc.id, dc.address, self.clock, transport=dc.transport)
        self._run_driver(room, Device(config=dc, driver=driver))

    def _run_driver(self, room: Room, dev: Device) -> None:
        """A driver under the supervisor. A failure makes each of its sources `failed` in
        the room (the `device_failed` alarm); the link states the restarted driver reports
        are held back until it has recovered, so the alarm does not flap with each retry
        (readings still flow: whatever it still decodes is monitored)."""
        room.devices.append(dev)
        name = driver_task(dev)

        def emit(item: Reading | DeviceState) -> None:
            if not (isinstance(item, DeviceState) and self.supervisor.failing(name)):
                room.queue.put_nowait(item)

        def states(state: LinkState, detail: str) -> None:
            t = self.clock()
            for source in driver_sources(dev.driver):
                room.queue.put_nowait(DeviceState(t=t, source=source, state=state, detail=detail))

        self.supervisor.spawn(
            name,
            partial(dev.driver.run, emit),
            on_failure=partial(states, LinkState.FAILED),
            on_recovery=lambda: states(dev.driver.state, dev.driver.detail),
        )

    def start_cuffs(self, room: Room) -> None:
        """The BP schedule asks for a reading: start every cuff that accepts a command."""
        for dev in room.devices:
            if not getattr(dev.driver, "can_start_measurement", False) or dev.measuring:
                continue
            dev.measuring = True
            asyncio.create_task(self._measure(room, dev), name=f"bp-start-{dev.config.id}")

    async def _measure(self, room: Room, dev: Device) -> None:
        """Run one commanded cuff cycle; its readings reach the room through the driver."""
        try:
            # A request made while the link is (re)opening is honoured once it is up, if soon.
            deadline = self.clock() + BP_START_WAIT_S
            while dev.driver.state != LinkState.CONNECTED and self.clock() < deadline:
                await asyncio.sleep(0.2)
            result = await dev.driver.start_measurement()  # type: ignore[union-attr]
            if not getattr(result, "ok", True):
                failure = f"reported {getattr(result, 'error_text', 'an error')}"
            else:
                failure = ""
                self.cuff_failures.succeeded(dev.config.id)
        except Exception as exc:  # a failing cuff command must not stop the room's loop
            failure = f"start_measurement failed: {exc}"
        finally:
            dev.measuring = False
        # Said once until it changes or a measurement works (not on every schedule tick).
        if failure and self.cuff_failures.failed(dev.config.id, failure):
            log.warning("room %s: cuff %s %s", room.config.id, dev.config.id, failure)

    @staticmethod
    def close(rooms: list[Room]) -> None:
        """Close the simulators' pseudo-terminals (the drivers stop with their tasks)."""
        for room in rooms:
            for dev in room.devices:
                if dev.pty is not None:
                    dev.pty.close()
