"""What a replay does (parsed as `vigil replay` parses), as text lines to compare with a
fixed vector (replay_events/*.jsonl).

Every pipeline event with all its fields (alarm reasons, phase details with the unmet
discharge criteria, BP requests), and every 5 minutes of input time each room's discharge
criteria as the snapshot shows them: the caches on the replay's hot path
(monitor/core/discharge.py, conditioning.py, recording.py) must change none of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from monitor.core.models import AlarmEvent, PhaseEvent
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from monitor.core.recording import Record, iter_recording
from monitor.core.replay import replay
from monitor.replay_lines import plain_reading

HERE = Path(__file__).parent
VECTORS = HERE / "replay_events"
SCENARIOS = HERE.parent / "recordings"
SNAPSHOT_EVERY_S = 300.0
#: The generated recording (benchmarks/replay_large.py's shape, smaller): 10 rooms with
#: desaturations in two, a dose, the BP schedule and discharge readiness, in ~1 s of replay.
GENERATED_READINGS = 200_000
GENERATED_ROOMS = 10


def _event(e: PipelineEvent) -> dict[str, Any]:
    if isinstance(e, AlarmEvent | PhaseEvent):
        return e.to_dict()
    return {"type": "bp_request", **e.to_dict()}


def stream(records: Iterable[Record]) -> Iterator[str]:
    """The replay's events and periodic discharge views, one JSON line each, in order."""
    pipelines: dict[str, RoomPipeline] = {}
    views: list[str] = []  # taken between two inputs, written before the next event

    def viewed(recs: Iterable[Record]) -> Iterator[Record]:
        next_view = SNAPSHOT_EVERY_S
        for rec in recs:
            t = rec.item.t
            if t >= next_view:  # every input before this one is through its pipeline
                next_view = (t // SNAPSHOT_EVERY_S + 1) * SNAPSHOT_EVERY_S
                for room, p in sorted(pipelines.items()):
                    view = {
                        "room": room,
                        "phase": p.phase,
                        "discharge": p.snapshot().to_dict()["discharge"],
                    }
                    views.append(json.dumps({"type": "view", "t": t, **view}, sort_keys=True))
            yield rec

    for e in replay(viewed(records), pipelines=pipelines):
        yield from views
        views.clear()
        yield json.dumps(_event(e), sort_keys=True)
    yield from views
    for room, p in sorted(pipelines.items()):
        yield json.dumps({"type": "end", "room": room, **p.snapshot().to_dict()}, sort_keys=True)


def scenario_stream(name: str) -> list[str]:
    with (SCENARIOS / f"{name}.jsonl").open("rb") as fh:
        return list(stream(iter_recording(fh, orjson.loads, plain_reading)))


def generated_stream(tmp: Path) -> list[str]:
    from benchmarks.replay_large import generate

    path = tmp / "generated.jsonl"
    generate(path, readings=GENERATED_READINGS, rooms=GENERATED_ROOMS)
    with path.open("rb") as fh:
        return list(stream(iter_recording(fh, orjson.loads, plain_reading)))


def vigil_replay(path: Path) -> bytes:
    """`vigil replay path`'s output, as a user runs it (a new process)."""
    return subprocess.run([sys.executable, "-m", "monitor", "replay", str(path)],
                          check=True, capture_output=True).stdout  # fmt: skip
