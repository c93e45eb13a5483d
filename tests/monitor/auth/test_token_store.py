"""API tokens in the account store on a real SQLite file: expiry, revocation, last use, the
migration of a store made before tokens expired, and the keyed tag for unknown usernames."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import time
from pathlib import Path

import pytest

from monitor.auth import tokens
from monitor.auth.store import (
    LAST_USED_RESOLUTION_S,
    AccountError,
    Staff,
    TokenCheck,
    UserStore,
)
from monitor.auth.tokens import DAY_S, TokenInfo

KEY = "k" * 32
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
ASK = ": ask an admin for a new one"


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    s = UserStore(tmp_path / "users.db", KEY)
    s.add_user("ana", "nurse", "ana-password-1")
    s.add_user("bo", "admin", "bo-password-12")
    return s


def test_a_token_names_its_id_and_is_stored_only_as_a_keyed_hash(store: UserStore) -> None:
    made = store.issue_token("ana", "pager", days=7, now=T0)
    assert re.fullmatch(r"vgl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", made.secret)
    assert made.secret.split("_")[1] == made.info.id
    assert made.info == TokenInfo(made.info.id, "ana", "pager", T0, T0 + 7 * DAY_S, *[None] * 3)
    with sqlite3.connect(store.path) as db:
        stored = repr(db.execute("SELECT * FROM tokens").fetchall())
    assert made.secret not in stored and made.secret.split("_", 2)[2] not in stored


@pytest.mark.parametrize(
    ("at", "revoke_at", "expect"),
    [
        (T0, None, TokenCheck(Staff("ana", "nurse"))),
        (T0 + 7 * DAY_S - 1, None, TokenCheck(Staff("ana", "nurse"))),
        (
            T0 + 7 * DAY_S,
            None,
            TokenCheck(None, "API token {id} expired at 2027-01-22 08:00Z" + ASK),
        ),
        (
            T0 + 60,
            T0 + 30,
            TokenCheck(None, "API token {id} was revoked at 2027-01-15 08:00Z" + ASK),
        ),
    ],
)
def test_a_token_works_until_it_expires_or_is_revoked(
    store: UserStore, at: float, revoke_at: float | None, expect: TokenCheck
) -> None:
    made = store.issue_token("ana", "pager", days=7, now=T0)
    if revoke_at is not None:
        store.revoke_token("ana", made.info.id, "bo", revoke_at)
    want = TokenCheck(expect.staff, expect.reason.format(id=made.info.id))
    assert store.check_token(made.secret, at) == want
    assert store.check_token("vgl_" + made.secret[4:-1], at) == TokenCheck(
        None, "invalid API token"
    )


def test_revoking_one_token_leaves_the_others_and_says_who(store: UserStore) -> None:
    a = store.issue_token("ana", "pager", now=T0)
    b = store.issue_token("ana", "ehr", now=T0 + 1)
    store.revoke_token("ana", a.info.id, "bo", T0 + 10)
    assert [
        (i.id, i.label, i.state(T0 + 11), i.revoked_t, i.revoked_by)
        for i in store.user_tokens("ana")
    ] == [
        (a.info.id, "pager", "revoked", T0 + 10, "bo"),
        (b.info.id, "ehr", "active", None, None),
    ]
    assert store.check_token(b.secret, T0 + 11) == TokenCheck(Staff("ana", "nurse"))
    assert store.user_tokens("bo") == []


@pytest.mark.parametrize(
    ("user", "token_id", "message"),
    [
        ("ghost", "ID", "no user 'ghost'"),
        ("ana", "deadbeef", "no token 'deadbeef' for user 'ana'"),
        ("bo", "ID", "no token '{id}' for user 'bo'"),  # another user's token id
        ("ana", "ID", "token {id} was already revoked at 2027-01-15 08:00Z"),
    ],
)
def test_revoking_what_is_not_there_or_already_revoked_says_so(
    store: UserStore, user: str, token_id: str, message: str
) -> None:
    made = store.issue_token("ana", now=T0)
    store.revoke_token("ana", made.info.id, "bo", T0 + 5)
    token_id = made.info.id if token_id == "ID" else token_id
    with pytest.raises(AccountError) as err:
        store.revoke_token(user, token_id, "bo", T0 + 9)
    assert str(err.value) == message.format(id=made.info.id)
    assert [i.revoked_t for i in store.user_tokens("ana")] == [T0 + 5]


@pytest.mark.parametrize(
    ("days", "ok"), [(1, True), (90, True), (365, True), (0, False), (366, False), (-5, False)]
)
def test_token_lifetime_is_one_day_to_a_year(store: UserStore, days: int, ok: bool) -> None:
    if ok:
        info = store.issue_token("ana", days=days, now=T0).info
        assert info.expires_t - info.created_t == days * DAY_S
    else:
        with pytest.raises(AccountError, match=r"expiry: 1 to 365 days"):
            store.issue_token("ana", days=days, now=T0)
        assert store.user_tokens("ana") == []


def test_last_use_is_recorded_at_most_once_a_minute(store: UserStore) -> None:
    made = store.issue_token("ana", now=T0)
    seen = []
    for at in (T0 + 1, T0 + 30, T0 + 1 + LAST_USED_RESOLUTION_S, T0 + 100):
        store.check_token(made.secret, at)
        seen.append(store.user_tokens("ana")[0].last_used_t)
    later = T0 + 1 + LAST_USED_RESOLUTION_S
    assert seen == [T0 + 1, T0 + 1, later, later]


def test_a_store_made_before_tokens_expired_is_migrated_and_its_tokens_keep_working(
    tmp_path: Path,
) -> None:
    """The old schema had no id, expiry or revocation: opening it adds them; an old token gets
    an id and DEFAULT_DAYS from the upgrade, and keeps working until then."""
    path = tmp_path / "old-users.db"
    old_token = "vgl_" + "A" * 43  # the old format: no id inside
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE users (username TEXT PRIMARY KEY, role TEXT NOT NULL,
                password_hash TEXT NOT NULL, created_t REAL NOT NULL);
            CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL
                REFERENCES users ON DELETE CASCADE, label TEXT NOT NULL, created_t REAL NOT NULL);
            """
        )
        db.execute("INSERT INTO users VALUES ('ana', 'nurse', 'x', 1.0)")
        digest = hmac.new(KEY.encode(), old_token.encode(), hashlib.sha256).hexdigest()
        db.execute("INSERT INTO tokens VALUES (?, 'ana', 'legacy', 100.0)", (digest,))
    before = time.time()
    store = UserStore(path, KEY)
    after = time.time()
    (info,) = store.user_tokens("ana")
    assert re.fullmatch(r"[0-9a-f]{8}", info.id)
    assert (info.label, info.created_t, info.revoked_t) == ("legacy", 100.0, None)
    assert before + 90 * DAY_S <= info.expires_t <= after + 90 * DAY_S
    assert store.check_token(old_token, after) == TokenCheck(Staff("ana", "nurse"))
    assert store.check_token(old_token, info.expires_t).staff is None
    # Opening it again changes nothing (the id an admin noted stays the id).
    again = UserStore(path, KEY).user_tokens("ana")
    assert [(i.id, i.expires_t) for i in again] == [(info.id, info.expires_t)]
    new = store.issue_token("ana", now=after)
    assert store.check_token(new.secret, after) == TokenCheck(Staff("ana", "nurse"))


def test_the_audit_tag_correlates_without_revealing(store: UserStore, tmp_path: Path) -> None:
    other = UserStore(tmp_path / "other.db", "z" * 32)
    typed = "MySecretPassw0rd!"
    tags = [store.tag(typed), store.tag(typed), store.tag(typed + "x"), other.tag(typed)]
    assert all(re.fullmatch(r"[0-9a-f]{12}", t) for t in tags)
    assert (tags[0] == tags[1], tags[0] != tags[2], tags[0] != tags[3]) == (True, True, True)
    assert typed not in tags[0]


def test_refusal_texts_are_pure_functions_of_the_token_and_time() -> None:
    info = TokenInfo("0a1b2c3d", "ana", "", T0, T0 + DAY_S, None, None, None)
    assert [tokens.refusal(None, T0), tokens.refusal(info, T0), info.state(T0 + DAY_S)] == [
        "invalid API token",
        "",
        "expired",
    ]
