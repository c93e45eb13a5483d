"""The notifier's records: every attempt, escalation, acknowledgement, receipt and failure.

Each is a `{"type": "notification"}` message, recorded through the journal first (which
keeps it as an audit entry and forwards it to InfluxDB as a `notification` point), then
shown on the live stream (alerts/host.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from alerts.host import PagingHost

log = logging.getLogger("alerts.notifier")  # the logger these lines always came from


class Record(Protocol):
    def __call__(
        self, event: str, *, room: str, condition: str, t: float | None = None, **fields: Any
    ) -> None: ...


class Recorder:
    def __init__(self, host: PagingHost, clock: Callable[[], float]) -> None:
        self.host = host
        self.clock = clock

    def __call__(
        self, event: str, *, room: str, condition: str, t: float | None = None, **fields: Any
    ) -> None:
        """`t`: when it happened, when that is not now (a delivery's record, handed over from
        the paging thread: alerts/delivery.py)."""
        msg: dict[str, Any] = {
            "type": "notification",
            "t": self.clock() if t is None else t,
            "event": event,
            "room": room,
            "condition": condition,
        }
        msg.update(fields)
        try:  # journal first (it forwards to InfluxDB), then the live stream
            self.host.record(msg)
        except Exception:
            log.exception("notifier: could not record %s", event)
        self.host.publish(msg)
