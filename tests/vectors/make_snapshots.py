"""Writes tests/vectors/snapshots.json: RoomPipeline.snapshot() of a few states, taken from
the code before the typed snapshot (tests/test_core_snapshot.py compares the typed one's
to_dict with it). Rewrite it only for a deliberate change of the page's contract:
.venv/bin/python -m tests.vectors.make_snapshots"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.core.models import DeviceState, LinkState
from monitor.core.pipeline import RoomPipeline
from monitor.core.recording import parse_recording
from monitor.core.replay import replay

HERE = Path(__file__).parent
RECORDINGS = HERE.parent / "recordings"


def states() -> dict[str, dict[str, Any]]:
    out: dict[str, Any] = {}
    for name in ("normal_rise", "hypertensive_surge", "probe_off", "hypoventilation"):
        records = parse_recording((RECORDINGS / f"{name}.jsonl").read_text().splitlines())
        for cut in (len(records) // 3, len(records)):
            pipelines: dict[str, RoomPipeline] = {}
            for _ in replay(records[:cut], pipelines=pipelines):
                pass
            for room, p in pipelines.items():
                out[f"{name}@{cut}/{room}"] = p.snapshot().to_dict()
    p = RoomPipeline("D")
    p.device_state(DeviceState(5.0, "ox", LinkState.FAILED, "boom"))
    p.tick(6.0)
    out["device_failed/D"] = p.snapshot().to_dict()
    return out


if __name__ == "__main__":
    (HERE / "snapshots.json").write_text(json.dumps(states(), indent=1, sort_keys=True) + "\n")
