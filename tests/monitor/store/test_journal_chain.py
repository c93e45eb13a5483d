"""The audit hash chain against fixed vectors (tests/vectors/audit_chain.json, written by the
journal as it was before the split): journals written by any earlier Vigil still verify."""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.store.journal import (
    GENESIS,
    AuditEntry,
    Journal,
    VerifyResult,
    canonical_json,
    entry_hash,
    verify_chain,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "audit_chain.json").read_text(encoding="utf-8")
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


def chain() -> list[AuditEntry]:
    return [AuditEntry(**fields(v), prev_hash=v["prev_hash"], hash=v["hash"]) for v in VECTORS]


def test_verify_chain_accepts_the_vectors() -> None:
    assert verify_chain(chain()) == VerifyResult(True, len(VECTORS))
    assert verify_chain([]) == VerifyResult(True, 0)


def edited(e: AuditEntry, **changes: Any) -> AuditEntry:
    return dataclasses.replace(e, **changes)


# (what, how the chain is changed, the first bad id, entries checked before it, reason)
BROKEN: list[tuple[str, Callable[[list[AuditEntry]], list[AuditEntry]], int, int, str]] = [
    ("edit a payload", lambda c: [*c[:3], edited(c[3], payload={"text": "x"}), *c[4:]],
     4, 3, "content"),
    ("edit who", lambda c: [*c[:2], edited(c[2], who="someone"), *c[3:]], 3, 2, "content"),
    ("edit the time", lambda c: [*c[:5], edited(c[5], t=c[5].t + 1), *c[6:]], 6, 5, "content"),
    ("delete an entry", lambda c: [*c[:4], *c[5:]], 6, 4, "entries 5..5 are missing"),
    ("drop the first", lambda c: c[1:], 2, 0, "entries 1..1 are missing"),
    ("re-hash an edit", lambda c: [*c[:3], rehashed(c[3], who="forger"), *c[4:]],
     5, 4, "link"),
    ("break a link", lambda c: [c[0], edited(c[1], prev_hash=GENESIS), *c[2:]], 2, 1, "link"),
]  # fmt: skip


def rehashed(e: AuditEntry, **changes: Any) -> AuditEntry:
    """An edit whose own hash is recomputed: the next entry's link breaks instead."""
    forged = edited(e, **changes)
    return edited(forged, hash=entry_hash(forged.prev_hash, forged.hashed_fields()))


@pytest.mark.parametrize(("what", "change", "bad_id", "checked", "reason"), BROKEN,
                         ids=[b[0] for b in BROKEN])  # fmt: skip
def test_verify_chain_names_the_first_broken_entry(
    what: str,
    change: Callable[[list[AuditEntry]], list[AuditEntry]],
    bad_id: int,
    checked: int,
    reason: str,
) -> None:
    result = verify_chain(change(chain()))
    assert (result.ok, result.bad_id, result.checked) == (False, bad_id, checked)
    assert result.bad is not None and result.bad.id == bad_id
    assert reason in result.reason


def imported(module: str) -> set[str]:
    """The modules a journal module imports (absolute names, from its source)."""
    path = Path(__file__).parents[3] / "monitor" / "store" / "journal" / f"{module}.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_chain_is_pure() -> None:
    """No SQLite, no clock, no files: the chain is a function of the entries alone."""
    allowed = {"__future__", "hashlib", "json", "collections.abc", "dataclasses", "typing"}
    assert imported("chain") <= allowed


@pytest.mark.parametrize("part", ["sessions", "queries", "outbox"])
def test_the_journal_parts_do_not_know_each_other(part: str) -> None:
    others = {f"monitor.store.journal.{p}" for p in ("sessions", "queries", "outbox", "facade")}
    assert not imported(part) & others


def test_the_package_surface() -> None:
    import monitor.store.journal as journal

    assert sorted(journal.__all__) == sorted(
        ["COMMIT_WINDOW_S", "GENESIS", "MAX_PATIENT_CHARS", "PRUNE_CHUNK", "AuditEntry",
         "Journal", "PointRow", "SessionRow", "VerifyResult", "WriteOutcome", "canonical_json",
         "entry_hash", "verify_chain"]
    )  # fmt: skip
    assert all(hasattr(journal, name) for name in journal.__all__)
