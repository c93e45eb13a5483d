"""The live stream (Server-Sent Events): readings, alarm transitions, phases, heartbeats.

The first message is a `snapshot` of every room, so a (re)connecting client never shows
stale state. A heartbeat arrives every second; a client that misses them knows the stream is
dead and says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from monitor.api.deps import Viewer, VigilDep

router = APIRouter(prefix="/api", tags=["stream"])


@router.get("/stream", response_class=EventSourceResponse)
async def stream(request: Request, vigil: VigilDep, user: Viewer) -> AsyncIterable[ServerSentEvent]:
    q = vigil.hub.subscribe()
    try:
        rooms = [vigil.room_view(r) for r in vigil.rooms.values()]
        snapshot = {"type": "snapshot", "rooms": rooms, "timezone": vigil.settings.timezone}
        yield ServerSentEvent(event="snapshot", data=snapshot)
        while True:
            message = await q.get()
            if message is None:  # we fell behind; the client reconnects and gets a snapshot
                return
            yield ServerSentEvent(event=message["type"], data=message)
    finally:
        vigil.hub.unsubscribe(q)
