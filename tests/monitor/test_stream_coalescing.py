"""The live stream's coalescing policy on a timeline: readings held per room (newest wins,
at most one update per room per interval), transitions never held and never overtaken."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from monitor.stream_coalescing import StreamCoalescer


def rd(room: str, channel: str, value: float, source: str = "ox") -> dict[str, Any]:
    return {"type": "reading", "room": room, "channel": channel, "value": value, "source": source}


def alarm(room: str, state: str = "active") -> dict[str, Any]:
    return {"type": "alarm", "room": room, "condition": "spo2_low", "state": state}


HEARTBEAT = {"type": "heartbeat", "t": 5.0}
TICK = None  # a timeline row that asks `due(t)` instead of offering a message

# (t, message offered or TICK, messages sent at t); room interval 0.25 s, batch 0.02 s.
TIMELINE: list[tuple[float, dict[str, Any] | None, list[dict[str, Any]]]] = [
    # An idle room's reading leaves with the next batch (no room interval to wait out).
    (0.000, rd("A", "spo2", 97), []),
    (0.000, rd("A", "pulse_rate", 72), []),  # the same frame: the same update
    (0.000, TICK, [rd("A", "spo2", 97), rd("A", "pulse_rate", 72)]),
    # Faster than 4 per second: held, newest value per channel wins, arrival order kept.
    (0.050, rd("A", "spo2", 96), []),
    (0.100, rd("A", "pulse_rate", 73), []),
    (0.150, rd("A", "spo2", 95), []),
    (0.200, TICK, []),  # the room updated at 0.0: not before 0.25
    (0.250, TICK, [rd("A", "pulse_rate", 73), rd("A", "spo2", 95)]),
    # Another room does not wait for A's interval, only for the next batch (0.02 s on).
    (0.255, rd("B", "spo2", 99), []),
    (0.265, TICK, []),
    (0.271, TICK, [rd("B", "spo2", 99)]),
    # An alarm is never held, and A's held readings go first (the order they happened).
    (0.300, rd("A", "spo2", 88), []),
    (0.310, rd("B", "spo2", 98), []),
    (0.320, alarm("A"), [rd("A", "spo2", 88), alarm("A")]),
    (0.320, TICK, []),  # B's reading waits for its own interval (0.271 + 0.25)
    (0.520, TICK, []),
    (0.522, TICK, [rd("B", "spo2", 98)]),
    # Nothing held: transitions and room-less messages go straight out.
    (0.500, alarm("B", "cleared"), [alarm("B", "cleared")]),
    (0.500, HEARTBEAT, [HEARTBEAT]),
    # Two sources of the same channel (oximeter and cuff pulse rate) are both kept.
    (1.000, rd("C", "pulse_rate", 70, "ox"), []),
    (1.000, rd("C", "pulse_rate", 75, "cuff"), []),
    (1.010, TICK, [rd("C", "pulse_rate", 70, "ox"), rd("C", "pulse_rate", 75, "cuff")]),
    (1.100, rd("C", "spo2", 97), []),
    (1.100, HEARTBEAT, [HEARTBEAT]),  # a heartbeat does not release a room's readings
    (1.260, TICK, [rd("C", "spo2", 97)]),
]


def test_coalescing_timeline() -> None:
    policy = StreamCoalescer(room_interval_s=0.25, batch_s=0.02)
    for t, message, expected in TIMELINE:
        sent = policy.due(t) if message is TICK else policy.offer(message, t)
        assert sent == expected, f"t={t}: {message}"
    assert policy.next_due() is None  # nothing left behind


def test_next_due_says_when_to_call_back() -> None:
    policy = StreamCoalescer(room_interval_s=0.25, batch_s=0.02)
    assert policy.next_due() is None
    policy.offer(rd("A", "spo2", 97), 10.0)
    assert policy.next_due() == 10.0
    assert policy.due(10.0) == [rd("A", "spo2", 97)]
    policy.offer(rd("A", "spo2", 96), 10.1)
    assert policy.next_due() == 10.25
    policy.offer(rd("B", "spo2", 99), 10.1)
    assert policy.next_due() == pytest.approx(10.1 + 0.0)  # B is idle; batch gap passed
    assert policy.due(10.1) == [rd("B", "spo2", 99)]
    policy.offer(alarm("A"), 10.2)  # releases A: its pending wake-up is void
    assert policy.next_due() is None


def test_a_thousand_rooms_at_ten_hertz_give_four_updates_per_room_per_second() -> None:
    policy = StreamCoalescer(room_interval_s=0.25, batch_s=0.02)
    sent: list[dict[str, Any]] = []
    batches = 0
    for step in range(100):  # 10 s at 10 Hz per room
        t = step / 10
        for room in range(1000):
            policy.offer(rd(f"R{room}", "spo2", 90 + step % 10), t + room * 1e-5)
        while (when := policy.next_due()) is not None and when <= t + 0.1:
            out = policy.due(when)
            batches += bool(out)
            sent += out
    per_room = Counter(m["room"] for m in sent)
    assert len(per_room) == 1000
    assert 30 <= min(per_room.values()) <= max(per_room.values()) <= 4 * 10 + 1  # + the first
    assert batches <= 10 * 50  # one write per client per batch, at most 50 a second


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="room_interval_s"):
        StreamCoalescer(room_interval_s=-1)
