"""The room loop (monitor/room_loop.py) with the real parts Vigil composes (journal, hub,
pipelines): storage trouble reaches every room's core, and a change to a room that fails is
answered without stopping the room's consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from monitor.device_probe import sse_messages
from monitor.rooms import RoomCall
from monitor.runtime import Vigil
from tests.waiting import wait_for_async

T = 1_700_000_000.0


@pytest.fixture
async def vigil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Vigil]:
    """Two rooms without devices, their consumers running (nothing else is started)."""
    monkeypatch.chdir(tmp_path)  # the notifier's token store defaults to .vigil/ here
    settings = Settings(
        journal_path=tmp_path / "j.sqlite3",
        influx_url="http://127.0.0.1:9",
        rooms=[{"id": "A"}, {"id": "B"}],
    )
    v = Vigil(settings, clock=lambda: T)
    consumers = [asyncio.create_task(v.room_loop.consume(r)) for r in v.rooms.values()]
    try:
        yield v
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await v.notifier.aclose()
        v.recorder.close()


async def test_journal_trouble_is_raised_by_every_rooms_core_and_published(vigil: Vigil) -> None:
    sub = vigil.hub.subscribe(["A", "B"])
    for event in vigil.recorder.alarms.journal(T, False, "disk I/O error"):
        vigil.recorder.on_alarm(event)  # what the journal's writer reports, as wired

    def raised() -> bool:
        return all("journal_failed" in r.pipeline.active for r in vigil.rooms.values())

    await wait_for_async(raised, 5, "journal_failed active in rooms A and B")
    published: set[str] = set()
    while published != {"A", "B"}:
        chunk = await asyncio.wait_for(sub.get(), 5)
        assert chunk is not None
        published |= {
            m["room"]
            for m in sse_messages(chunk)
            if m.get("type") == "alarm" and m.get("condition") == "journal_failed"
        }


async def test_a_change_that_fails_is_answered_and_the_room_keeps_consuming(
    vigil: Vigil, caplog: pytest.LogCaptureFixture
) -> None:
    room = vigil.rooms["A"]
    loop = asyncio.get_running_loop()

    def broken(pipeline: RoomPipeline) -> list[PipelineEvent]:
        raise ValueError("no such rule")

    failed: asyncio.Future[None] = loop.create_future()
    room.queue.put_nowait(RoomCall(broken, failed))
    with pytest.raises(ValueError, match="no such rule"):
        await asyncio.wait_for(failed, 5)
    assert "room A: pipeline failed on RoomCall" in caplog.text

    seen: list[RoomPipeline] = []

    def look(pipeline: RoomPipeline) -> list[PipelineEvent]:
        seen.append(pipeline)
        return []

    applied: asyncio.Future[None] = loop.create_future()
    room.queue.put_nowait(RoomCall(look, applied))
    await asyncio.wait_for(applied, 5)
    assert seen == [room.pipeline]
