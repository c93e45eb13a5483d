"""The room loop: each room's one consumer applies its queue to its pipeline, in order, and
fans out what the pipeline decides.

Every input is recorded (journal first: monitor/store/recorder.py) and shown on the live
stream (monitor/hub.py); every alarm and phase event is recorded, published and handed to
paging; a BP request starts the room's cuffs (monitor/devices.py). What comes back (acks,
`notify_failed`, storage alarms) is a `Control` on the same queue, so the room's pipeline
stays the one owner of its alarm state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from monitor.core.controls import Control, Dose, SessionStart, TechnicalAlarm
from monitor.core.models import (
    AlarmEvent,
    AlarmState,
    DeviceState,
    Event,
    PhaseEvent,
    Reading,
)
from monitor.core.pipeline import PipelineEvent
from monitor.core.schedule import BpRequest
from monitor.devices import Devices
from monitor.hub import Hub
from monitor.link_log import LinkLog
from monitor.restart import Restart
from monitor.rooms import AwaitedControl, Room, RoomCall, driver_sources
from monitor.store.recorder import Recorder

log = logging.getLogger("monitor.runtime")  # the logger these lines always came from

TICK_S = 1.0
CONTROL_WAIT_S = 2.0  # how long the API waits for a room's consumer to apply a control


def raise_storage_alarm(rooms: Mapping[str, Room], event: AlarmEvent) -> None:
    """Storage trouble (`storage_degraded`, `journal_failed`) concerns every room's record:
    each room's core raises it, as it owns alarm state (latching, ack, escalation)."""
    state = "cleared" if event.state == AlarmState.CLEARED else "active"
    control = TechnicalAlarm(event.t, event.condition, state, reason=event.reason, by="storage")
    for room in rooms.values():
        room.queue.put_nowait(control)


class RoomLoop:
    def __init__(
        self,
        rooms: Mapping[str, Room],
        *,
        hub: Hub,
        recorder: Recorder,
        devices: Devices,
        restart: Restart,
        page: Callable[[Event], None],
        clock: Callable[[], float],
    ) -> None:
        self.rooms = rooms
        self.hub = hub
        self.recorder = recorder
        self.devices = devices
        self.restart = restart
        self.page = page  # paging (alerts/notifier.py): cheap, never raises
        self.clock = clock
        # Device trouble on the console: once per change, not once per reconnect attempt.
        self.link_log = LinkLog()

    async def consume(self, room: Room) -> None:
        # A session a stopped run left open is rebuilt first; inputs wait in the queue.
        sources = [s for dev in room.devices for s in driver_sources(dev.driver)]
        self.dispatch(room, await self.restart.resume(room, sources))
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
            self.dispatch(room, events)
            if isinstance(item, RoomCall) and not item.done.done():
                item.done.set_result(None)
            if isinstance(item, Control):
                self.recorder.control_after(rid, item, pipeline.snapshot().to_dict(), outcome)
            if waiter is not None and not waiter.done():  # done: the API gave up waiting
                waiter.set_result(outcome)

    def dispatch(self, room: Room, events: list[PipelineEvent]) -> None:
        for event in events:
            if isinstance(event, BpRequest):
                self.hub.publish(event.to_dict())
                self.devices.start_cuffs(room)
            else:
                self.publish_event(event)

    def publish_event(self, event: AlarmEvent | PhaseEvent) -> None:
        self.recorder.event(event)
        self.hub.publish(event.to_dict())
        self.page(event)

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock()
            for room in self.rooms.values():
                room.queue.put_nowait(now)
            self.hub.publish({"type": "heartbeat", "t": now})

    async def demo_session(self, room: Room) -> None:
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
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(future)
        except TimeoutError:
            return None
