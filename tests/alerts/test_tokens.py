"""Acknowledge tokens: signed, expiring, refused when edited or forged, and single use across
a restart."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.tokens import (
    AckClaim,
    AckTokens,
    TokenError,
    TokenProblem,
    UsedTokens,
    check,
    new_claim,
    sign,
)

STRONG = "xO0nwMAZX5H1dKwWO3lP7zyfrITL8SwXQnlHrUlgT2M"  # secrets.token_urlsafe(32)
SECRET = b"k" * 40
CLAIM = AckClaim("B", "spo2_low", 100.0, "Nurse A", "ntfy", 1000.0, "abc")


def test_token_round_trip() -> None:
    assert check(sign(CLAIM, SECRET), SECRET, now=999.9) == CLAIM


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("token", "secret", "now", "problem"),
    [
        (sign(CLAIM, SECRET), SECRET, 1000.0, TokenProblem.EXPIRED),  # expiry is exclusive
        (sign(CLAIM, b"another secret"), SECRET, 0.0, TokenProblem.FORGED),
        (_flip_last(sign(CLAIM, SECRET)), SECRET, 0.0, TokenProblem.FORGED),
        # a payload edited to another room keeps the old signature: refused
        (
            sign(replace(CLAIM, room="C"), SECRET).split(".")[0]
            + "."
            + sign(CLAIM, SECRET).split(".")[1],
            SECRET,
            0.0,
            TokenProblem.FORGED,
        ),
        ("", SECRET, 0.0, TokenProblem.FORGED),
        ("no-dot-at-all", SECRET, 0.0, TokenProblem.FORGED),
        ("é.é", SECRET, 0.0, TokenProblem.FORGED),
    ],
    ids=["expired", "other-secret", "bad-signature", "edited-payload", "empty", "no-dot", "utf8"],
)
def test_refused_tokens(token: str, secret: bytes, now: float, problem: TokenProblem) -> None:
    with pytest.raises(TokenError) as err:
        check(token, secret, now)
    assert err.value.problem == problem


@given(st.data())
def test_any_edit_to_a_token_is_refused(data: st.DataObject) -> None:
    token = sign(CLAIM, SECRET)
    i = data.draw(st.integers(0, len(token) - 1))
    c = data.draw(st.characters(codec="ascii").filter(lambda ch: ch != token[i]))
    with pytest.raises(TokenError) as err:
        check(token[:i] + c + token[i + 1 :], SECRET, now=0.0)
    assert err.value.problem == TokenProblem.FORGED


def test_single_use_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    tokens = AckTokens(STRONG, 60.0, UsedTokens(db))
    token, issued = tokens.issue(
        room="B", condition="spo2_low", since=1.0, contact="N", channel="json", now=0.0
    )
    assert tokens.peek(token, 1.0) == tokens.peek(token, 2.0) == issued  # peeking does not use it
    claim = tokens.redeem(token, 3.0)
    assert (claim.room, claim.condition, claim.since, claim.exp) == ("B", "spo2_low", 1.0, 60.0)
    tokens.used.close()
    again = AckTokens(STRONG, 60.0, UsedTokens(db))
    for use in (again.peek, again.redeem):
        with pytest.raises(TokenError) as err:
            use(token, 4.0)
        assert err.value.problem == TokenProblem.USED
    other, _ = again.issue(
        room="B", condition="spo2_low", since=1.0, contact="N", channel="json", now=0.0
    )
    assert again.redeem(other, 5.0).jti != claim.jti


def test_claims_get_distinct_ids() -> None:
    ids = {
        new_claim(room="B", condition="c", since=None, contact="n", channel="j", exp=1).jti
        for _ in range(100)
    }
    assert len(ids) == 100
