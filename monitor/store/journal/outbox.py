"""The outboxes over `points`: InfluxDB's forwarder (the `forwarded` flag), other outboxes'
named cursors (HL7 out, monitor/hl7out/sender.py) and retention.

Rows are forwarded only once committed; a mark or a cursor move lost in a crash only re-sends
(outboxes are at-least-once). Retention (`prune`) deletes readings older than N days once
every outbox has them; audit entries are never pruned, so the chain stays verifiable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from monitor.store.journal.parts import JournalParts
from monitor.store.journal.rows import PointRow, parse_payload
from monitor.store.journal.writer import SQL

PRUNE_CHUNK = 5_000  # readings deleted per transaction, so pruning never stalls commits


class Outbox(JournalParts):
    outboxes: set[str]  # cursors whose rows prune() keeps until delivered
    unsent_counted: int | None  # the latest count_unsent() (for health)

    # -- InfluxDB's forwarder ---------------------------------------------------------------
    def unsent(self, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """Committed rows not yet forwarded, by id (only durable rows are ever forwarded);
        `after_id`: past those already sent whose mark is not committed yet."""
        with self._reader() as db:
            cur = db.cursor()
            cur.row_factory = None  # plain (id, line) tuples: half the cost of Row objects
            rows: list[tuple[int, str]] = cur.execute(
                "SELECT id, line FROM points WHERE forwarded = 0 AND id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return rows

    def mark_forwarded(self, ids: Sequence[int]) -> bool:
        """Queue marking these rows sent (`committed()` waits for it). A mark lost in a crash
        only re-sends points, harmlessly."""
        if not ids:
            return True
        # Ids come in ascending runs from unsent(); one range update is cheapest.
        q = "UPDATE points SET forwarded = 1 WHERE id BETWEEN ? AND ? AND forwarded = 0"
        self._put((SQL, q, (min(ids), max(ids))))
        return not self._writer.failed

    def count_unsent(self) -> int:
        """Rows not yet forwarded (a count over SQLite: off the event loop); `health()`
        shows the latest count."""
        self._barrier()
        with self._reader() as db:
            n = int(db.execute("SELECT count(*) FROM points WHERE forwarded = 0").fetchone()[0])
        self.unsent_counted = n
        return n

    # -- other outboxes: a named cursor over `points` ----------------------------------------
    def cursor(self, name: str) -> int | None:
        """The last point id the outbox `name` has delivered (None: it never ran here)."""
        with self._reader() as db:
            row = db.execute("SELECT last_id FROM cursors WHERE name = ?", (name,)).fetchone()
        return int(row["last_id"]) if row else None

    def last_point_id(self) -> int:
        """The newest committed point's id (0 in an empty journal)."""
        with self._reader() as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM points").fetchone()[0])

    def set_cursor(self, name: str, last_id: int) -> None:
        """Queue moving the cursor forward (never back); `committed()` waits for it. A move
        lost in a crash only re-sends: outboxes are at-least-once."""
        q = (
            "INSERT INTO cursors (name, last_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
            "SET last_id = excluded.last_id WHERE excluded.last_id > cursors.last_id"
        )
        self._put((SQL, q, (name, int(last_id))))

    def points_after(self, after_id: int, kind: str, limit: int) -> list[PointRow]:
        """Committed points of `kind` with id > `after_id`, by id (blocks: off the loop)."""
        with self._reader() as db:
            rows = db.execute(
                "SELECT id, t, kind, room, session, payload FROM points "
                "WHERE id > ? AND kind = ? ORDER BY id LIMIT ?",
                (after_id, kind, limit),
            ).fetchall()
        return [
            PointRow(
                r["id"], r["t"], r["kind"], r["room"], r["session"], parse_payload(r["payload"])
            )
            for r in rows
        ]

    # -- retention ------------------------------------------------------------------------
    def prune(self, before_t: float, *, limit: int = PRUNE_CHUNK) -> int:
        """Delete up to `limit` readings older than `before_t` that InfluxDB already has; how
        many. Only `reading` rows: audit entries (and their points), sessions, alarms, phases
        and device states are never pruned, so `vigil audit verify` still walks the whole
        chain. Runs on the writer thread in its own short transaction (call it until 0)."""

        def do(db: sqlite3.Connection) -> int:
            # Nor rows a running outbox (HL7 out) has still to deliver: below every cursor.
            held = [
                int(r[0]) if r else 0
                for r in (
                    db.execute("SELECT last_id FROM cursors WHERE name = ?", (n,)).fetchone()
                    for n in sorted(self.outboxes)
                )
            ]
            cur = db.execute(
                "DELETE FROM points WHERE id IN (SELECT id FROM points WHERE kind = 'reading' "
                "AND t < ? AND forwarded = 1 AND id <= ? LIMIT ?)",
                (before_t, min(held, default=2**63 - 1), limit),
            )
            return int(cur.rowcount)

        return int(self.call_in_writer(do))
