"""The audit hash chain against fixed vectors (tests/vectors/audit_chain.json, written by the
journal as it was before the split): journals written by any earlier Vigil still verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.store.journal import GENESIS, Journal, canonical_json, entry_hash

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "vectors" / "audit_chain.json").read_text(encoding="utf-8")
)
HASHED = ("id", "t", "kind", "who", "room", "session", "payload")


def fields(v: dict[str, Any]) -> dict[str, Any]:
    return {k: v[k] for k in HASHED}


@pytest.mark.parametrize("v", VECTORS, ids=[f"{v['id']}-{v['kind']}" for v in VECTORS])
def test_entry_hash_matches_the_vector(v: dict[str, Any]) -> None:
    assert canonical_json(fields(v)) == v["canonical"]
    assert entry_hash(v["prev_hash"], fields(v)) == v["hash"]


def test_the_vectors_form_one_chain_from_genesis() -> None:
    assert [v["prev_hash"] for v in VECTORS] == [GENESIS] + [v["hash"] for v in VECTORS[:-1]]


def test_a_journal_writes_the_vector_hashes(tmp_path: Path) -> None:
    """The writer assigns ids and hashes at commit: the same entries give the same chain."""
    j = Journal(tmp_path / "j.sqlite3")
    for v in VECTORS:
        j.audit(v["kind"], v["who"], v["payload"], t=v["t"], room=v["room"], session=v["session"])
    stored = [(e.id, e.prev_hash, e.hash) for e in j.audit_entries()]
    assert stored == [(v["id"], v["prev_hash"], v["hash"]) for v in VECTORS]
    assert (j.verify().ok, j.verify().checked) == (True, len(VECTORS))
    j.close()
