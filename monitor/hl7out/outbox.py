"""What both HL7 outputs read from the journal: their cursor, and the pseudonym of a session.

An output enabled for the first time starts at the journal's end: it sends what happens from
then on, not years of history to an EHR or an alarm manager that did not ask for it.
"""

from __future__ import annotations

import asyncio

from monitor.store.journal import Journal


async def open_cursor(journal: Journal, name: str) -> int:
    """The stored cursor of output `name`; made at the journal's end when it has none."""
    cursor = await asyncio.to_thread(journal.cursor, name)
    if cursor is None:
        await journal.committed()
        cursor = await asyncio.to_thread(journal.last_point_id)
        journal.set_cursor(name, cursor)
        await journal.committed()
    return cursor


class Pseudonyms:
    """Session id -> the pseudonym staff entered (the sessions table; cached)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._known: dict[str, str] = {}

    async def of(self, session: str | None) -> str:
        if not session:
            return ""
        if session not in self._known:
            row = await asyncio.to_thread(self.journal.session, session)
            self._known[session] = row.patient if row is not None else ""
        return self._known[session]
