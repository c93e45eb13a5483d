"""The stream's shared snapshot on uvloop: clients asking together share one build; a later
client gets a build of its own made after it asked; a client hanging up does not cancel the
others'; a failed build fails its waiters only."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, fields

import pytest

from monitor.core.models import Reading
from monitor.stream_snapshot import SnapshotShare
from tests.monitor.test_hub import on_uvloop


def test_clients_asking_together_share_one_build_later_ones_get_a_fresh_one() -> None:
    async def scenario() -> None:
        share = SnapshotShare(window_s=0.02)
        state = {"n": 0}

        def build() -> bytes:
            state["n"] += 1
            return f"snapshot {state['n']}".encode()

        first = await asyncio.gather(*(share.get(None, build) for _ in range(50)))
        assert set(first) == {b"snapshot 1"} and share.builds == 1
        # A phone's room subset is its own snapshot, built alongside.
        both = await asyncio.gather(share.get(None, build), share.get(frozenset({"A"}), build))
        assert share.builds == 3 and both[0] != both[1]
        # Asked after a build: never handed an older one (it would miss what came between).
        assert await share.get(None, build) == b"snapshot 4"

    on_uvloop(scenario)


def test_a_client_hanging_up_does_not_cancel_the_others() -> None:
    async def scenario() -> None:
        share = SnapshotShare(window_s=0.02)
        leaving = asyncio.create_task(share.get(None, lambda: b"s"))
        staying = asyncio.create_task(share.get(None, lambda: b"s"))
        await asyncio.sleep(0)
        leaving.cancel()
        assert await staying == b"s"

    on_uvloop(scenario)


def test_a_failed_build_fails_its_waiters_and_the_next_build_runs() -> None:
    async def scenario() -> None:
        share = SnapshotShare(window_s=0.0)

        def broken() -> bytes:
            raise RuntimeError("bad room")

        with pytest.raises(RuntimeError, match="bad room"):
            await share.get(None, broken)
        assert await share.get(None, lambda: b"ok") == b"ok"

    on_uvloop(scenario)


def test_reading_to_dict_matches_every_field() -> None:
    """Spelled out for speed: a field added to Reading must be added to it too."""
    r = Reading(1.0, "spo2", 97.0, "%", frozenset({"b", "a"}), "ox", "12:00", "mmHg")
    expected = asdict(r) | {"status": ["a", "b"]}
    assert r.to_dict() == expected
    assert list(r.to_dict()) == [f.name for f in fields(Reading)]
