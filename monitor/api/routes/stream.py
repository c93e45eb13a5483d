"""The live stream (Server-Sent Events): readings, alarm transitions, phases, heartbeats.

The first message is a `snapshot` of the watched rooms, so a (re)connecting client never
shows stale state. A heartbeat arrives every second; a client that misses them knows the
stream is dead and says so. `?rooms=A,B` watches those rooms only (a nurse's phone); without
it, every room. Readings arrive coalesced per room (a few updates a second at most); alarm,
phase and device messages at once (monitor/hub.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from monitor.api.deps import Viewer, VigilDep
from monitor.runtime import Vigil
from monitor.stream_snapshot import snapshot_parts

router = APIRouter(prefix="/api", tags=["stream"])


def _snapshot(vigil: Vigil, watched: list[str] | None) -> Iterator[bytes]:
    """The snapshot in pieces, each room's view made when its piece is asked for (the build
    hands the loop back between them: monitor/stream_snapshot.py)."""
    shown = list(vigil.rooms.values()) if watched is None else [vigil.rooms[r] for r in watched]
    views = (vigil.room_view(r) for r in shown)
    # The clinic's timezone rides along: the page shows every clock time in it.
    return snapshot_parts(views, timezone=vigil.settings.timezone)


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    vigil: VigilDep,
    user: Viewer,
    rooms: Annotated[
        str | None, Query(description="Comma-separated room ids to watch (default: every room).")
    ] = None,
) -> StreamingResponse:
    watched: list[str] | None = None
    if rooms is not None:
        watched = list(dict.fromkeys(r.strip() for r in rooms.split(",") if r.strip()))
        unknown = [r for r in watched if r not in vigil.rooms]
        if not watched:
            raise HTTPException(422, "rooms: give at least one room id, or leave rooms out")
        if unknown:
            raise HTTPException(422, f"rooms: unknown room(s) {', '.join(unknown)}")

    # The bytes go out as they are: encoded once by the hub for every client, not per client.
    async def events() -> AsyncIterator[bytes]:
        sub = vigil.hub.subscribe(watched)  # before the snapshot: nothing falls in between
        try:
            # Built once for every client connecting in the same moment (a reconnect storm
            # of 200 dashboards must not build 200 snapshots): monitor/stream_snapshot.py.
            key = None if watched is None else frozenset(watched)
            # Handed over whole, a few clients per turn of the loop: monitor/stream_snapshot.py.
            yield await vigil.snapshots.get(key, partial(_snapshot, vigil, watched))
            while (data := await sub.get()) is not None:
                yield data
            # None: we fell behind or the server stops; the client reconnects for a snapshot
        finally:
            vigil.hub.unsubscribe(sub)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
