"""Which device link changes deserve a log line: one per change, never one per retry.

A driver that cannot open its port reports `connecting` then `disconnected` on every retry
(with backoff, forever). Logging each would bury the reason; logging none leaves the console
silent about an unplugged cuff (the QA walkthrough's finding). So: the first failure and
every change of reason are logged as warnings, a recovery once, and `connecting` never.
"""

from __future__ import annotations

import logging

from monitor.core.models import DeviceState, LinkState


class LinkLog:
    def __init__(self) -> None:
        # What was last logged per (room, device): a repeat of it is not news.
        self._last: dict[tuple[str, str], tuple[LinkState, str]] = {}

    def entry(self, room: str, state: DeviceState) -> tuple[int, str] | None:
        """(log level, message) for this change, or None when it is not worth a line."""
        if state.state == LinkState.CONNECTING:
            return None
        key = (room, state.source)
        previous = self._last.get(key)
        if state.state == LinkState.CONNECTED:
            self._last[key] = (state.state, "")
            if previous is None or previous[0] == LinkState.CONNECTED:
                return None  # the normal start: nothing to report
            return logging.WARNING, f"room {room}: device {state.source} connected again"
        current = (state.state, state.detail)
        if previous == current:
            return None
        self._last[key] = current
        reason = f": {state.detail}" if state.detail else ""
        return logging.WARNING, f"room {room}: device {state.source} {state.state.value}{reason}"


class RepeatFilter:
    """Say a recurring failure once until it changes or stops (e.g. a cuff command that
    fails on every BP schedule tick while the cuff is unplugged)."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def failed(self, key: str, message: str) -> bool:
        """True when `message` is news for `key` (log it); False for a repeat."""
        if self._last.get(key) == message:
            return False
        self._last[key] = message
        return True

    def succeeded(self, key: str) -> None:
        self._last.pop(key, None)
