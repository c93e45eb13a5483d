"""Paging configuration: who is paged at which tier, and how often.

Lives under `[alerts]` in vigil.toml (`Settings.alerts`). Each contact has one or more Apprise
URLs (ntfy://, pover://user@token?priority=emergency, mailto://, json://, SMS gateways ...):
Apprise does the delivery, so adding a channel is a config change, not code.

A configured paging system needs a signing secret for its acknowledge links. Outside the
demo a missing or placeholder secret stops start-up (`Settings` calls `with_secret`); the
demo generates a random one per run.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from alerts.secret_strength import HOW_TO_MAKE_ONE, weakness

# Secrets people paste from examples: refusing them is the point of having a secret.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "vigil", "demo"})
MIN_SECRET_CHARS = 32
HTTP_URL = r"https?://[^\s/]+(/[^\s]*)?"  # also Settings.influx_url


def _default_repeat_s() -> dict[Literal["high", "medium"], float]:
    return {"high": 30.0, "medium": 60.0}


class Contact(BaseModel):
    """A person (or a shared phone) paged at one escalation tier."""

    model_config = ConfigDict(extra="forbid", strict=True)  # `tier = "1"` is a mistake
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 _.'-]+$")
    tier: int = Field(ge=1, le=3)  # 1 room nurse, 2 charge nurse, 3 physician
    urls: list[str] = Field(min_length=1)
    rooms: list[str] = Field(default_factory=list)  # empty: every room

    @field_validator("urls")
    @classmethod
    def _apprise_urls(cls, urls: list[str]) -> list[str]:
        import apprise

        for url in urls:
            if not apprise.Apprise().add(url):
                # Never echo the URL: it usually holds a token or a password.
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise ValueError(f"not a valid Apprise URL (scheme {scheme!r})")
        return urls

    @model_validator(mode="after")
    def _rooms_not_empty(self) -> Contact:
        if "rooms" in self.model_fields_set and not self.rooms:
            # Left out means every room; written as [] it most likely means "none for now".
            raise ValueError(
                "rooms: an empty list would page this contact for every room; leave `rooms` "
                "out for every room, or name the rooms"
            )
        return self

    def covers(self, room: str) -> bool:
        return not self.rooms or room in self.rooms


class AlertsConfig(BaseModel):
    """Escalation to phones (clinical-defaults.md). Escalation timeouts stay in
    `Settings.escalation_after_s`: the core owns alarm timing; this owns delivery."""

    model_config = ConfigDict(extra="forbid", strict=True)  # as Contact; paths are strings
    contacts: list[Contact] = Field(default_factory=list)
    # Repeat interval per priority while unacknowledged. Low priority is dashboard only.
    # Medium: 60 s, half its first escalation timeout, so tier 1 hears it twice first.
    repeat_s: dict[Literal["high", "medium"], float] = Field(default_factory=_default_repeat_s)
    retry_attempts: int = Field(4, ge=1, le=20)  # per URL per page
    backoff_initial_s: float = Field(0.5, gt=0, le=60)
    backoff_max_s: float = Field(8.0, gt=0, le=600)
    workers: int = Field(16, ge=1, le=256)  # Apprise sends in flight at once
    send_timeout_s: float = Field(5.0, gt=0, le=120)  # per attempt
    # Where phones reach the acknowledge page; empty: http://<host>:<port> of `vigil run`.
    ack_base_url: str = Field("", pattern=rf"^({HTTP_URL})?$")
    token_ttl_s: float = Field(900.0, gt=0, le=86_400)
    secret: SecretStr = SecretStr("")
    # Single-use acknowledge tokens are remembered here (SQLite) so a restart cannot
    # make a used link valid again.
    token_db: Path = Field(Path(".vigil/ack_tokens.sqlite"), strict=False)
    # Pushover emergency pages (alerts/pushover.py): where the API is, how often an open
    # receipt is polled for an acknowledgement made in the Pushover app (Pushover allows
    # once every 5 s), and whether Pushover may call back at once instead, which needs
    # ack_base_url to be reachable from the internet.
    pushover_api_url: str = Field("https://api.pushover.net", pattern=rf"^{HTTP_URL}$")
    pushover_poll_s: float = Field(10.0, ge=5, le=600)
    pushover_callback: bool = False
    # `alarm_manager` (an HL7 alarm manager beside the phones) is added by Settings:
    # monitor/hl7out/config.py (AlertsSettings).

    @field_validator("repeat_s")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, s in v.items() if not s > 0)
        if bad:
            raise ValueError(f"repeat interval must be > 0 s for {bad}")
        return v

    @model_validator(mode="after")
    def _tier_one_present(self) -> AlertsConfig:
        names = [c.name for c in self.contacts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"contacts: duplicate name {dupes}")
        if self.contacts and not any(c.tier == 1 for c in self.contacts):
            raise ValueError("contacts: at least one tier-1 contact (room nurse) is required")
        if self.pushover_callback and not self.ack_base_url:
            raise ValueError(
                "pushover_callback: needs ack_base_url, the address where Pushover's servers "
                "reach this Vigil"
            )
        return self

    def with_secret(self, *, demo: bool) -> Self:
        """Refuse a missing or placeholder secret when paging is configured; the demo
        generates one (its links then die with the process, which is what a demo wants)."""
        value = self.secret.get_secret_value()
        guessable = weakness(value)
        placeholder = value.strip().lower() in PLACEHOLDER_SECRETS
        if not (placeholder or guessable or len(value) < MIN_SECRET_CHARS):
            return self
        if demo or not self.contacts:
            return self.model_copy(update={"secret": SecretStr(secrets.token_urlsafe(32))})
        why = f" ({guessable})" if guessable and not placeholder else ""
        raise ValueError(
            f"alerts.secret: set a random signing secret of at least {MIN_SECRET_CHARS} "
            f"characters for acknowledge links{why}, e.g. `{HOW_TO_MAKE_ONE}`"
        )

    def check_rooms(self, room_ids: list[str]) -> None:
        """Every contact's rooms are configured rooms, and every room has a tier-1 contact
        when paging is configured: a room whose alarms page nobody at once would fail
        silently (escalation only reaches higher tiers a minute or more later)."""
        known = ", ".join(room_ids)
        for i, c in enumerate(self.contacts):
            for room in c.rooms:
                if room not in room_ids:
                    raise ValueError(
                        f"alerts.contacts.{i}.rooms: unknown room id {room!r} "
                        f"(configured rooms: {known}; ids are case-sensitive)"
                    )
        if not self.contacts:
            return  # paging not configured: the dashboard alone
        for room in room_ids:
            if not any(c.tier == 1 and c.covers(room) for c in self.contacts):
                raise ValueError(
                    f"alerts.contacts: no tier-1 contact (room nurse) covers room {room}: its "
                    f"alarms would page nobody at once; add {room} to a tier-1 contact's "
                    "rooms, or leave that contact's rooms out (every room)"
                )

    def contacts_for(self, tier: int, room: str) -> tuple[int, list[Contact]]:
        """Contacts of `tier` for `room`; when that tier has nobody, the nearest lower tier
        that has someone (a missing physician must not swallow an escalation)."""
        for t in range(tier, 0, -1):
            found = [c for c in self.contacts if c.tier == t and c.covers(room)]
            if found:
                return t, found
        return tier, []
