"""Who logged in or out and who changed which account: audit entries in the journal.

Everything goes through one entry kind, `auth`, with the action in the payload, so a query
for "what happened to staff access" is one filter. Passwords, tokens and session ids are never
written: only usernames, roles, token labels, the client address and how it came in (`via`).
The API writes through the runtime's Recorder, `vigil users` through the Journal directly;
both have the same `audit(kind, who, payload, ...)` method.
"""

from __future__ import annotations

import getpass
from typing import Any, Protocol

KIND = "auth"

# The actions, spelled once (tests and Grafana filter on them).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"  # refused by the throttle before the password was checked
LOGOUT = "logout"
TOKEN_CREATED = "token_created"
TOKEN_REVOKED = "token_revoked"
USER_ADDED = "user_added"
USER_REMOVED = "user_removed"
ROLE_CHANGED = "role_changed"
PASSWORD_CHANGED = "password_changed"

#: `username` of a failed or refused login that names no account: what was typed is not
#: recorded (it may be a password typed into the wrong box), only a keyed tag of it. Not a
#: valid username (parentheses), so it cannot be mistaken for one.
UNKNOWN_USER = "(unknown)"

# Never in a payload, whatever a caller passes by mistake.
_SECRET_KEYS = frozenset({"password", "token", "secret", "session", "csrf"})


class AuditSink(Protocol):
    def audit(
        self,
        kind: str,
        who: str | None,
        payload: dict[str, Any],
        *,
        t: float | None = None,
        room: str | None = None,
        session: str | None = None,
    ) -> int | None: ...


def record(sink: AuditSink, action: str, who: str | None, **details: Any) -> int | None:
    """One `auth` audit entry: `who` did `action`; `details` name the account, role, ..."""
    payload = {k: v for k, v in details.items() if k not in _SECRET_KEYS and v is not None}
    return sink.audit(KIND, who, {"action": action, **payload})


def cli_actor() -> str:
    """Who runs `vigil users` (the operating-system account; the CLI has no login)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        name = "unknown"
    return f"{name}@cli"
