"""API tokens: what is known about one (never its secret) and whether it may still be used.

A token reads `vgl_<id>_<secret>`: the id (8 hex digits) is not secret, is shown in listings
and the audit trail, and names the token when revoking it; the whole string is stored only as
a keyed hash (`monitor.auth.store`). Each token expires; an admin can revoke one by its id.

Pure: the caller passes the time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "vgl_"
DEFAULT_DAYS = 90
#: A token that outlives a year is one nobody remembers making; make a new one instead.
MAX_DAYS = 365
DAY_S = 86400.0

ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"


def new_token() -> tuple[str, str]:
    """A fresh (token id, token): 32 random bits of id, 256 of secret."""
    token_id = secrets.token_hex(4)
    return token_id, f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def check_days(days: int) -> None:
    """Raise ValueError (with the reason) when `days` is not an allowed lifetime."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"expiry: 1 to {MAX_DAYS} days (got {days!r})")


def utc(t: float) -> str:
    """`t` as a short UTC time for people: 2026-11-23 04:54Z."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%MZ")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One API token as listings show it (its secret is never stored, so never here)."""

    id: str
    username: str
    label: str
    created_t: float
    expires_t: float
    last_used_t: float | None
    revoked_t: float | None
    revoked_by: str | None

    def state(self, now: float) -> str:
        if self.revoked_t is not None:
            return REVOKED
        return EXPIRED if now >= self.expires_t else ACTIVE

    def as_dict(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "state": self.state(now),
            "created": self.created_t,
            "expires": self.expires_t,
            "last_used": self.last_used_t,
            "revoked": self.revoked_t,
            "revoked_by": self.revoked_by,
        }


def refusal(info: TokenInfo | None, now: float) -> str:
    """Why `info` may not be used at `now` ("" when it may); the text a client gets with 401."""
    if info is None:
        return "invalid API token"
    state = info.state(now)
    if state == REVOKED:
        assert info.revoked_t is not None
        return (
            f"API token {info.id} was revoked at {utc(info.revoked_t)}: ask an admin for a new one"
        )
    if state == EXPIRED:
        return f"API token {info.id} expired at {utc(info.expires_t)}: ask an admin for a new one"
    return ""
