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

log = logging.getLogger(__name__)

SIGNAL = signal.SIGUSR1


def install(loop: asyncio.AbstractEventLoop) -> None:
    """On SIGUSR1: the threads now (stderr), the tasks once the loop runs (the log). Call
    from the main thread, inside the running loop."""
    loop.add_signal_handler(SIGNAL, dump_tasks)
    # After the loop's handler, chained to it: faulthandler's C handler writes the threads
    # and then lets the loop's handler see the signal too.
    faulthandler.register(SIGNAL, file=sys.stderr, all_threads=True, chain=True)


def describe_tasks() -> str:
    """Every task of the running loop: its name and where its coroutine waits."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    out.write(f"{len(tasks)} task(s)\n")
    for task in tasks:
        out.write(f"--- task {task.get_name()}{' (cancelling)' if task.cancelling() else ''}\n")
        task.print_stack(limit=20, file=out)
    return out.getvalue()


def dump_tasks() -> None:
    log.warning("task dump (SIGUSR1):\n%s", describe_tasks())
