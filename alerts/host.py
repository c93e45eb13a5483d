"""What paging needs from the rest of Vigil, and nothing more.

The notifier (and the alarm manager beside it) depend on this protocol, not on the runtime:
the composition root (monitor/wiring.py) adapts the running Vigil to it, and tests pass a
small recording host. So alerts import no monitor module but monitor.core.models
(docs/architecture.md).
"""

from __future__ import annotations

from typing import Any, Protocol

from monitor.core.controls import Control
from monitor.core.models import Event


class PagingHost(Protocol):
    def publish(self, message: dict[str, Any]) -> None:
        """Show a record on the live stream (dashboards)."""

    def record(self, message: dict[str, Any]) -> None:
        """Keep a `{"type": "notification"}` record: journaled first (audited, and forwarded to
        InfluxDB as a `notification` point), never written anywhere else directly."""

    def inject(self, room: str, control: Control) -> None:
        """Queue a control into the room's pipeline (acknowledgements, `notify_failed`)."""

    def dose_time(self, room: str) -> float | None:
        """When the room's patient was dosed (shown in pages), None when not (yet)."""


class AlarmReports(Protocol):
    """An output that takes every alarm transition beside the phones (the HL7 alarm manager,
    monitor/hl7out/alarm_manager.py): the notifier wakes it, runs it and shares the room's
    one `notify_failed` with it."""

    failing_rooms: set[str]  # rooms where it raised notify_failed

    def on_event(self, event: Event) -> None: ...

    async def run(self) -> None: ...

    def health(self) -> dict[str, Any]: ...
