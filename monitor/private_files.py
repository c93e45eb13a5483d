"""Files for the service account only (journal, staff accounts, Pushover receipts).

Stdlib only and free of Vigil imports: the one module every package may use
(docs/architecture.md), so the journal (monitor.store), the staff accounts (monitor.auth)
and the Pushover receipts (alerts) share one helper.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def make_private(path: Path) -> None:
    """Create `path` (and its folder) as mode 0600 before SQLite opens it (its -wal and -shm
    files copy the mode), and tighten it when an older Vigil left it readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    with contextlib.suppress(OSError):  # not ours to chmod: leave it as it is
        path.chmod(0o600)
