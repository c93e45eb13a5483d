"""`kill -USR1 <pid>`: what every thread and every task of a running `vigil run` is doing.

For a service that will not stop, or seems stuck, where a debugger cannot be attached. The
threads' stacks are written to stderr by `faulthandler` from the signal itself, so they come
even when the event loop is blocked; the tasks' stacks (where each coroutine is awaiting)
follow on the console log as soon as the loop runs again. Nothing else changes: the service
carries on.
"""

from __future__ import annotations

import asyncio
import faulthandler
import io
import logging
import signal
import sys
from typing import Any

log = logging.getLogger(__name__)

SIGNAL = signal.SIGUSR1
_MAX_DEPTH = 40  # coroutines awaiting coroutines, outermost first


def install(loop: asyncio.AbstractEventLoop) -> None:
    """On SIGUSR1: the threads now (stderr), the tasks once the loop runs (the log). Call
    from the main thread, inside the running loop."""
    loop.add_signal_handler(SIGNAL, dump_tasks)
    # After the loop's handler, chained to it: faulthandler's C handler writes the threads
    # and then lets the loop's handler see the signal too.
    faulthandler.register(SIGNAL, file=sys.stderr, all_threads=True, chain=True)


def describe_tasks() -> str:
    """Every task of the running loop: its name, and the chain of coroutines down to where
    it waits (`Task.print_stack` shows only the outermost one)."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    out.write(f"{len(tasks)} task(s)\n")
    for task in tasks:
        out.write(f"--- task {task.get_name()}{' (cancelling)' if task.cancelling() else ''}\n")
        awaiting: Any = task.get_coro()
        for _ in range(_MAX_DEPTH):
            frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
            if frame is None:  # a future, or a coroutine object without a frame (a C one)
                if awaiting is not None:
                    out.write(f"  waiting for {awaiting!r}\n")
                break
            code = frame.f_code
            out.write(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}\n")
            awaiting = getattr(awaiting, "cr_await", None) or getattr(
                awaiting, "gi_yieldfrom", None
            )
    return out.getvalue()


def dump_tasks() -> None:
    log.warning("task dump (SIGUSR1):\n%s", describe_tasks())
