"""Fan-out of live messages to stream subscribers (dashboards, phones, tests).

Each message is encoded once (as a Server-Sent Events chunk) and the same bytes go to every
subscriber that watches its room; readings are coalesced per room first
(monitor/stream_coalescing.py), transitions never wait. A subscriber names the rooms it
watches (None: every room); messages without a room (heartbeats) go to everyone.

A subscriber that cannot keep up is cut off (more than `MAX_QUEUED_BYTES` waiting) rather
than slowing the rooms: the dashboard then reconnects and reloads the state, and says so
while it does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from drivers.byte_queue import ByteQueue
from monitor.stream_coalescing import ROOM_INTERVAL_S, StreamCoalescer

log = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 4 * 1024 * 1024  # several seconds of every room at 1,000 rooms
_ORJSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json_default(obj: object) -> object:
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    return str(obj)  # never let one odd value stop the stream


def encode_json(value: object) -> bytes:
    """JSON on one line, as the stream sends it (NaN → null, sets sorted, odd values as text)."""
    return orjson.dumps(value, default=_json_default, option=_ORJSON)


def encode_event(message: dict[str, Any]) -> bytes:
    """One SSE event: `event: <type>` and the message as JSON (NaN → null)."""
    kind = str(message.get("type", "message")).replace("\n", " ")
    return b"event: " + kind.encode() + b"\ndata: " + encode_json(message) + b"\n\n"


class Subscription:
    """One client's outbox: encoded chunks, taken all at once by the stream."""

    def __init__(self, rooms: frozenset[str] | None) -> None:
        self.rooms = rooms
        self._outbox = ByteQueue()

    @property
    def queued_bytes(self) -> int:
        return self._outbox.size

    def push(self, data: bytes) -> bool:
        """Queue bytes; False when the client is too far behind (the caller ends it)."""
        if self._outbox.size + len(data) > MAX_QUEUED_BYTES and not self._outbox.closed:
            return False
        self._outbox.put(data)
        return True

    def end(self) -> None:
        """Drop what is queued; `get` returns None (the client reconnects for a snapshot)."""
        self._outbox.close(drop=True)

    async def get(self) -> bytes | None:
        """Everything queued so far, waiting for something; None when the stream is over."""
        return await self._outbox.get()


class Hub:
    def __init__(self, room_interval_s: float = ROOM_INTERVAL_S) -> None:
        self._everything: set[Subscription] = set()  # subscribers of every room
        self._by_room: dict[str, set[Subscription]] = {}
        # Called with every message before fan-out (the journal records what others publish).
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._coalescer = StreamCoalescer(room_interval_s)
        self._timer: asyncio.Handle | None = None
        self._timer_at = 0.0
        self._closed = False

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def subscribe(self, rooms: Iterable[str] | None = None) -> Subscription:
        """A new outbox for the messages of `rooms` (None: every room)."""
        sub = Subscription(None if rooms is None else frozenset(rooms))
        if self._closed:
            sub.end()  # shutting down: the stream ends after its snapshot
        elif sub.rooms is None:
            self._everything.add(sub)
        else:
            for room in sub.rooms:
                self._by_room.setdefault(room, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._everything.discard(sub)
        for room in sub.rooms or ():
            watchers = self._by_room.get(room)
            if watchers is not None:
                watchers.discard(sub)
                if not watchers:
                    del self._by_room[room]

    def close(self) -> None:
        """End every stream (the server is stopping): open dashboards would otherwise hold
        their connections until the server cancels them, with a traceback each."""
        self._closed = True
        for sub in self._all():
            self._end(sub)
        if self._timer is not None:
            self._timer.cancel()

    def publish(self, message: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(message)
            except Exception:  # a failing listener must not stop the live stream
                log.exception("hub listener failed on %s", message.get("type"))
        room = message.get("room")
        if not self._everything and (not isinstance(room, str) or room not in self._by_room):
            if room is None and self._by_room:
                self._send([message])  # a heartbeat to room-filtered subscribers
            return  # nobody watches: no coalescing, no encoding
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script or a unit test): nothing can wait
            self._send([message])
            return
        try:
            out = self._coalescer.offer(message, loop.time())
            if out:
                self._send(out)
            self._schedule(loop)
        except Exception:  # a stream fault must never reach the room that published
            log.exception("stream: cannot pass on a %s message", message.get("type"))

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        when = self._coalescer.next_due()
        if when is None or self._closed:
            return
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        # uvloop hands back a plain Handle (no .when()) for a time already past: keep our own.
        self._timer, self._timer_at = loop.call_at(when, self._flush, loop), when

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        try:
            out = self._coalescer.due(loop.time())
            if out:
                self._send(out)
        except Exception:  # the stream must not stop for one bad batch; the rooms never do
            log.exception("stream: flushing readings failed")
        self._schedule(loop)

    def _send(self, messages: list[dict[str, Any]]) -> None:
        """Encode each message once; one chunk per subscriber for the whole batch."""
        chunks: list[tuple[object, bytes]] = []
        for m in messages:
            try:
                chunks.append((m.get("room"), encode_event(m)))
            except Exception:  # one unencodable message must not stop the others
                log.exception("stream: cannot encode a %s message", m.get("type"))
        if not chunks:
            return
        if self._everything:
            batch = chunks[0][1] if len(chunks) == 1 else b"".join(c for _, c in chunks)
            for sub in list(self._everything):
                if not sub.push(batch):
                    self._end(sub)
        if not self._by_room:
            return
        per_sub: dict[Subscription, list[bytes]] = {}
        filtered: set[Subscription] | None = None
        for room, chunk in chunks:
            if isinstance(room, str):
                watchers: Iterable[Subscription] = self._by_room.get(room, ())
            else:  # no room (heartbeat): every room-filtered subscriber
                if filtered is None:
                    filtered = set().union(*self._by_room.values())
                watchers = filtered
            for sub in watchers:
                per_sub.setdefault(sub, []).append(chunk)
        for sub, parts in per_sub.items():
            if not sub.push(parts[0] if len(parts) == 1 else b"".join(parts)):
                self._end(sub)

    def _all(self) -> set[Subscription]:
        return self._everything.union(*self._by_room.values())

    def _end(self, sub: Subscription) -> None:
        self.unsubscribe(sub)
        sub.end()

    @property
    def subscribers(self) -> int:
        return len(self._all())
