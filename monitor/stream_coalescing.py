"""When a live-stream message goes out: readings coalesced per room, everything else at once.

A room's readings are held at most `room_interval_s` after the room's last update (newest
value per channel and source wins), so a screen of 1,000 rooms gets a few updates per second
per room, however fast the devices send. Every other message (alarm, phase, device, BP
request, notification, heartbeat) leaves at once; a room's held readings leave just before
it, so a client still sees that room's messages in the order they happened.

Held readings of many rooms leave together, at most once per `batch_s`, so the hub writes one
chunk per client per batch instead of one per reading. Pure: the caller passes the time and
asks when to call back (`next_due`); no clock, no I/O.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

Message = dict[str, Any]

ROOM_INTERVAL_S = 0.25  # at most 4 reading updates per second per room
BATCH_S = 0.02  # readings of different rooms leave together, at most 50 times a second


class StreamCoalescer:
    def __init__(self, room_interval_s: float = ROOM_INTERVAL_S, batch_s: float = BATCH_S):
        if room_interval_s < 0 or batch_s < 0:
            raise ValueError("room_interval_s and batch_s must be >= 0")
        self.room_interval_s = room_interval_s
        self.batch_s = batch_s
        # room → (channel, source) → newest reading; dicts keep the arrival order.
        self._held: dict[str, dict[tuple[Any, Any], Message]] = {}
        self._due: dict[str, float] = {}  # room → when its held readings may leave
        self._heap: list[tuple[float, str]] = []  # (due, room); stale entries skipped
        self._last_sent: dict[str, float] = {}
        self._last_batch = -math.inf

    def offer(self, message: Message, now: float) -> list[Message]:
        """The messages to send now, in order ([] when `message` is held)."""
        room = message.get("room")
        if not isinstance(room, str):
            return [message]
        if message.get("type") == "reading":
            held = self._held.setdefault(room, {})
            key = (message.get("channel"), message.get("source"))
            held.pop(key, None)  # the newest value goes to the back: arrival order kept
            held[key] = message
            if room not in self._due:
                due = max(now, self._last_sent.get(room, -math.inf) + self.room_interval_s)
                self._due[room] = due
                heapq.heappush(self._heap, (due, room))
            return []
        if room in self._held:  # never behind this room's own earlier readings
            out = self._release(room, now)
            out.append(message)
            return out
        return [message]

    def next_due(self) -> float | None:
        """When `due()` has readings to release (None: nothing is held)."""
        heap = self._heap
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        if not heap:
            return None
        return max(heap[0][0], self._last_batch + self.batch_s)

    def due(self, now: float) -> list[Message]:
        """The held readings whose time has come (every such room's, room after room)."""
        when = self.next_due()
        if when is None or now < when:
            return []
        out: list[Message] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, room = heapq.heappop(heap)
            if self._due.get(room) == due:
                out.extend(self._release(room, now))
        self._last_batch = now
        return out

    def _release(self, room: str, now: float) -> list[Message]:
        self._due.pop(room, None)
        self._last_sent[room] = now
        return list(self._held.pop(room).values())
