"""The composition root's adapters: the running Vigil's parts seen through the small protocols
other packages depend on (docs/architecture.md). The only place that knows both sides.

Paging (alerts) depends on `alerts.host.PagingHost`; `RuntimePaging` gives it the hub (live
stream), the recorder (journal first, then InfluxDB), the rooms' control queues and their
dose times. `build_notifier` wires the notifier and the optional alarm manager. The runtime
(monitor/runtime.py) calls it with its parts: this module does not know the runtime back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.notifier import Notifier
from monitor.config import Settings
from monitor.core.models import Control
from monitor.hl7out.alarm_manager import AlarmManager
from monitor.hub import Hub
from monitor.rooms import Room
from monitor.store.recorder import Recorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuntimePaging:
    """`alerts.host.PagingHost` for the live runtime."""

    hub: Hub
    recorder: Recorder
    rooms: Mapping[str, Room]

    def publish(self, message: dict[str, Any]) -> None:
        self.hub.publish(message)

    def record(self, message: dict[str, Any]) -> None:
        self.recorder.notification(message)

    def inject(self, room: str, control: Control) -> None:
        # Onto the room's queue: its consumer (monitor/room_loop.py) owns its alarm state.
        self.rooms[room].queue.put_nowait(control)

    def dose_time(self, room: str) -> float | None:
        r = self.rooms.get(room)
        return None if r is None else r.pipeline.dose_t


def build_notifier(
    s: Settings,
    *,
    hub: Hub,
    recorder: Recorder,
    rooms: Mapping[str, Room],
    clock: Callable[[], float],
) -> Notifier:
    """The notifier wired to the live runtime (rooms, hub, journal)."""
    host = "127.0.0.1" if s.host in ("0.0.0.0", "::") else s.host
    if s.alerts.contacts and not s.alerts.ack_base_url and host.startswith("127."):
        log.warning(
            "acknowledge links point at http://%s:%s, which phones cannot reach: "
            "set alerts.ack_base_url",
            host,
            s.port,
        )
    paging = RuntimePaging(hub, recorder, rooms)
    notifier = Notifier(
        s.alerts,
        base_url=f"http://{host}:{s.port}",
        room_names={r.id: r.name or r.id for r in s.rooms},
        host=paging,
        clock=clock,
    )
    if s.alerts.alarm_manager.enabled:
        notifier.alarm_manager = AlarmManager(
            s.alerts.alarm_manager,
            recorder.journal,  # the outbox: alarms are journaled before published
            retry_attempts=s.alerts.retry_attempts,
            inject=paging.inject,
            record=notifier.record,
            clock=clock,
            phones_failing=notifier.phones_failing,
        )
    return notifier
