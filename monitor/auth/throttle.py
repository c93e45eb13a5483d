"""Slow down password guessing: too many failed logins for one username lock it for a while.

Pure: the caller passes the time. Kept in memory (a restart clears it); argon2 already makes
each guess cost ~0.1 s of CPU, this bounds the number of guesses.
"""

from __future__ import annotations

from collections import deque


class LoginThrottle:
    def __init__(self, max_failures: int = 5, window_s: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, username: str, now: float) -> deque[float]:
        q = self._failures.setdefault(username, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def blocked_for(self, username: str, now: float) -> float:
        """Seconds until `username` may try again (0 when it may try now)."""
        q = self._recent(username, now)
        if len(q) < self.max_failures:
            return 0.0
        return q[-self.max_failures] + self.window_s - now

    def failed(self, username: str, now: float) -> None:
        self._recent(username, now).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)
