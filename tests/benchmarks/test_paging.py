"""The paging benchmark at a small size: its live rooms desaturate, and every alarm
transition (active, escalated to tier 2, to tier 3) reaches the loopback receiver, timed."""

from __future__ import annotations

import pytest

from benchmarks.paging import paging_latency

pytestmark = pytest.mark.slow


def test_every_transition_of_three_rooms_reaches_the_receiver_timed() -> None:
    samples, expected = paging_latency(rooms_n=3)
    assert expected == 9
    assert len(samples) == 9
    assert all(0 <= ms < 30_000 for ms in samples)
