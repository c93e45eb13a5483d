"""Progress reporting for long exports: renderers call `tick(n)` after n more readings."""

from __future__ import annotations

from collections.abc import Callable

Tick = Callable[[int], None]


def no_tick(n: int) -> None:
    """The default: nobody is watching."""
