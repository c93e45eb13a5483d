"""One live-stream snapshot for every client that connects in the same moment, built in
slices so that the rooms keep running meanwhile.

A snapshot of 1,000 rooms takes 40-300 ms of the event loop to build and encode (~3 MB;
more on a loaded box). When 200 dashboards (re)connect together, building one per client stalls
every room for a minute: clients that ask within `window_s` of each other, for the same
rooms, get the same encoded bytes, built once; and a new build waits at least `SPACING`
times as long as the last one took, so snapshots take at most a third of the loop.

Even one build in one go held the loop that long, and no room's reading or alarm reached any
screen meanwhile. So a
build is a sequence of pieces (`snapshot_parts`: one room's view, made and encoded, each) and
the loop is handed back whenever `SLICE_S` of work has run: no stretch of snapshot work holds
it longer than a slice and one room.

Handing it over is work too: each client's copy goes through the server's chunked encoding
(a copy of the whole) and a socket write, and every client that shared a build wakes in the
same turn of the loop: 200 × 3 MB was half of a 1.2-s stall in the live benchmark. So at most
`HANDOUTS_PER_TURN` clients get theirs per turn (`PerTurn`); the others wait a turn or more.
Each copy still goes whole to its transport, which sends it as the client reads, off the loop
(in small pieces, one per turn of a busy loop, clients fell 4 MB behind and were cut off).

Order: callers subscribe to the hub *before* asking, and the build starts after every sharing
client has subscribed, so nothing published falls between a client's snapshot and its first
message. What is published while the build runs is queued to those clients and arrives after
the snapshot; for a room whose view was made after it, the client gets a message the snapshot
already shows. That is harmless because every stream message *sets* state, never adds to it
(a condition's alarm state, the phase, a link's state, a channel's latest reading; see
dashboards/live/state.js): applied in order after the snapshot, the room's messages end at
its current state, as they would after a snapshot built in one go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from monitor.hub import encode_json

SHARE_WINDOW_S = 0.05  # how long a first client waits for others to share its snapshot
SPACING = 2.0  # idle time after a build, in multiples of its cost
# Longest run of snapshot work before the loop is handed back. A room's view takes 0.1-0.3 ms
# here, so a slice is a few dozen rooms; the rooms' own work is a few ms per batch.
SLICE_S = 0.01

# Clients handed the snapshot per turn of the loop: 8 × 3 MB is ~10-30 ms of copying here,
# and 200 clients have theirs within 25 turns.
HANDOUTS_PER_TURN = 8

Key = frozenset[str] | None  # the watched rooms (None: every room)
Build = Callable[[], Iterable[bytes]]  # the snapshot's encoded pieces, made as they are asked for


def snapshot_parts(views: Iterable[dict[str, Any]], **fields: object) -> Iterator[bytes]:
    """The stream's `snapshot` event in pieces: a head with `fields`, then one piece per room
    view (`views` is iterated lazily, so each room's view is made when its piece is asked
    for), then the tail. Joined, it is the event `encode_event` makes of
    {"type": "snapshot", **fields, "rooms": [*views]}."""
    head = encode_json({"type": "snapshot", **fields})  # b'{"type":"snapshot",...}'
    yield b"event: snapshot\ndata: " + head[:-1] + b',"rooms":['
    sep = b""
    for view in views:
        yield sep + encode_json(view)
        sep = b","
    yield b"]}\n\n"


class PerTurn:
    """Lets at most `limit` callers through per turn of the event loop; the others wait for
    the following turns (in the order they asked, as far as the loop keeps it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._passed = 0  # callers let through this turn

    async def wait(self) -> None:
        while self._passed >= self.limit:
            await asyncio.sleep(0)  # the next turn: the reset below ran first in it
        if self._passed == 0:
            # Runs at the start of the next turn (callbacks queued in a turn run in the next),
            # ahead of the callers that sleep(0)-ed after it was queued.
            asyncio.get_running_loop().call_soon(self._reset)
        self._passed += 1

    def _reset(self) -> None:
        self._passed = 0


class SnapshotShare:
    def __init__(
        self,
        window_s: float = SHARE_WINDOW_S,
        slice_s: float = SLICE_S,
        handouts_per_turn: int = HANDOUTS_PER_TURN,
    ) -> None:
        self.window_s = window_s
        self.slice_s = slice_s
        self._handouts = PerTurn(handouts_per_turn)
        self._pending: dict[Key, asyncio.Future[bytes]] = {}
        self._running: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references
        # One build at a time: clients that connect while one runs wait for the next, shared
        # (builds side by side would each take longer and share less, as when a reconnect
        # storm met a build that no longer blocks the loop).
        self._one_at_a_time = asyncio.Lock()
        self._last_end = 0.0  # loop time when the last build finished
        self._last_cost = 0.0  # the loop time it took (s), its slices summed
        self.builds = 0

    async def get(self, rooms: Key, build: Build) -> bytes:
        """The encoded snapshot of `rooms`, built from `build`'s pieces once for everyone
        waiting."""
        future = self._pending.get(rooms)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._pending[rooms] = future
            task = loop.create_task(self._run(rooms, future, build))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        # Shielded: one client hanging up must not cancel the others' snapshot.
        data = await asyncio.shield(future)
        await self._handouts.wait()  # the caller sends it in this same turn: a few per turn
        return data

    async def _run(self, rooms: Key, future: asyncio.Future[bytes], build: Build) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.window_s)  # others connecting in this moment share it
            async with self._one_at_a_time:
                idle = self._last_end + SPACING * self._last_cost - loop.time()
                if idle > 0:
                    await asyncio.sleep(idle)
                if self._pending.get(rooms) is future:
                    del self._pending[rooms]  # clients from now on subscribed after it began
                data = await self._build(build)
        except asyncio.CancelledError:  # the server stops: its streams end with it
            future.cancel()
            raise
        except Exception as exc:  # every waiting stream fails with it, as one alone would
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(data)

    async def _build(self, build: Build) -> bytes:
        parts: list[bytes] = []
        cost = 0.0
        t0 = time.perf_counter()
        try:
            for part in build():
                parts.append(part)
                held = time.perf_counter() - t0
                if held >= self.slice_s:
                    cost += held
                    await asyncio.sleep(0)  # the rooms, the stream and the server run
                    t0 = time.perf_counter()
            return b"".join(parts)
        finally:
            self._last_cost = cost + time.perf_counter() - t0
            self._last_end = asyncio.get_running_loop().time()
            self.builds += 1
