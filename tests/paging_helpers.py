"""A paging host for notifier tests: keeps what the notifier publishes, records and injects.

The notifier's whole view of Vigil is `alerts.host.PagingHost`; the runtime's adapter is
monitor/wiring.py (exercised end to end by tests/alerts/test_paging_e2e.py and
tests/alerts/test_pushover_e2e.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.core.models import Control


@dataclass
class RecordingHost:
    published: list[dict[str, Any]] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    injected: list[tuple[str, Control]] = field(default_factory=list)
    doses: dict[str, float] = field(default_factory=dict)

    def publish(self, message: dict[str, Any]) -> None:
        self.published.append(message)

    def record(self, message: dict[str, Any]) -> None:
        self.recorded.append(message)

    def inject(self, room: str, control: Control) -> None:
        self.injected.append((room, control))

    def dose_time(self, room: str) -> float | None:
        return self.doses.get(room)
