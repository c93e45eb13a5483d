"""Every exception of monitor (but its pure core), under one root (the tree is in
monitor/__init__.py).

Stdlib only, so the package can export it without loading the runtime. The root carries,
beside the text, the part of Vigil it is about (as /api/health names parts).
"""

from __future__ import annotations


class MonitorError(Exception):
    """The root of monitor's exceptions. `message`: what happened; `part`: the part of Vigil
    it is about ("config", "auth", "report", "api", "hl7out")."""

    part: str = "monitor"

    def __init__(self, message: str = "", *, part: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if part is not None:
            self.part = part


class ConfigError(MonitorError):
    """The configuration is invalid; the message names the field (`<field>: <message>`)."""

    part = "config"


class ConfigChangeError(MonitorError):
    """A change (from the admin API) the validator refused; `errors` are `<field>: <message>`
    lines."""

    part = "config"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class AccountError(MonitorError, ValueError):
    """A bad username, role or password, or a user that does not exist; says which."""

    part = "auth"


class SessionNotFound(MonitorError, LookupError):
    """No session with that id in the journal."""

    part = "report"


class BodyTooLarge(MonitorError):
    """A request body over the API's size limit."""

    part = "api"


class LinkError(MonitorError):
    """The HL7 receiver could not be reached or did not acknowledge (the message may be
    resent)."""

    part = "hl7out"
