"""Slow down password guessing: too many failed logins for one username lock it for a while.

Pure: the caller passes the time. Kept in memory (a restart clears it); argon2 already makes
each guess cost ~0.1 s of CPU, this bounds the number of guesses.

Memory is bounded: a lookup never adds an entry, names whose failures are all older than the
window are dropped, and beyond `max_names` the names that failed longest ago go first. Each
failure costs an argon2 hash (~0.1 s), so pushing a locked name out by failing `max_names`
other names takes far longer than the window itself.
"""

from __future__ import annotations

from collections import deque


class LoginThrottle:
    def __init__(
        self, max_failures: int = 5, window_s: float = 300.0, max_names: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_names = max_names
        self._failures: dict[str, deque[float]] = {}  # oldest last failure first

    def _recent(self, username: str, now: float) -> deque[float]:
        q = self._failures.get(username, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            self._failures.pop(username, None)
        return q

    def __len__(self) -> int:
        return len(self._failures)

    def blocked_for(self, username: str, now: float) -> float:
        """Seconds until `username` may try again (0 when it may try now)."""
        q = self._recent(username, now)
        if len(q) < self.max_failures:
            return 0.0
        return q[-self.max_failures] + self.window_s - now

    def failed(self, username: str, now: float) -> None:
        q = self._recent(username, now)
        q.append(now)
        self._failures.pop(username, None)
        self._failures[username] = q  # to the end: the most recent failure
        if len(self._failures) > self.max_names:
            for name in [n for n, f in self._failures.items() if f[-1] <= now - self.window_s]:
                del self._failures[name]
            while len(self._failures) > self.max_names:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)
