"""The pure core's exceptions, under one root (the tree is in monitor/core/__init__.py).

monitor.core imports nothing outside itself, so its root is its own (not monitor.errors).
"""

from __future__ import annotations


class CoreError(Exception):
    """The root of the core's exceptions. `message`: what happened."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class RecordingError(CoreError, ValueError):
    """A recording line that cannot be read; names the line (`line_no`) and the field."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no
        self.message = message
