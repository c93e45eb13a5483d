"""The journal's tables, and how its connections are opened.

points    every reading and event as a line-protocol row to forward, with its JSON payload
audit     who did what, hash-chained (monitor/store/journal/chain.py)
sessions  one row per room session: pseudonym/initials only, start, dose, end and who.
cursors   the last point id another outbox sent (e.g. "hl7_pcd01"): a second reader of
          `points` beside InfluxDB's `forwarded` flag (monitor/hl7out/sender.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    room TEXT,
    session TEXT,
    line TEXT NOT NULL,
    payload TEXT NOT NULL,
    forwarded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS points_unsent ON points (id) WHERE forwarded = 0;
CREATE INDEX IF NOT EXISTS points_room_t ON points (room, t);
CREATE INDEX IF NOT EXISTS points_kind_t ON points (kind, t);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    who TEXT,
    room TEXT,
    session TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_session ON audit (session, t);
CREATE INDEX IF NOT EXISTS audit_kind_t ON audit (kind, t);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    patient TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    started_by TEXT,
    dose_t REAL,
    dosed_by TEXT,
    ended REAL,
    ended_by TEXT
);
CREATE INDEX IF NOT EXISTS sessions_room_started ON sessions (room, started);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
"""

INSERT_POINT = "INSERT INTO points (t, kind, room, session, line, payload) VALUES (?,?,?,?,?,?)"


def open_for_writing(path: Path) -> sqlite3.Connection:
    """The writer's connection, the tables made if missing."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed row survives power loss, not only a process crash.
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db


def open_for_reading(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """A read connection: in WAL mode it sees every committed row and never waits for the
    writer. check_same_thread=False because a pooled connection serves one thread after
    another (never two at once)."""
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    return db
