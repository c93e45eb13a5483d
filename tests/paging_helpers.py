"""A paging host for notifier tests: keeps what the notifier publishes, records and injects;
and the positive marker the end-to-end paging tests wait for.

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


def repeats_sent_after(messages: list[dict[str, Any]], room: str, t: float) -> list[dict[str, Any]]:
    """`room`'s repeat pages whose first send began after `t` (the server's clock), from the
    `delivery` records on the live stream.

    The marker that the notifier ticked past `t`: one tick plans the repeats of every room,
    so a repeat of another room sent after `t` shows that a page due before `t` would have
    been planned by then (a planned page is sent at once: the send queue is idle in these
    tests). "Nothing more was paged" is then a count, not a fixed sleep.
    """
    return [
        m
        for m in list(messages)
        if m.get("type") == "notification"
        and m["event"] == "delivery"
        and m["room"] == room
        and m["kind"] == "repeat"
        and m["attempt"] == 1
        and m["t"] - m.get("latency_ms", 0.0) / 1000 > t
    ]
