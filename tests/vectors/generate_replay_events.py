"""Write replay_events/*.jsonl: what replaying each scenario recording and the generated
recording does (tests/vectors/replay_stream.py), and `vigil replay`'s output for the
generated recording (generated.out) and benchmarks/replay_large.py's 1,000,000-reading one
(large.out).

Written once by the code before the replay's hot path was made faster (main at ef51bdb) and
committed: the files are the fixed reference that tests/core/test_replay_equivalence.py and the
benchmark compare with. Do not regenerate them to make a failing test pass: a mismatch means
a replay's behaviour changed. Regenerate only for an intended change of behaviour, and say so.

    python -m tests.vectors.generate_replay_events
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.replay_large import generate
from tests.vectors.replay_stream import (
    SCENARIOS,
    VECTORS,
    generated_stream,
    scenario_stream,
    vigil_replay,
)


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for path in sorted(SCENARIOS.glob("*.jsonl")):
        lines = scenario_stream(path.stem)
        (VECTORS / path.name).write_text("".join(s + "\n" for s in lines), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        lines = generated_stream(Path(tmp))
        (VECTORS / "generated.jsonl").write_text("".join(s + "\n" for s in lines), "utf-8")
        (VECTORS / "generated.out").write_bytes(vigil_replay(Path(tmp) / "generated.jsonl"))
        large = Path(tmp) / "large.jsonl"
        generate(large)
        (VECTORS / "large.out").write_bytes(vigil_replay(large))


if __name__ == "__main__":
    main()
