"""The audit hash chain, pure: canonical JSON, an entry's hash, and the walk that verifies.

Each entry stores sha256(previous hash + canonical JSON of its fields), so editing or deleting
an entry breaks the chain at that entry (`vigil audit verify`). The spelling here is frozen:
tests/vectors/audit_chain.json holds entries hashed by earlier versions, and they must verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first audit entry


def canonical_json(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, no NaN (so hashes are reproducible)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    t: float
    kind: str
    who: str | None
    room: str | None
    session: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "t": self.t,
            "kind": self.kind,
            "who": self.who,
            "room": self.room,
            "session": self.session,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    bad: AuditEntry | None = None
    bad_id: int | None = None
    reason: str = ""


def verify_chain(entries: Iterable[AuditEntry]) -> VerifyResult:
    """Walk entries in id order; the first whose id, link or hash does not hold."""
    prev, last_id, checked = GENESIS, 0, 0
    for e in entries:
        if e.id != last_id + 1:
            return VerifyResult(
                False, checked, e, e.id, f"entries {last_id + 1}..{e.id - 1} are missing"
            )
        if e.prev_hash != prev:
            return VerifyResult(
                False, checked, e, e.id, "its link to the previous entry does not match"
            )
        if entry_hash(prev, e.hashed_fields()) != e.hash:
            return VerifyResult(False, checked, e, e.id, "its content does not match its hash")
        prev, last_id, checked = e.hash, e.id, checked + 1
    return VerifyResult(True, checked)
