"""Replay behaves exactly as before its hot path was made faster (issue #12 item 5): every
event with all its fields, and the discharge criteria every 5 minutes of input time, match
the vectors written by the earlier code (tests/vectors/generate_replay_events.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vectors.replay_stream import (
    SCENARIOS,
    VECTORS,
    generated_stream,
    scenario_stream,
    vigil_replay,
)

NAMES = sorted(p.stem for p in SCENARIOS.glob("*.jsonl"))


def _expected(name: str) -> list[str]:
    return (VECTORS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()


def test_every_scenario_has_a_vector() -> None:
    assert NAMES and all((VECTORS / f"{n}.jsonl").exists() for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_replays_as_before(name: str) -> None:
    assert scenario_stream(name) == _expected(name)


def test_generated_recording_replays_as_before(tmp_path: Path) -> None:
    """10 rooms, 200,000 readings: desaturations, the BP schedule, a dose and discharge
    readiness won and lost, with the fast parsing path taken for nearly every line."""
    got = generated_stream(tmp_path)
    assert any('"phase": "discharge_ready"' in line for line in got)
    assert got == _expected("generated")
    # The command as a user runs it (its config, its output lines) prints the same too.
    out = vigil_replay(tmp_path / "generated.jsonl")
    assert out == (VECTORS / "generated.out").read_bytes()
