"""The typed room snapshot (monitor/core/snapshot.py): its one `to_dict` is exactly the JSON
the API and the live page had before it was typed (tests/vectors/snapshots.json, written by
tests/vectors/make_snapshots.py from the code before the change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.core.controls import Note, SessionStart
from monitor.core.pipeline import RoomPipeline
from monitor.core.snapshot import RoomSnapshot
from tests.vectors.make_snapshots import states

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "snapshots.json").read_text())
NOW = states()


@pytest.mark.parametrize("state", sorted(VECTORS))
def test_to_dict_is_the_json_of_before(state: str) -> None:
    # Through JSON as the API sends it: tuples become lists, floats stay floats.
    assert json.loads(json.dumps(NOW[state], sort_keys=True)) == VECTORS[state]


def test_a_snapshot_does_not_change_when_the_room_goes_on() -> None:
    p = RoomPipeline("A")
    p.control(SessionStart(0, by="n"))
    before = p.snapshot()
    assert isinstance(before, RoomSnapshot)
    p.control(Note(1, "calm", by="n"))
    assert before.session.notes == [] and len(before.log) == 1
    assert p.snapshot().to_dict()["session"]["notes"] == [{"t": 1, "text": "calm", "by": "n"}]
