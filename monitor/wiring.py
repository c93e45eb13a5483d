"""The composition root's adapters: the running Vigil seen through the small protocols other
packages depend on (docs/architecture.md). The only place that knows both sides.

Paging (alerts) depends on `alerts.host.PagingHost`; `RuntimePaging` gives it the hub (live
stream), the recorder (journal first, then InfluxDB), the rooms' control queues and their
dose times. `build_notifier` wires the notifier and the optional alarm manager.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alerts.notifier import Notifier
from monitor.core.models import Control
from monitor.hl7out.alarm_manager import AlarmManager

if TYPE_CHECKING:
    from monitor.runtime import Vigil

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuntimePaging:
    """`alerts.host.PagingHost` for the live runtime."""

    vigil: Vigil

    def publish(self, message: dict[str, Any]) -> None:
        self.vigil.hub.publish(message)

    def record(self, message: dict[str, Any]) -> None:
        self.vigil.recorder.notification(message)

    def inject(self, room: str, control: Control) -> None:
        self.vigil.control(room, control)

    def dose_time(self, room: str) -> float | None:
        r = self.vigil.rooms.get(room)
        return None if r is None else r.pipeline.dose_t


def build_notifier(vigil: Vigil) -> Notifier:
    """The notifier wired to the live runtime (rooms, hub, journal)."""
    s = vigil.settings
    host = "127.0.0.1" if s.host in ("0.0.0.0", "::") else s.host
    if s.alerts.contacts and not s.alerts.ack_base_url and host.startswith("127."):
        log.warning(
            "acknowledge links point at http://%s:%s, which phones cannot reach: "
            "set alerts.ack_base_url",
            host,
            s.port,
        )
    notifier = Notifier(
        s.alerts,
        base_url=f"http://{host}:{s.port}",
        room_names={r.id: r.name or r.id for r in s.rooms},
        host=RuntimePaging(vigil),
        clock=vigil.clock,
    )
    if s.alerts.alarm_manager.enabled:
        notifier.alarm_manager = AlarmManager(
            s.alerts.alarm_manager,
            vigil.recorder.journal,  # the outbox: alarms are journaled before published
            retry_attempts=s.alerts.retry_attempts,
            inject=vigil.control,
            record=notifier.record,
            clock=vigil.clock,
            phones_failing=notifier.phones_failing,
        )
    return notifier
