"""Open Pushover receipts on disk, so that a restarted Vigil can stop phones left ringing.

An emergency Pushover page rings until it is acknowledged, cancelled or expires. Vigil keeps
its receipts in memory to cancel them; if Vigil restarts, the new process has lost the alarms
they were about (the core starts again, and raises the alarm again if the condition is still
there, with a fresh page). So each open receipt is also written here, next to the used
acknowledge tokens, and at start-up every receipt left over is cancelled. The table holds
Pushover application tokens, so the file is kept private (0600).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from monitor.private_files import make_private


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    receipt: str
    app_token: str
    room: str
    condition: str
    contact: str


class ReceiptStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            make_private(Path(path))
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS open_pushover_receipt (receipt TEXT PRIMARY KEY, "
            "app_token TEXT NOT NULL, room TEXT NOT NULL, condition TEXT NOT NULL, "
            "contact TEXT NOT NULL)"
        )

    def add(self, r: StoredReceipt) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO open_pushover_receipt VALUES (?, ?, ?, ?, ?)",
            (r.receipt, r.app_token, r.room, r.condition, r.contact),
        )

    def remove(self, receipt: str) -> None:
        self._db.execute("DELETE FROM open_pushover_receipt WHERE receipt = ?", (receipt,))

    def all(self) -> list[StoredReceipt]:
        rows = self._db.execute(
            "SELECT receipt, app_token, room, condition, contact FROM open_pushover_receipt"
        ).fetchall()
        return [StoredReceipt(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
