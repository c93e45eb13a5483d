"""A long-lived loop stops once asked to, even when a library swallowed the request.

On Python 3.11 `asyncio.wait_for` swallows a cancellation that arrives just as its awaitable
finishes (CPython gh-86296, fixed in 3.12). Vigil uses `asyncio.timeout` instead, but bumble
and bleak call `wait_for` inside our tasks, so a driver told to stop could carry on retrying
forever. The request is still on record (`Task.cancelling()` stays above zero when the
CancelledError was swallowed); a retry loop checks it on every round.
"""

from __future__ import annotations

import asyncio


def stop_if_asked() -> None:
    """Raise CancelledError when the current task was asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
