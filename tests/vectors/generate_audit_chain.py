"""Write audit_chain.json: audit entries as the journal hashes them, chained from GENESIS.

Run once against the journal before it was split into a package (main at 63e5692) and
committed: the file is the fixed reference, so journals written by any earlier Vigil still
verify. Do not regenerate it to make a failing test pass; a mismatch means the hash changed.

    python -m tests.vectors.generate_audit_chain
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.store.journal import GENESIS, canonical_json, entry_hash

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC

ENTRIES: list[dict[str, Any]] = [
    {"t": T0, "kind": "login", "who": "admin", "room": None, "session": None,
     "payload": {"ok": True, "from": "127.0.0.1"}},
    {"t": T0 + 0.125, "kind": "control", "who": "nurse1", "room": "A",
     "session": "A-20260101-000000",
     "payload": {"event": "start_session", "args": {"patient": "J.D."}, "by": "nurse1"}},
    {"t": T0 + 1.1, "kind": "alarm", "who": None, "room": "A", "session": "A-20260101-000000",
     "payload": {"condition": "spo2_low", "state": "active", "priority": "high",
                 "value": 87.5, "limit": 90, "since": T0 + 0.9}},
    {"t": T0 + 2.000001, "kind": "note", "who": "Dr. Müller", "room": "A",
     "session": "A-20260101-000000",
     "payload": {"text": "Patientin ruhig — «ok» ✓\nline two\t\"quoted\"", "room": "A"}},
    {"t": T0 + 3, "kind": "limits", "who": "nurse1", "room": "B", "session": None,
     "payload": {"spo2_low": 88, "hr_high": 130.0, "nested": {"z": [3, 2, 1], "a": None},
                 "empty": {}, "list": []}},
    {"t": T0 + 4.5, "kind": "notification", "who": None, "room": "A", "session": None,
     "payload": {"channel": "ntfy", "ok": False, "error": "timeout", "attempt": 3,
                 "big": 12345678901234567890, "small": 1e-07, "neg": -0.0}},
    {"t": 1e9, "kind": "config", "who": "admin", "room": None, "session": None,
     "payload": {"field": "alerts.ntfy_url", "old": "", "new": "http://127.0.0.1:8080/x"}},
    {"t": T0 + 86400.75, "kind": "control", "who": "nurse2", "room": "A",
     "session": "A-20260101-000000-2",
     "payload": {"event": "discharge", "args": {"outcome": "home", "ratio": 0.1 + 0.2}}},
]  # fmt: skip


def main() -> None:
    out: list[dict[str, Any]] = []
    prev = GENESIS
    for i, e in enumerate(ENTRIES, start=1):
        payload = json.loads(canonical_json(e["payload"]))  # as Journal.audit stores it
        fields = {"id": i, **e, "payload": payload}
        h = entry_hash(prev, fields)
        out.append({**fields, "canonical": canonical_json(fields), "prev_hash": prev, "hash": h})
        prev = h
    path = Path(__file__).with_name("audit_chain.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
