"""The live service: drivers and simulators feed one pipeline per room; events fan out.

Each room has one queue and one consumer task, so its pipeline (and so its alarm state) has
exactly one owner: readings, device states, controls from the API and ticks all pass
through that queue in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from drivers.ble.driver import BleDriver
from drivers.hl7.decoder import NIBP_SUFFIX
from drivers.hl7.driver import Hl7Driver
from drivers.registry import build_serial_driver, protocol_info
from drivers.serial_port import SerialDriver
from monitor.config import BLE_PROTOCOL, ConfigError, DeviceConfig, RoomConfig, Settings
from monitor.core.controls import Control, Dose, SessionStart, TechnicalAlarm
from monitor.core.models import (
    AlarmEvent,
    AlarmState,
    DeviceState,
    LinkState,
    PhaseEvent,
    Reading,
)
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from monitor.core.schedule import BpRequest
from monitor.hl7_device import HL7_PROTOCOL, build_hl7_device, resp_sources
from monitor.hl7out.sender import Pcd01Sender
from monitor.hub import Hub
from monitor.link_log import LinkLog, RepeatFilter
from monitor.loop_lag import LoopLag
from monitor.redact import auditable_settings
from monitor.restart import Restart
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal
from monitor.store.recorder import Recorder
from monitor.stream_snapshot import SnapshotShare
from monitor.supervisor import Supervisor
from monitor.wiring import build_notifier

if TYPE_CHECKING:
    from drivers.sim.pty import PtyPair

log = logging.getLogger(__name__)

TICK_S = 1.0
BP_START_WAIT_S = 10.0  # how long a BP request waits for the cuff's link to come up

CONTROL_WAIT_S = 2.0  # how long the API waits for a room's consumer to apply a control


@dataclass(frozen=True)
class AwaitedControl:
    """A control whose sender (the API) waits for the core's outcome ("ok", "ok: ...",
    "ignored: ...", "rejected: ..."), resolved by the room's consumer once it has applied it."""

    control: Control
    outcome: asyncio.Future[str]


@dataclass(frozen=True)
class RoomCall:
    """A change to a room's pipeline made by the room's consumer, its one owner, in queue
    order (new rules from the admin page: monitor/live_config.py); `done` resolves after."""

    apply: Callable[[RoomPipeline], list[PipelineEvent]]
    done: asyncio.Future[None]


QueueItem = Reading | DeviceState | Control | AwaitedControl | RoomCall | float


@dataclass
class Device:
    config: DeviceConfig
    driver: SerialDriver | BleDriver | Hl7Driver
    pty: PtyPair | None = None
    measuring: bool = False  # a commanded BP measurement is under way


@dataclass
class Room:
    config: RoomConfig
    pipeline: RoomPipeline
    queue: asyncio.Queue[QueueItem] = field(default_factory=asyncio.Queue)
    devices: list[Device] = field(default_factory=list)


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


def _sources(driver: SerialDriver | BleDriver | Hl7Driver) -> list[str]:
    """The sources a driver feeds (a BLE device may feed a cuff and an oximeter)."""
    return list(driver.sources) if isinstance(driver, BleDriver) else [driver.source]


class Vigil:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.hub = Hub(room_interval_s=settings.stream_interval_s)
        self.snapshots = SnapshotShare()  # the stream's, shared by clients: stream_snapshot.py
        # Device trouble on the console: once per change, not once per reconnect attempt.
        self.link_log = LinkLog()
        self.cuff_failures = RepeatFilter()
        self.store = InfluxStore(
            settings.influx_url,
            settings.influx_database,
            api=settings.influx_api,
            token=settings.influx_token,
            org=settings.influx_org,
            bucket=settings.influx_bucket,
            batch_s=settings.influx_batch_s,
            site=settings.site,
        )
        # Journal first, then InfluxDB (architecture.md "Storage").
        try:
            journal = Journal(
                settings.journal_path, commit_window_s=settings.journal_commit_window_s
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"journal_path: cannot open {settings.journal_path}: {exc}") from None
        self.recorder = Recorder(
            journal,
            self.store,
            batch_s=settings.influx_batch_s,
            degraded_after_s=settings.storage_degraded_after_s,
            on_alarm=self._storage_alarm,
            clock=clock,
            retention_days=settings.journal_retention_days,
        )
        self.hub.add_listener(self.recorder.hub_message)
        self.rooms: dict[str, Room] = {
            rc.id: Room(config=rc, pipeline=self.new_pipeline(rc)) for rc in settings.rooms
        }
        # IHE PCD-01 out: reads the journal after its own cursor (monitor/hl7out/sender.py).
        self.hl7_out = (
            Pcd01Sender(journal, settings.hl7_out, on_alarm=self._storage_alarm, clock=clock)
            if settings.hl7_out.enabled
            else None
        )
        # Every long-lived task: restarted after an unexpected exception, shown in health.
        self.supervisor = Supervisor(clock=clock)
        self.started_at: float | None = None
        self.restart = Restart(self)  # sessions a stopped run left open: monitor/restart.py
        self.notifier = build_notifier(self)  # pages phones; alerts/notifier.py, monitor/wiring.py
        self.loop_lag = LoopLag()

    def new_pipeline(self, rc: RoomConfig) -> RoomPipeline:
        s = self.settings
        return RoomPipeline(
            rc.id,
            escalation_after_s={str(k): v for k, v in s.escalation_after_s.items()},
            policy=s.rules.to_core(),
            cuff_sources=configured_cuffs(rc),
            resp_sources=resp_sources(rc.devices),
        )

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self.started_at = self.clock()
        self.recorder.config(auditable_settings(self.settings))  # no secrets: monitor/redact.py
        self.restart.begin(self.started_at)  # sessions a stopped run left open: resume/close
        self._spawn(self.recorder.run, "journal-forwarder")
        if self.hl7_out is not None:
            self._spawn(self.hl7_out.run, "hl7-out")
        for room in self.rooms.values():
            for dc in room.config.devices:
                self._start_device(room, dc)
            self._spawn(partial(self._consume, room), f"room-{room.config.id}")
            if room.config.auto_session_dose_after_s is not None:
                self._spawn(partial(self._demo_session, room), f"demo-{room.config.id}")
        self._spawn(self._ticker, "ticker")
        for name, part in self.notifier.supervised_tasks().items():
            self._spawn(part, name)
        self._spawn(self.loop_lag.run, "loop-lag")

    async def stop(self) -> None:
        await self.supervisor.stop()
        with contextlib.suppress(Exception):
            await self.notifier.aclose()
        with contextlib.suppress(Exception):
            await self.recorder.final_flush()
        await self.store.aclose()
        if self.hl7_out is not None:
            await self.hl7_out.aclose()
        self.recorder.close()
        for room in self.rooms.values():
            for dev in room.devices:
                if dev.pty is not None:
                    dev.pty.close()

    def _spawn(self, factory: Callable[[], Awaitable[None]], name: str) -> None:
        """A long-lived task under the supervisor: `factory()` again after each failure."""
        self.supervisor.spawn(name, factory)

    def _start_device(self, room: Room, dc: DeviceConfig) -> None:
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
        name = f"driver-{dev.config.id}"

        def emit(item: Reading | DeviceState) -> None:
            if not (isinstance(item, DeviceState) and self.supervisor.failing(name)):
                room.queue.put_nowait(item)

        def states(state: LinkState, detail: str) -> None:
            t = self.clock()
            for source in _sources(dev.driver):
                room.queue.put_nowait(DeviceState(t=t, source=source, state=state, detail=detail))

        self.supervisor.spawn(
            name,
            partial(dev.driver.run, emit),
            on_failure=partial(states, LinkState.FAILED),
            on_recovery=lambda: states(dev.driver.state, dev.driver.detail),
        )

    # -- the room loop ----------------------------------------------------------------------
    async def _consume(self, room: Room) -> None:
        # A session a stopped run left open is rebuilt first; inputs wait in the queue.
        sources = [s for dev in room.devices for s in _sources(dev.driver)]
        self._dispatch(room, await self.restart.resume(room, sources))
        pipeline = room.pipeline
        rid = room.config.id
        while True:
            item = await room.queue.get()
            waiter: asyncio.Future[str] | None = None
            if isinstance(item, AwaitedControl):
                waiter = item.outcome
                item = item.control
            outcome = ""
            try:
                if isinstance(item, Reading):
                    events = pipeline.feed(item)
                    self.recorder.reading(rid, item)
                    self.hub.publish(
                        {
                            "type": "reading",
                            "room": rid,
                            **item.to_dict(),
                            "smoothed": pipeline.smoothed.get(item.channel),
                        }
                    )
                elif isinstance(item, DeviceState):
                    events = pipeline.device_state(item)
                    self.recorder.device(rid, item)
                    if (entry := self.link_log.entry(rid, item)) is not None:
                        log.log(*entry)
                    self.hub.publish(
                        {
                            "type": "device",
                            "room": rid,
                            "source": item.source,
                            "state": item.state.value,
                            "detail": item.detail,
                            "t": item.t,
                        }
                    )
                elif isinstance(item, Control):
                    events = pipeline.control(item)
                    # The journal follows what the core decided: a refused session_start
                    # opens no session (the core logs each control's outcome).
                    outcome = str(pipeline.log[-1]["outcome"])
                    self.recorder.control_before(rid, item, outcome)
                elif isinstance(item, RoomCall):
                    events = item.apply(pipeline)
                else:
                    events = pipeline.tick(item)
            except Exception as exc:  # a bug must not take the room's monitoring down with it
                log.exception("room %s: pipeline failed on %r", rid, item)
                if waiter is not None and not waiter.done():
                    waiter.set_result("failed: internal error (see the log)")
                if isinstance(item, RoomCall) and not item.done.done():
                    item.done.set_exception(exc)
                continue
            self._dispatch(room, events)
            if isinstance(item, RoomCall) and not item.done.done():
                item.done.set_result(None)
            if isinstance(item, Control):
                self.recorder.control_after(rid, item, pipeline.snapshot().to_dict(), outcome)
            if waiter is not None and not waiter.done():  # done: the API gave up waiting
                waiter.set_result(outcome)

    def _dispatch(self, room: Room, events: list[PipelineEvent]) -> None:
        for event in events:
            if isinstance(event, BpRequest):
                self._request_bp(room, event)
            else:
                self._publish_event(event)

    def _request_bp(self, room: Room, request: BpRequest) -> None:
        """The BP schedule asks for a reading: start every cuff that accepts a command."""
        self.hub.publish(request.to_dict())
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

    def _storage_alarm(self, event: AlarmEvent) -> None:
        """Storage trouble (`storage_degraded`, `journal_failed`) concerns every room's record:
        each room's core raises it, as it owns alarm state (latching, ack, escalation)."""
        state = "cleared" if event.state == AlarmState.CLEARED else "active"
        control = TechnicalAlarm(event.t, event.condition, state, reason=event.reason, by="storage")
        for room in self.rooms.values():
            room.queue.put_nowait(control)

    def _publish_event(self, event: AlarmEvent | PhaseEvent) -> None:
        self.recorder.event(event)
        self.hub.publish(event.to_dict())
        self.notifier.on_event(event)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock()
            for room in self.rooms.values():
                room.queue.put_nowait(now)
            self.hub.publish({"type": "heartbeat", "t": now})

    async def _demo_session(self, room: Room) -> None:
        room.queue.put_nowait(SessionStart(self.clock(), by="demo"))
        await asyncio.sleep(room.config.auto_session_dose_after_s or 0)
        room.queue.put_nowait(Dose(self.clock(), by="demo"))

    def control(self, room_id: str, control: Control) -> None:
        """Queue a control for the room (fire and forget: notifier, storage alarms)."""
        self.rooms[room_id].queue.put_nowait(control)

    async def control_outcome(
        self, room_id: str, control: Control, timeout_s: float = CONTROL_WAIT_S
    ) -> str | None:
        """Queue a control and wait for the core's outcome; None when the room's consumer
        did not get to it within `timeout_s` (it stays queued and is applied later)."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.rooms[room_id].queue.put_nowait(AwaitedControl(control, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return None

    # -- views ------------------------------------------------------------------------------
    def room_view(self, room: Room) -> dict[str, Any]:
        view = room.pipeline.snapshot().to_dict()
        view["name"] = room.config.name or room.config.id
        view["devices"] = [self.device_view(d) for d in room.devices]
        return view

    def device_view(self, dev: Device) -> dict[str, Any]:
        dec = dev.driver.decoder
        task = self.supervisor.status.get(f"driver-{dev.config.id}")
        failed = task is not None and task.state == "failed"
        return {
            "id": dev.config.id,
            "protocol": dev.config.protocol,
            "port": dev.driver.port,
            "simulated": dev.config.simulate is not None,
            "state": LinkState.FAILED.value if failed else dev.driver.state.value,
            "detail": task.reason if failed and task is not None else dev.driver.detail,
            "frames": dec.frames,
            "dropped": dict(dec.dropped),
            # A BLE device may feed two sources (cuff + oximeter): each with its GATT services.
            **({"sources": dev.driver.sources} if isinstance(dev.driver, BleDriver) else {}),
        }

    def status_line(self) -> str:
        """One line for `systemctl status`: serving, or the failed parts of Vigil."""
        failed = self.supervisor.health()["failed"]
        if not failed:
            return "serving"
        return "error: " + "; ".join(f"{n} failed ({t['reason']})" for n, t in failed.items())

    def health(self) -> dict[str, Any]:
        drivers = {d.config.id: self.device_view(d) for r in self.rooms.values() for d in r.devices}
        influx = self.store.health()
        journal = self.recorder.health()
        ok = influx["status"] == "ok" and all(d["state"] == "connected" for d in drivers.values())
        paging = self.notifier.health()
        ok = ok and journal["status"] == "ok" and paging["status"] != "degraded"
        resume = self.restart.health()
        ok = ok and resume["status"] == "ok"
        hl7_out = self.hl7_out.health() if self.hl7_out is not None else {"status": "off"}
        ok = ok and hl7_out["status"] != "degraded"
        tasks = self.supervisor.health()
        return {
            # error: a part of Vigil itself failed (named under tasks); degraded: outside it.
            "status": "error" if tasks["status"] != "ok" else "ok" if ok else "degraded",
            "tasks": tasks,
            "demo": self.settings.demo,
            "drivers": drivers,
            "influxdb": influx,
            "journal": journal,
            "paging": paging,
            "resume": resume,
            "hl7_out": hl7_out,
            "stream_subscribers": self.hub.subscribers,
            "event_loop_lag": self.loop_lag.summary(),
        }
