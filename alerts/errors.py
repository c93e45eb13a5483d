"""Every exception paging raises, under one root (the tree is in alerts/__init__.py).

Stdlib only. The root carries, beside the text, the channel it is about when there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerts.tokens import TokenProblem


class AlertError(Exception):
    """The root of paging's exceptions. `message`: what happened, never a key or a token;
    `channel`: the channel it is about ("pushover", ...), None when none."""

    channel: str | None = None

    def __init__(self, message: str = "", *, channel: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if channel is not None:
            self.channel = channel


class PushoverError(AlertError):
    """The API refused a call or could not be reached; the text names why, never a key."""

    channel = "pushover"


class PagingStalled(AlertError):
    """The paging thread's event loop has stopped answering: pages cannot leave
    (alerts/paging_thread.py)."""


class TokenError(AlertError):
    """An acknowledge token was refused; `problem` says why."""

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem
