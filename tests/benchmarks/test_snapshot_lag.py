"""The snapshot benchmark's own parts: Vigil's real rooms with a minute of readings, one
build shared by every subscribed client, the snapshot holding every room."""

from __future__ import annotations

import asyncio
from pathlib import Path

import uvloop

from benchmarks.snapshot_lag import measure, vigil_with_rooms
from monitor.device_probe import sse_messages
from monitor.stream_snapshot import SLICE_S


def test_one_build_for_every_client_with_every_room(tmp_path: Path) -> None:
    vigil = vigil_with_rooms(20, tmp_path)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            longest, took, data = runner.run(measure(vigil, SLICE_S))
    finally:
        vigil.recorder.close()
    assert 0 < longest <= took
    assert vigil.hub.subscribers == 0  # the clients are gone after it
    [snapshot] = sse_messages(data)
    assert [r["room"] for r in snapshot["rooms"]] == list(vigil.rooms)
    assert all(r["latest"]["spo2"]["value"] == 97.0 for r in snapshot["rooms"])
