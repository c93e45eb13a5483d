"""The local journal: SQLite in WAL mode, written before anything else.

Every reading and event is appended here first and forwarded to InfluxDB later by the
forwarder, which reads unsent committed rows by id and marks them sent; so InfluxDB being down
loses nothing and a crash between write and mark merely re-sends points that land on the
same series and timestamp (harmless).

Group commit, off the event loop: `append`, `audit` and the session writes only queue the row.
One writer thread commits the queue in batches, one transaction and one fsync per
`commit_window_s` (default 0.1 s); the read methods the API and reports use first commit what
this process queued, so a caller reads its own writes. Reads block (a long session's readings
take seconds), so the server calls them from worker threads, never on its event loop.

One class, `Journal` (facade.py), joins the parts, each a module:

  schema.py    the tables (points, audit, sessions, cursors) and how connections are opened
  chain.py     the audit hash chain, pure: canonical JSON, entry hash, verify (fixed vectors
               in tests/vectors/audit_chain.json)
  rows.py      SessionRow, PointRow and reading them from SQLite rows
  writer.py    the writer thread: group commit, flush and barrier, WriteOutcome on failure
  readpool.py  the read connections, one per concurrent read
  parts.py     the base the ledger, queries and outbox share (a read pool and a writer)
  sessions.py  the session ledger: open, dose, end; each room's open session
  queries.py   reads for reports, resume, the alarm log and `vigil audit verify`
  outbox.py    InfluxDB's forwarder, other outboxes' cursors (HL7 out), retention (prune)
"""

from __future__ import annotations

from monitor.store.journal.chain import (
    GENESIS,
    AuditEntry,
    VerifyResult,
    canonical_json,
    entry_hash,
    verify_chain,
)
from monitor.store.journal.facade import Journal
from monitor.store.journal.outbox import PRUNE_CHUNK
from monitor.store.journal.rows import PointRow, SessionRow
from monitor.store.journal.sessions import MAX_PATIENT_CHARS
from monitor.store.journal.writer import COMMIT_WINDOW_S, WriteOutcome

__all__ = [
    "COMMIT_WINDOW_S",
    "GENESIS",
    "MAX_PATIENT_CHARS",
    "PRUNE_CHUNK",
    "AuditEntry",
    "Journal",
    "PointRow",
    "SessionRow",
    "VerifyResult",
    "WriteOutcome",
    "canonical_json",
    "entry_hash",
    "verify_chain",
]
