"""The account store on a real SQLite file: hashes, tokens, sessions, bad input."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from monitor.auth.store import SESSION_S, AccountError, Staff, UserStore


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    s = UserStore(tmp_path / "users.db", "k" * 32)
    s.add_user("ana", "nurse", "ana-password-1")
    return s


def test_passwords_are_argon2_hashes_and_verify(store: UserStore) -> None:
    with sqlite3.connect(store.path) as db:
        (hashed,) = db.execute("SELECT password_hash FROM users").fetchone()
    assert hashed.startswith("$argon2id$") and "ana-password-1" not in hashed
    assert [
        store.verify_password("ana", "ana-password-1"),
        store.verify_password("ana", "wrong-password"),
        store.verify_password("nobody", "ana-password-1"),
    ] == [Staff("ana", "nurse"), None, None]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_tokens_are_stored_hashed_and_need_the_same_key(store: UserStore, tmp_path: Path) -> None:
    token = store.create_token("ana", "pager")
    with sqlite3.connect(store.path) as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM tokens")]
    assert token not in stored
    other_key = UserStore(store.path, "x" * 32)
    assert (store.token_user(token), other_key.token_user(token)) == (Staff("ana", "nurse"), None)


def test_sessions_expire_and_end_with_a_new_password(store: UserStore) -> None:
    staff = Staff("ana", "nurse")
    sid, csrf = store.create_session(staff, now=1000.0)
    session = store.session(sid, 1000.0 + SESSION_S)
    assert session is not None and (session.staff, session.csrf) == (staff, csrf)
    assert store.session(sid, 1001.0 + SESSION_S) is None
    sid2, _ = store.create_session(staff, now=2000.0)
    store.set_password("ana", "new-password-2")
    assert store.session(sid2, 2001.0) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("ana", "nurse", "whatever-long", "user 'ana' already exists"),
        ("bo b", "nurse", "whatever-long", "username 'bo b'"),
        ("bob", "surgeon", "whatever-long", "role 'surgeon'"),
        ("bob", "nurse", "short", "password: at least 8 characters"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(
    store: UserStore, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        store.add_user(name, role, password)
    assert [s.username for s in store.users()] == ["ana"]
