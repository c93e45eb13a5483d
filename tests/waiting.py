"""Waiting for a positive marker: the one polling helper of the suite.

`wait_for` blocks (for tests that watch another process: a Vigil under uvicorn, a
simulator); `wait_for_async` awaits (for tests whose subject runs on their own event loop).
Both take the same arguments in the same order: the condition, the time allowed, and what is
awaited (a text, or a function giving the text, e.g. the state the test saw last), and return
the condition's first truthy value. Timing out fails the test naming what was awaited.

Never use them, or a fixed sleep, to show that something did *not* happen: test the pure
policy on a timeline (tests/core/test_latch.py) or wait for a later positive marker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
What = str | Callable[[], object]


def _polls(cond: Callable[[], T], timeout_s: float, what: What) -> Iterator[T]:
    """The condition's value each time it is asked; fails the test once the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        yield cond()
        if time.monotonic() >= deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {text}")


def wait_for(
    cond: Callable[[], T],
    timeout_s: float = 10.0,
    what: What = "the condition",
    *,
    every_s: float = 0.1,
) -> T:
    for value in _polls(cond, timeout_s, what):
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("unreachable")


async def wait_for_async(
    cond: Callable[[], T],
    timeout_s: float = 10.0,
    what: What = "the condition",
    *,
    every_s: float = 0.01,
) -> T:
    for value in _polls(cond, timeout_s, what):
        if value:
            return value
        await asyncio.sleep(every_s)
    raise AssertionError("unreachable")
