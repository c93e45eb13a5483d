"""The live service: Vigil composes its parts, starts them under the supervisor, stops them.

The parts, each in its own module:

- monitor/rooms.py: a room (config, pipeline, its one queue, its devices) and what its
  queue carries.
- monitor/devices.py: device supervision (serial, BLE, HL7; real or simulated) and the
  commanded BP measurements.
- monitor/room_loop.py: each room's one consumer (readings, device states, controls, ticks
  in queue order) and the fan-out of events to the journal, the live stream and paging.
- monitor/health.py: /api/health, the status line, the room and device views.
- monitor/wiring.py: paging (alerts) adapted to the running Vigil.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from monitor.config import ConfigError, RoomConfig, Settings
from monitor.core.models import Control
from monitor.core.pipeline import RoomPipeline
from monitor.devices import Devices, configured_cuffs
from monitor.health import Health
from monitor.hl7_device import resp_sources
from monitor.hl7out.sender import Pcd01Sender
from monitor.hub import Hub
from monitor.loop_lag import LoopLag
from monitor.redact import auditable_settings
from monitor.restart import Restart
from monitor.room_loop import CONTROL_WAIT_S, TICK_S, RoomLoop, raise_storage_alarm
from monitor.rooms import AwaitedControl, Device, Room, RoomCall
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal
from monitor.store.recorder import Recorder
from monitor.stream_snapshot import SnapshotShare
from monitor.supervisor import Supervisor
from monitor.wiring import build_notifier

# Their homes are the modules above; importable from here as before.
__all__ = [
    "CONTROL_WAIT_S",
    "TICK_S",
    "AwaitedControl",
    "Device",
    "Room",
    "RoomCall",
    "Vigil",
    "configured_cuffs",
]


class Vigil:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.hub = Hub(room_interval_s=settings.stream_interval_s)
        self.snapshots = SnapshotShare()  # the stream's, shared by clients: stream_snapshot.py
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
        self.rooms: dict[str, Room] = {
            rc.id: Room(config=rc, pipeline=self.new_pipeline(rc)) for rc in settings.rooms
        }
        storage_alarm = partial(raise_storage_alarm, self.rooms)
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
            on_alarm=storage_alarm,
            clock=clock,
            retention_days=settings.journal_retention_days,
        )
        self.hub.add_listener(self.recorder.hub_message)
        # IHE PCD-01 out: reads the journal after its own cursor (monitor/hl7out/sender.py).
        self.hl7_out = (
            Pcd01Sender(journal, settings.hl7_out, on_alarm=storage_alarm, clock=clock)
            if settings.hl7_out.enabled
            else None
        )
        # Every long-lived task: restarted after an unexpected exception, shown in health.
        self.supervisor = Supervisor(clock=clock)
        self.devices = Devices(self.supervisor, clock=clock)
        self.started_at: float | None = None
        self.restart = Restart(self)  # sessions a stopped run left open: monitor/restart.py
        # Pages phones: alerts/notifier.py, wired to the hub, the journal and the rooms.
        self.notifier = build_notifier(
            settings, hub=self.hub, recorder=self.recorder, rooms=self.rooms, clock=clock
        )
        self.loop_lag = LoopLag()
        self.room_loop = RoomLoop(
            self.rooms,
            hub=self.hub,
            recorder=self.recorder,
            devices=self.devices,
            restart=self.restart,
            page=self.notifier.on_event,
            clock=clock,
        )
        self.status = Health(
            self.rooms,
            self.supervisor,
            influxdb=self.store,
            journal=self.recorder,
            paging=self.notifier,
            resume=self.restart,
            hl7_out=self.hl7_out,
            hub=self.hub,
            loop_lag=self.loop_lag,
            demo=settings.demo,
        )

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
                self.devices.start(room, dc)
            self._spawn(partial(self.room_loop.consume, room), f"room-{room.config.id}")
            if room.config.auto_session_dose_after_s is not None:
                self._spawn(partial(self.room_loop.demo_session, room), f"demo-{room.config.id}")
        self._spawn(self.room_loop.ticker, "ticker")
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
        self.devices.close(list(self.rooms.values()))

    def _spawn(self, factory: Callable[[], Awaitable[None]], name: str) -> None:
        """A long-lived task under the supervisor: `factory()` again after each failure."""
        self.supervisor.spawn(name, factory)

    # -- controls (the room loop applies them: monitor/room_loop.py) -------------------------
    def control(self, room_id: str, control: Control) -> None:
        """Queue a control for the room (fire and forget: notifier, storage alarms)."""
        self.room_loop.control(room_id, control)

    async def control_outcome(
        self, room_id: str, control: Control, timeout_s: float = CONTROL_WAIT_S
    ) -> str | None:
        """Queue a control and wait for the core's outcome; None when the room's consumer
        did not get to it within `timeout_s` (it stays queued and is applied later)."""
        return await self.room_loop.control_outcome(room_id, control, timeout_s)

    # -- views (monitor/health.py) ----------------------------------------------------------
    def room_view(self, room: Room) -> dict[str, Any]:
        return self.status.room_view(room)

    def device_view(self, dev: Device) -> dict[str, Any]:
        return self.status.device_view(dev)

    def status_line(self) -> str:
        return self.status.status_line()

    def health(self) -> dict[str, Any]:
        return self.status.health()
