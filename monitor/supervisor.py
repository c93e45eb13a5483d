"""Every long-lived task (drivers, room loops, forwarder, notifier, ticker, simulators) runs
under one supervisor, so that none can die unnoticed.

An unexpected exception restarts the task after a backoff (doubling, capped), and the task
counts as `failed` from the exception until it has run `stable_s` without another one: a
task that keeps failing stays failed (and visible in /api/health and on the console), and
one that fails every few seconds does not flap between failed and ok. The owner hears of
each failure (`on_failure(reason)`) and of the recovery (`on_recovery()`): the runtime
turns a driver's into the device's `failed` state and the room's `device_failed` alarm.

A task that returns normally is done (a demo session's script); cancellation is a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
#: A restarted task that runs this long without failing has recovered.
STABLE_S = 10.0
# A task still running this long after it was cancelled is cancelled again (stop()).
STOP_RETRY_S = 2.0


@dataclass(frozen=True, slots=True)
class Backoff:
    start_s: float = BACKOFF_START_S
    max_s: float = BACKOFF_MAX_S

    def delay(self, failures: int) -> float:
        """The wait before restart number `failures` (1 = after the first failure)."""
        return min(self.start_s * 2.0 ** max(failures - 1, 0), self.max_s)


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """What /api/health says about one supervised task."""

    state: str  # running | failed | done
    failures: int = 0  # consecutive failures; 0 once it has recovered
    restarts: int = 0  # since Vigil started
    reason: str = ""  # the last failure, "ExcType: message"
    since: float | None = None  # when the current failure began

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "failures": self.failures,
            "restarts": self.restarts,
            "reason": self.reason,
            "since": self.since,
        }


def describe(exc: BaseException) -> str:
    """One line naming the exception: what staff and IT see as the reason."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Supervisor:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        stable_s: float = STABLE_S,
    ) -> None:
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.stable_s = stable_s
        self.status: dict[str, TaskStatus] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def spawn(
        self,
        name: str,
        factory: Callable[[], Awaitable[None]],
        *,
        on_failure: Callable[[str], None] | None = None,
        on_recovery: Callable[[], None] | None = None,
    ) -> asyncio.Task[None]:
        """Run `factory()` as task `name` (unique), restarting it after each exception."""
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already supervised")
        self.status[name] = TaskStatus("running")
        task = asyncio.create_task(self._run(name, factory, on_failure, on_recovery), name=name)
        self._tasks[name] = task
        return task

    def failing(self, name: str) -> bool:
        return self.status.get(name, TaskStatus("running")).state == "failed"

    def health(self) -> dict[str, Any]:
        """`error` naming every failed task; the others are only counted."""
        failed = {n: s.to_dict() for n, s in self.status.items() if s.state == "failed"}
        return {
            "status": "error" if failed else "ok",
            "running": sum(s.state == "running" for s in self.status.values()),
            "failed": failed,
        }

    async def stop(self) -> None:
        """Cancel every task and wait for them, asking again while one goes on: on Python
        3.11 a library's `asyncio.wait_for` may swallow the request (drivers/stopping.py)."""
        tasks = set(self._tasks.values())
        while tasks:
            for task in tasks:
                task.cancel()
            _, tasks = await asyncio.wait(tasks, timeout=STOP_RETRY_S)
            for task in tasks:
                log.warning("task %s did not stop when asked: asking again", task.get_name())
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        self._tasks.clear()

    async def _run(
        self,
        name: str,
        factory: Callable[[], Awaitable[None]],
        on_failure: Callable[[str], None] | None,
        on_recovery: Callable[[], None] | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            st = self.status[name]
            timer = (
                loop.call_later(self.stable_s, self._recovered, name, on_recovery)
                if st.state == "failed"
                else None
            )
            try:
                await factory()
            except Exception as exc:
                reason = describe(exc)
                st = self.status[name]
                failures = st.failures + 1
                delay = self.backoff.delay(failures)
                since = st.since if st.state == "failed" else self.clock()
                self.status[name] = TaskStatus("failed", failures, st.restarts + 1, reason, since)
                # The traceback once per new reason; a repeat is one line (with backoff,
                # at most one every BACKOFF_MAX_S).
                log.error(
                    "task %s failed (%d in a row): %s; restarting in %.1f s",
                    name,
                    failures,
                    reason,
                    delay,
                    exc_info=exc if reason != st.reason else None,
                )
                _call(on_failure, name, reason)
                await asyncio.sleep(delay)
                continue
            finally:
                if timer is not None:
                    timer.cancel()
            self.status[name] = TaskStatus("done", restarts=self.status[name].restarts)
            return

    def _recovered(self, name: str, on_recovery: Callable[[], None] | None) -> None:
        st = self.status[name]
        self.status[name] = TaskStatus("running", restarts=st.restarts)
        log.warning("task %s recovered after %d failure(s)", name, st.failures)
        _call(on_recovery, name)


def _call(callback: Callable[..., None] | None, name: str, *args: Any) -> None:
    """An owner's callback failing must not stop the supervision it is part of."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("task %s: failure callback failed", name)
