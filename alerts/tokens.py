"""Acknowledge tokens: HMAC-signed, expiring, single use.

A token is `<payload>.<signature>`, both base64url without padding. The payload is compact
JSON naming the room, the condition and the alarm episode (`since`), who it was sent to and
through which channel, when it expires, and a random id. The signature is HMAC-SHA256 of the
payload with the configured secret, compared in constant time.

Signing and checking are pure (`sign`, `check`: time is passed in). Single use needs memory
that survives a restart, so used ids are kept in a small SQLite table (`UsedTokens`) next to
the expiry, and rows past their expiry are pruned (an expired token is refused anyway).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from alerts.errors import TokenError as TokenError  # its home: alerts/errors.py


class TokenProblem(StrEnum):
    FORGED = "forged"  # malformed, or the signature does not match
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class AckClaim:
    room: str
    condition: str
    since: float | None  # the alarm episode the page was about
    contact: str
    channel: str  # ntfy, json, mailto, pover, ...
    exp: float
    jti: str  # random id: what single use remembers


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def new_claim(
    *, room: str, condition: str, since: float | None, contact: str, channel: str, exp: float
) -> AckClaim:
    return AckClaim(room, condition, since, contact, channel, exp, secrets.token_urlsafe(12))


def sign(claim: AckClaim, secret: bytes) -> str:
    payload = _b64(json.dumps(asdict(claim), separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def check(token: str, secret: bytes, now: float) -> AckClaim:
    """The claim of a genuine, unexpired token; TokenError otherwise. Does not consume."""
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac or not payload.isascii() or not mac.isascii():
        raise TokenError(TokenProblem.FORGED)
    if not hmac.compare_digest(_mac(secret, payload), mac):
        raise TokenError(TokenProblem.FORGED)
    try:
        claim = AckClaim(**json.loads(_unb64(payload)))
    except (ValueError, TypeError, binascii.Error):
        raise TokenError(TokenProblem.FORGED) from None  # signed by us but not ours: a bug
    if now >= claim.exp:
        raise TokenError(TokenProblem.EXPIRED)
    return claim


class UsedTokens:
    """Ids of acknowledge tokens already used, in SQLite (`:memory:` for throwaway use).

    The server calls it from worker threads (its writes fsync): one connection, used by one
    thread at a time under a lock."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS used_ack_token "
            "(jti TEXT PRIMARY KEY, used_at REAL NOT NULL, exp REAL NOT NULL)"
        )

    def consume(self, claim: AckClaim, now: float) -> None:
        """Mark the token used; TokenError(USED) when it already was."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO used_ack_token (jti, used_at, exp) VALUES (?, ?, ?)",
                    (claim.jti, now, claim.exp),
                )
            except sqlite3.IntegrityError:
                raise TokenError(TokenProblem.USED) from None
            self._db.execute("DELETE FROM used_ack_token WHERE exp < ?", (now,))

    def is_used(self, claim: AckClaim) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM used_ack_token WHERE jti = ?", (claim.jti,)
            ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


class AckTokens:
    """Issue and redeem acknowledge tokens with one secret and one used-token table."""

    def __init__(self, secret: str, ttl_s: float, used: UsedTokens) -> None:
        self._secret = secret.encode()
        self.ttl_s = ttl_s
        self.used = used

    def issue(
        self,
        *,
        room: str,
        condition: str,
        since: float | None,
        contact: str,
        channel: str,
        now: float,
    ) -> tuple[str, AckClaim]:
        """A new token and its claim (whose `jti` the caller may remember it by)."""
        claim = new_claim(
            room=room,
            condition=condition,
            since=since,
            contact=contact,
            channel=channel,
            exp=now + self.ttl_s,
        )
        return sign(claim, self._secret), claim

    def peek(self, token: str, now: float) -> AckClaim:
        """Check a token without using it (the GET confirm page)."""
        claim = check(token, self._secret, now)
        if self.used.is_used(claim):
            raise TokenError(TokenProblem.USED)
        return claim

    def redeem(self, token: str, now: float) -> AckClaim:
        """Check and use a token (the POST that acknowledges)."""
        claim = check(token, self._secret, now)
        self.used.consume(claim, now)
        return claim
