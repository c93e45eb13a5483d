"""The login throttle: how many failures lock a username, and for how long."""

from __future__ import annotations

import pytest

from monitor.auth.throttle import LoginThrottle


@pytest.mark.parametrize(
    ("failures_at", "ask_at", "wait"),
    [
        ([], 0.0, 0.0),
        ([0, 1, 2, 3], 4.0, 0.0),  # four failures: still allowed
        ([0, 1, 2, 3, 4], 5.0, 295.0),  # the fifth locks until the oldest leaves the window
        ([0, 1, 2, 3, 4], 299.5, 0.5),
        ([0, 1, 2, 3, 4], 300.0, 0.0),  # the first failure has left the window
        ([0, 100, 200, 300, 400], 401.0, 0.0),  # spread out: never five in 300 s
        ([0, 1, 2, 3, 4, 5, 6], 7.0, 295.0),  # counted from the 5th most recent (t=2)
    ],
)
def test_blocked_for(failures_at: list[float], ask_at: float, wait: float) -> None:
    t = LoginThrottle(max_failures=5, window_s=300)
    for at in failures_at:
        t.failed("ana", at)
    assert (t.blocked_for("ana", ask_at), t.blocked_for("other", ask_at)) == (wait, 0.0)


def test_success_clears_the_count() -> None:
    t = LoginThrottle(max_failures=2, window_s=300)
    t.failed("ana", 0)
    t.succeeded("ana")
    t.failed("ana", 1)
    assert t.blocked_for("ana", 2) == 0.0


def test_memory_stays_bounded() -> None:
    """Looking a name up never stores it; old names are dropped; at most max_names are kept,
    the longest-ago failures going first."""
    t = LoginThrottle(max_failures=2, window_s=60.0, max_names=3)
    for i in range(100):
        assert t.blocked_for(f"probe{i}", float(i)) == 0.0
    assert len(t) == 0
    t.failed("ana", 0.0)
    t.failed("ana", 1.0)
    assert t.blocked_for("ana", 2.0) == 58.0
    for i, name in enumerate(("b", "c")):
        t.failed(name, 20.0 + i)
    assert len(t) == 3
    t.failed("d", 70.0)  # ana's failures (0, 1) are past the window: ana goes, not b or c
    assert len(t) == 3 and t.blocked_for("ana", 70.0) == 0.0
    t.failed("b", 71.0)  # b is now the most recent; c (at 21) is the oldest
    t.failed("e", 72.0)
    assert len(t) == 3
    t.failed("c", 73.0)  # c was evicted: its count starts again
    assert t.blocked_for("c", 73.0) == 0.0
    t.failed("b", 74.0)
    assert t.blocked_for("b", 74.0) > 0  # b's two failures survived the evictions
