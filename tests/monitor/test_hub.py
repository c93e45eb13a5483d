"""The hub on the event loop the server runs (uvloop): room filters, encode once, coalescing
with a real timer, transitions at once, a slow client cut off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

import monitor.hub as hub_module
from monitor.hub import MAX_QUEUED_BYTES, Hub


def on_uvloop(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(test())


def events(data: bytes | None) -> list[dict[str, Any]]:
    assert data is not None
    return [json.loads(line[5:]) for line in data.decode().splitlines() if line.startswith("data:")]


def reading(room: str, value: float) -> dict[str, Any]:
    return {"type": "reading", "room": room, "channel": "spo2", "value": value, "source": "ox"}


def test_filters_encode_once_and_coalesce(monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[dict[str, Any]] = []
    real_encode = hub_module.encode_event

    def counting(message: dict[str, Any]) -> bytes:
        encoded.append(message)
        return real_encode(message)

    monkeypatch.setattr(hub_module, "encode_event", counting)

    async def scenario() -> None:
        hub = Hub(room_interval_s=0.2)
        everything, only_a, only_b = hub.subscribe(), hub.subscribe(["A"]), hub.subscribe(["B"])
        for v in (97, 96, 95):
            hub.publish(reading("A", v))
        hub.publish(reading("B", 99))
        first = await asyncio.wait_for(everything.get(), 1)
        assert events(first) == [reading("A", 95), reading("B", 99)]  # newest A value wins
        assert events(await only_a.get()) == [reading("A", 95)]
        assert events(await only_b.get()) == [reading("B", 99)]
        assert len(encoded) == 2  # once per message, not once per client

        # Within A's interval a reading waits, but an alarm goes at once, after it.
        hub.publish(reading("A", 88))
        alarm = {"type": "alarm", "room": "A", "condition": "spo2_low", "state": "active"}
        hub.publish(alarm)
        assert everything.queued_bytes > 0  # queued by publish itself: no timer, no wait
        assert events(await everything.get()) == [reading("A", 88), alarm]
        assert events(await only_a.get()) == [reading("A", 88), alarm]
        hub.publish({"type": "heartbeat", "t": 1.0})
        assert events(await only_b.get()) == [{"type": "heartbeat", "t": 1.0}]
        assert hub.subscribers == 3

    on_uvloop(scenario)


def test_a_client_that_does_not_read_is_cut_off_and_others_go_on() -> None:
    async def scenario() -> None:
        hub = Hub(room_interval_s=0.0)
        stalled, reader = hub.subscribe(), hub.subscribe()
        big = {"type": "note", "room": "A", "text": "x" * 100_000}
        got = 0
        for _ in range(MAX_QUEUED_BYTES // 100_000 + 2):
            hub.publish(big)
            got += len(events(await reader.get()))
        assert await stalled.get() is None  # ended: the client reconnects for a snapshot
        assert hub.subscribers == 1 and got == MAX_QUEUED_BYTES // 100_000 + 2

    on_uvloop(scenario)


def test_publish_without_a_loop_or_subscribers_only_calls_listeners() -> None:
    hub = Hub()
    seen: list[dict[str, Any]] = []
    hub.add_listener(seen.append)
    hub.publish(reading("A", 97))
    assert seen == [reading("A", 97)]
