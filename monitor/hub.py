"""Fan-out of live messages to stream subscribers (dashboards, tests).

Each subscriber has a bounded queue. A subscriber that cannot keep up is cut off (its queue
gets a final `lagged` message) rather than slowing the rooms: the dashboard then reconnects
and reloads the state, and says so while it does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 10_000


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        # Called with every message before fan-out (the journal records what others publish).
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._closed = False

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        if self._closed:
            q.put_nowait(None)  # shutting down: the stream ends after its snapshot
        else:
            self._subscribers.add(q)
        return q

    def close(self) -> None:
        """End every stream (the server is stopping): open dashboards would otherwise hold
        their connections until the server cancels them, with a traceback each."""
        self._closed = True
        for q in list(self._subscribers):
            self._end(q)

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(q)

    def publish(self, message: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(message)
            except Exception:  # a failing listener must not stop the live stream
                log.exception("hub listener failed on %s", message.get("type"))
        for q in list(self._subscribers):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:
                self._end(q)

    def _end(self, q: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(q)
        while not q.empty():
            q.get_nowait()
        q.put_nowait(None)  # tells the stream to end; the client reconnects

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
