"""One live-stream snapshot for every client that connects in the same moment.

A snapshot of 1,000 rooms takes a few hundred milliseconds of the event loop to build and
encode (and is ~4 MB). When 200 dashboards (re)connect together, building one per client
stalls every room for a minute. Clients that ask within `window_s` of each other, for the
same rooms, get the same encoded bytes, built once; and a new build waits at least
`SPACING` times as long as the last one took, so snapshots take at most a third of the loop
(the rooms' readings and alarms get the rest).

Callers subscribe to the hub *before* asking: the build runs after every sharing client has
subscribed, so nothing published falls between a client's snapshot and its first message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

SHARE_WINDOW_S = 0.05  # how long a first client waits for others to share its snapshot
SPACING = 2.0  # idle time after a build, in multiples of its cost

Key = frozenset[str] | None  # the watched rooms (None: every room)


class SnapshotShare:
    def __init__(self, window_s: float = SHARE_WINDOW_S) -> None:
        self.window_s = window_s
        self._pending: dict[Key, asyncio.Future[bytes]] = {}
        self._last_end = 0.0  # loop time when the last build finished
        self._last_cost = 0.0  # how long it took (s)
        self.builds = 0

    async def get(self, rooms: Key, build: Callable[[], bytes]) -> bytes:
        """The encoded snapshot of `rooms`, built by `build` once for everyone waiting."""
        future = self._pending.get(rooms)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._pending[rooms] = future
            now = loop.time()
            delay = max(self.window_s, self._last_end + SPACING * self._last_cost - now)
            loop.call_later(delay, self._build, rooms, future, build)
        # Shielded: one client hanging up must not cancel the others' snapshot.
        return await asyncio.shield(future)

    def _build(self, rooms: Key, future: asyncio.Future[bytes], build: Callable[[], bytes]) -> None:
        if self._pending.get(rooms) is future:
            del self._pending[rooms]  # clients from now on subscribed after this build
        t0 = time.perf_counter()
        try:
            data = build()
        except Exception as exc:  # every waiting stream fails with it, as one alone would
            if not future.done():
                future.set_exception(exc)
            return
        finally:
            self._last_cost = time.perf_counter() - t0
            self._last_end = asyncio.get_running_loop().time()
            self.builds += 1
        if not future.done():
            future.set_result(data)
