"""Staff accounts in SQLite: users (argon2 hashes), API tokens and login sessions.

Tokens and session ids are random (256 bit) and stored only as an HMAC-SHA256 under the
server's secret key, so a copy of the database alone lets nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitor.auth import tokens
from monitor.auth.tokens import TokenInfo
from monitor.errors import AccountError as AccountError  # its home: monitor/errors.py
from monitor.private_files import make_private

#: Each role can do everything the roles before it can.
ROLES: tuple[str, ...] = ("viewer", "nurse", "clinician", "admin")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
SESSION_S = 12 * 3600  # one clinic day; then log in again

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    created_t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users ON DELETE CASCADE,
    label TEXT NOT NULL, created_t REAL NOT NULL, token_id TEXT, expires_t REAL,
    last_used_t REAL, revoked_t REAL, revoked_by TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires_t REAL NOT NULL);
"""

#: Columns the tokens table gained with expiry and revocation (a store made before has none).
_TOKEN_COLUMNS = (
    ("token_id", "TEXT"),
    ("expires_t", "REAL"),
    ("last_used_t", "REAL"),
    ("revoked_t", "REAL"),
    ("revoked_by", "TEXT"),
)
_TOKEN_SELECT = (
    "SELECT token_id, username, label, created_t, expires_t, last_used_t, revoked_t, "
    "revoked_by FROM tokens"
)
#: last_used_t is written at most this often per token: one write a minute, not per request.
LAST_USED_RESOLUTION_S = 60.0


@dataclass(frozen=True, slots=True)
class Staff:
    username: str
    role: str

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Session:
    staff: Staff
    csrf: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new API token: the secret (shown once, then only its keyed hash exists) and its facts."""

    secret: str
    info: TokenInfo


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """A presented token: the staff member it acts as, or why it is refused (see `tokens`)."""

    staff: Staff | None
    reason: str = ""


class UserStore:
    def __init__(self, path: Path, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("secret_key must not be empty")
        self.path = path
        self._key = secret_key.encode()
        self._hasher = PasswordHasher()
        make_private(path)  # hashes and session ids: for the service account only
        with self._db() as db:
            db.executescript(_SCHEMA)
        self._migrate_tokens(time.time())

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # One short connection per operation: safe from any thread, nothing held open.
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        finally:
            db.close()

    def _migrate_tokens(self, now: float) -> None:
        """Give tokens made before expiry existed an id and an expiry DEFAULT_DAYS from now.

        They keep working (integrations do not break on upgrade) but no longer forever, and
        they appear in `vigil users tokens` where an admin can revoke them. Idempotent, and
        under an immediate write lock so two processes opening an old store do it once.
        """
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            have = {row[1] for row in db.execute("PRAGMA table_info(tokens)")}
            for name, kind in _TOKEN_COLUMNS:
                if name not in have:
                    db.execute(f"ALTER TABLE tokens ADD COLUMN {name} {kind}")
            old = db.execute(
                "SELECT token_hash FROM tokens WHERE token_id IS NULL OR expires_t IS NULL"
            ).fetchall()
            for (token_hash,) in old:
                db.execute(
                    "UPDATE tokens SET token_id = COALESCE(token_id, ?), "
                    "expires_t = COALESCE(expires_t, ?) WHERE token_hash = ?",
                    (tokens.new_token()[0], now + tokens.DEFAULT_DAYS * tokens.DAY_S, token_hash),
                )
            db.execute("CREATE UNIQUE INDEX IF NOT EXISTS tokens_by_id ON tokens (token_id)")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def tag(self, text: str) -> str:
        """A short keyed hash of `text` for the audit trail: the same text gives the same tag,
        so repeated attempts correlate, but without the secret key it cannot be read back or
        checked against guesses (a password typed as a username stays unreadable)."""
        mac = hmac.new(self._key, b"audit-tag\0" + text.encode(), hashlib.sha256)
        return mac.hexdigest()[:12]

    # -- users ------------------------------------------------------------------------------
    def add_user(self, username: str, role: str, password: str) -> Staff:
        _check_username(username)
        _check_role(role)
        _check_password(password)
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (username, role, self._hasher.hash(password), time.time()),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {username!r} already exists") from None
        return Staff(username, role)

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        with self._db() as db:
            cur = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (self._hasher.hash(password), username),
            )
            # A new password ends the logins made with the old one.
            db.execute("DELETE FROM sessions WHERE username = ?", (username,))
        if cur.rowcount == 0:
            raise AccountError(f"no user {username!r}")

    def set_role(self, username: str, role: str) -> None:
        _check_role(role)
        with self._db() as db:
            cur = db.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
        if cur.rowcount == 0:
            raise AccountError(f"no user {username!r}")

    def remove_user(self, username: str) -> None:
        with self._db() as db:
            cur = db.execute("DELETE FROM users WHERE username = ?", (username,))
        if cur.rowcount == 0:
            raise AccountError(f"no user {username!r}")

    def get(self, username: str) -> Staff | None:
        with self._db() as db:
            row = db.execute(
                "SELECT username, role FROM users WHERE username = ?", (username,)
            ).fetchone()
        return Staff(row[0], row[1]) if row else None

    def users(self) -> list[Staff]:
        with self._db() as db:
            rows = db.execute("SELECT username, role FROM users ORDER BY username").fetchall()
        return [Staff(u, r) for u, r in rows]

    def verify_password(self, username: str, password: str) -> Staff | None:
        with self._db() as db:
            row = db.execute(
                "SELECT role, password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            # Hash anyway so a wrong username takes as long as a wrong password.
            self._hasher.hash(password)
            return None
        try:
            self._hasher.verify(row[1], password)
        except (VerificationError, InvalidHashError):
            return None
        return Staff(username, row[0])

    # -- API tokens -------------------------------------------------------------------------
    def issue_token(
        self,
        username: str,
        label: str = "",
        days: int = tokens.DEFAULT_DAYS,
        now: float | None = None,
    ) -> IssuedToken:
        """A new API token acting as `username`, valid for `days` (1 to MAX_DAYS) from `now`."""
        try:
            tokens.check_days(days)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        now = time.time() if now is None else now
        while True:
            token_id, secret = tokens.new_token()
            info = TokenInfo(
                token_id, username, label, now, now + days * tokens.DAY_S, None, None, None
            )
            try:
                with self._db() as db:
                    db.execute(
                        "INSERT INTO tokens (token_hash, username, label, created_t, token_id, "
                        "expires_t) VALUES (?, ?, ?, ?, ?, ?)",
                        (self._digest(secret), username, label, now, token_id, info.expires_t),
                    )
            except sqlite3.IntegrityError:
                continue  # the 1-in-4-billion id clash: draw again
            return IssuedToken(secret, info)

    def create_token(self, username: str, label: str = "", days: int = tokens.DEFAULT_DAYS) -> str:
        """Just the secret of a new token (scripts and tests that need nothing else)."""
        return self.issue_token(username, label, days).secret

    def check_token(self, token: str, now: float) -> TokenCheck:
        """Who `token` acts as at `now`, or why not (unknown, expired or revoked)."""
        with self._db() as db:
            row = db.execute(
                _TOKEN_SELECT + " WHERE token_hash = ?", (self._digest(token),)
            ).fetchone()
            info = TokenInfo(*row) if row else None
            reason = tokens.refusal(info, now)
            if info is None or reason:
                return TokenCheck(None, reason)
            role = db.execute(
                "SELECT role FROM users WHERE username = ?", (info.username,)
            ).fetchone()
            if role is None:  # cannot happen with the cascade; refuse rather than guess
                return TokenCheck(None, tokens.refusal(None, now))
            if info.last_used_t is None or now - info.last_used_t >= LAST_USED_RESOLUTION_S:
                db.execute("UPDATE tokens SET last_used_t = ? WHERE token_id = ?", (now, info.id))
        return TokenCheck(Staff(info.username, role[0]))

    def token_user(self, token: str, now: float | None = None) -> Staff | None:
        return self.check_token(token, time.time() if now is None else now).staff

    def user_tokens(self, username: str) -> list[TokenInfo]:
        """`username`'s tokens, oldest first, revoked and expired ones too (for the record)."""
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        with self._db() as db:
            rows = db.execute(
                _TOKEN_SELECT + " WHERE username = ? ORDER BY created_t, token_id", (username,)
            ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke_token(self, username: str, token_id: str, by: str, now: float) -> TokenInfo:
        """Revoke `username`'s token `token_id` from `now` on, recording `by` whom.

        AccountError when the user or token does not exist ("no ...") or it was already
        revoked ("... already revoked"); an expired token can still be revoked (for the record).
        """
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        with self._db() as db:
            cur = db.execute(
                "UPDATE tokens SET revoked_t = ?, revoked_by = ? "
                "WHERE username = ? AND token_id = ? AND revoked_t IS NULL",
                (now, by, username, token_id),
            )
            row = db.execute(
                _TOKEN_SELECT + " WHERE username = ? AND token_id = ?", (username, token_id)
            ).fetchone()
        if row is None:
            raise AccountError(f"no token {token_id!r} for user {username!r}")
        info = TokenInfo(*row)
        if cur.rowcount == 0:
            assert info.revoked_t is not None
            raise AccountError(
                f"token {token_id} was already revoked at {tokens.utc(info.revoked_t)}"
            )
        return info

    # -- login sessions ---------------------------------------------------------------------
    def create_session(self, staff: Staff, now: float) -> tuple[str, str]:
        """A new session for `staff`: (session id for the cookie, CSRF token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires_t < ?", (now,))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (self._digest(sid), staff.username, csrf, now + SESSION_S),
            )
        return sid, csrf

    def session(self, sid: str, now: float) -> Session | None:
        with self._db() as db:
            row = db.execute(
                "SELECT u.username, u.role, s.csrf FROM sessions s JOIN users u USING (username) "
                "WHERE s.session_hash = ? AND s.expires_t >= ?",
                (self._digest(sid), now),
            ).fetchone()
        return Session(Staff(row[0], row[1]), row[2]) if row else None

    def end_session(self, sid: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE session_hash = ?", (self._digest(sid),))


def _check_username(username: str) -> None:
    if not USERNAME_RE.match(username):
        raise AccountError(
            f"username {username!r}: use 1-64 letters, digits or . _ @ - (no spaces)"
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role {role!r}: must be one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
