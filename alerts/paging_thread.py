"""An event loop of its own, in a thread of its own, where pages are sent.

Vigil's main event loop also serves the dashboards. At 1,000 rooms a burst of alarm
transitions, each passed to 200 open streams, can hold it for more than a second (README,
"Scaling out"). A page queued on that loop waited its turn three times (the queue, the
delivery's task, the send's task) before its HTTP request even started. On this loop,
which does nothing else, a page starts as soon as the room's pipeline has raised it.

Only the sending lives here (alerts/delivery.py). What it reports goes back to the main
loop, where the journal, the stream and the rooms are (`Deliveries` hands it over).

The work here is awaited from the main loop, under the runtime's supervisor, so a failure
here is a failed part in /api/health and a console line. A loop that stops answering (a
call that blocks it) would hold every page without failing anything: `run` asks it for an
answer every second and fails with `PagingStalled` when none comes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from alerts.errors import PagingStalled

T = TypeVar("T")

CLOSE_TIMEOUT_S = 5.0
CHECK_EVERY_S = 1.0
STALLED_AFTER_S = 5.0


class PagingThread:
    def __init__(self, name: str = "paging") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` there, from any thread (in order, before anything queued later)."""
        self.loop.call_soon_threadsafe(fn, *args)

    @property
    def started(self) -> bool:
        return self._thread.is_alive()

    async def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        check_every_s: float = CHECK_EVERY_S,
        stalled_after_s: float = STALLED_AFTER_S,
    ) -> T:
        """Run `coro` there, awaited from the caller's loop: its result or its exception
        comes back, and cancelling the caller cancels it there. The runtime's supervisor
        thus watches and restarts what runs here like any other part of Vigil. Raises
        `PagingStalled` (and cancels `coro`) when the loop stops answering."""
        if not self._thread.is_alive():
            self._thread.start()  # once: a thread cannot be started again
        work = asyncio.ensure_future(run_on(self.loop, coro))
        try:
            while True:
                done, _ = await asyncio.wait([work], timeout=check_every_s)
                if done:
                    return work.result()
                try:
                    async with asyncio.timeout(stalled_after_s):
                        await run_on(self.loop, _answer())
                except TimeoutError:
                    raise PagingStalled(
                        f"the paging thread's event loop has not answered for "
                        f"{stalled_after_s:g} s: pages cannot be sent"
                    ) from None
        finally:
            work.cancel()

    async def aclose(self) -> None:
        """Cancel what still runs there, wait for it (bounded), stop the thread."""
        if not self._thread.is_alive():
            if not self.loop.is_closed():
                self.loop.close()
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await run_on(self.loop, _cancel_all())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, CLOSE_TIMEOUT_S)
            if not self._thread.is_alive():
                self.loop.close()


async def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Await `coro` run on another thread's `loop`; cancelling the caller cancels it there."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


async def _answer() -> None:
    """Run on the paging loop: that it returns at all is the answer."""


async def _cancel_all() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others)
