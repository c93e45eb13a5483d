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
    label TEXT NOT NULL, created_t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires_t REAL NOT NULL);
"""


class AccountError(ValueError):
    """A bad username, role or password, or a user that does not exist; says which."""


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


class UserStore:
    def __init__(self, path: Path, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("secret_key must not be empty")
        self.path = path
        self._key = secret_key.encode()
        self._hasher = PasswordHasher()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
        path.chmod(0o600)  # hashes and session ids: for the service account only

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

    def _digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

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
    def create_token(self, username: str, label: str = "") -> str:
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        token = "vgl_" + secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?)",
                (self._digest(token), username, label, time.time()),
            )
        return token

    def token_user(self, token: str) -> Staff | None:
        with self._db() as db:
            row = db.execute(
                "SELECT u.username, u.role FROM tokens t JOIN users u USING (username) "
                "WHERE t.token_hash = ?",
                (self._digest(token),),
            ).fetchone()
        return Staff(row[0], row[1]) if row else None

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
