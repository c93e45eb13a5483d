"""Security review, second round, against the real app (`vigil run`) and the real CLI: API
tokens expire and are revoked one by one, a 422 does not echo what was sent, and a failed
login's username is audited only when it names an account."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.auth.tokens import DAY_S
from tests.conftest import ROOT, TEST_ADMIN, TEST_SECRET_KEY, Influxd, VigilProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_api_tokens"
journal_path = "{workdir}/journal.sqlite3"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
"""

ME = f"{getpass.getuser()}@cli"


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir = tmp_path_factory.mktemp("api_tokens")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url, workdir=workdir))
    proc = VigilProcess(config, workdir)
    proc.workdir = workdir  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def vigil_users(app: VigilProcess, *args: str) -> subprocess.CompletedProcess[str]:
    workdir: Path = app.workdir  # type: ignore[attr-defined]
    env = {**os.environ, "VIGIL_SECRET_KEY": TEST_SECRET_KEY, "VIGIL_USERS_DB": str(app.users_db)}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "users", *args, "-c", str(workdir / "vigil.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def auth_audit(
    app: VigilProcess, enough: Callable[[list[tuple[str | None, dict[str, Any]]]], bool]
) -> tuple[list[tuple[str | None, dict[str, Any]]], str]:
    """The app's `auth` audit entries as (who, payload), and their raw payload text, once
    `enough` holds for them (the recorder writes in the background)."""
    journal = app.workdir / "journal.sqlite3"  # type: ignore[attr-defined]
    seen: list[tuple[str | None, dict[str, Any]]] = []

    def read() -> tuple[list[tuple[str | None, dict[str, Any]]], str] | None:
        if not journal.exists():
            return None
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT who, payload FROM audit WHERE kind = 'auth' ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError:
            rows = []
        finally:
            db.close()
        seen[:] = [(who, json.loads(p)) for who, p in rows]
        return (list(seen), " ".join(p for _, p in rows)) if enough(seen) else None

    return wait_for(read, 10, lambda: f"the expected audit entries; saw {seen}")


def test_admins_list_and_revoke_single_tokens_that_expire(app: VigilProcess) -> None:
    nurse_token = app.user_token("tok-nurse", "nurse")
    t0 = time.time()
    with app.client() as admin:
        made = {
            label: admin.post("/api/users/tok-nurse/tokens", json=body)
            for label, body in (("ehr", {"label": "ehr", "days": 7}), ("pager", {"label": "pager"}))
        }
    t1 = time.time()
    ehr, pager = made["ehr"].json(), made["pager"].json()
    assert (made["ehr"].status_code, sorted(ehr)) == (201, ["expires", "id", "token"])
    assert ehr["token"].startswith(f"vgl_{ehr['id']}_")
    assert t0 + 7 * DAY_S <= ehr["expires"] <= t1 + 7 * DAY_S
    assert t0 + 90 * DAY_S <= pager["expires"] <= t1 + 90 * DAY_S  # the default lifetime
    # An expired token (made by the store as if 8 days ago, for 7 days) is refused, saying so.
    old = app.users.issue_token("tok-nurse", "old", days=7, now=time.time() - 8 * DAY_S)

    with app.client(ehr["token"]) as c:
        assert c.get("/api/auth/me").json() == {
            "username": "tok-nurse",
            "role": "nurse",
            "timezone": "UTC",
        }
    with app.client(old.secret) as c:
        expired = c.get("/api/auth/me")
    assert (expired.status_code, expired.headers["www-authenticate"]) == (401, "Bearer")
    assert expired.json()["detail"].startswith(f"API token {old.info.id} expired at ")

    with app.client() as admin:
        listing = admin.get("/api/users/tok-nurse/tokens")
        revoked = admin.delete(f"/api/users/tok-nurse/tokens/{ehr['id']}")
        after = admin.get("/api/users/tok-nurse/tokens").json()
        refusals = [
            admin.delete(f"/api/users/tok-nurse/tokens/{ehr['id']}"),
            admin.delete("/api/users/tok-nurse/tokens/00000000"),
            admin.delete(f"/api/users/ghost/tokens/{ehr['id']}"),
            admin.get("/api/users/ghost/tokens"),
        ]
    secrets = (nurse_token, ehr["token"], pager["token"], old.secret)
    assert [s for s in secrets if s in listing.text or s.split("_", 2)[2] in listing.text] == []
    assert [(t["label"], t["state"], t["last_used"] is not None) for t in listing.json()] == [
        ("old", "expired", False),
        ("tests", "active", False),
        ("ehr", "active", True),  # used above
        ("pager", "active", False),
    ]
    assert (revoked.status_code, revoked.json()["state"], revoked.json()["revoked_by"]) == (
        200,
        "revoked",
        TEST_ADMIN,
    )
    assert [(t["label"], t["state"]) for t in after] == [
        ("old", "expired"),
        ("tests", "active"),
        ("ehr", "revoked"),
        ("pager", "active"),
    ]
    assert [(r.status_code, r.json()["detail"].split(" at ")[0]) for r in refusals] == [
        (409, f"token {ehr['id']} was already revoked"),
        (404, "no token '00000000' for user 'tok-nurse'"),
        (404, "no user 'ghost'"),
        (404, "no user 'ghost'"),
    ]

    # The revoked token is refused with its reason; the user's other tokens still work.
    with app.client(ehr["token"]) as c:
        gone = c.get("/api/rooms")
    assert (gone.status_code, gone.json()["detail"].split(" at ")[0]) == (
        401,
        f"API token {ehr['id']} was revoked",
    )
    with app.client(pager["token"]) as c:
        assert c.get("/api/auth/me").status_code == 200
    # Only admins see or revoke tokens.
    with app.client(nurse_token) as c:
        codes = [
            c.get("/api/users/tok-nurse/tokens").status_code,
            c.delete(f"/api/users/tok-nurse/tokens/{pager['id']}").status_code,
            c.post("/api/users/tok-nurse/tokens", json={}).status_code,
        ]
    assert codes == [403, 403, 403]

    entries, raw = auth_audit(app, lambda es: any(p["action"] == "token_revoked" for _, p in es))
    mine = [
        (who, p["action"], p.get("token_id"), p.get("label"))
        for who, p in entries
        if p.get("username") == "tok-nurse"
    ]
    assert mine == [
        (TEST_ADMIN, "token_created", ehr["id"], "ehr"),
        (TEST_ADMIN, "token_created", pager["id"], "pager"),
        (TEST_ADMIN, "token_revoked", ehr["id"], "ehr"),
    ]
    assert [s for s in secrets if s in raw] == []


def test_the_cli_lists_and_revokes_tokens_and_the_audit_says_who(app: VigilProcess) -> None:
    app.user_token("tok-cli", "viewer")
    made = vigil_users(app, "token", "tok-cli", "--label", "lab", "--days", "30")
    assert (made.returncode, made.stderr) == (0, "")
    secret = made.stdout.strip()
    token_id = secret.split("_")[1]
    listed = vigil_users(app, "tokens", "tok-cli")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == ["id", "state", "label", "created", "expires", "last used", "revoked by"]
    assert [(r[1], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("active", "tests", "-", "-"),
        ("active", "lab", "-", "-"),
    ]
    assert rows[2][0] == token_id
    assert rows[2][4][:10] == time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * DAY_S))
    assert secret.split("_", 2)[2] not in listed.stdout

    with app.client(secret) as c:
        assert c.get("/api/auth/me").status_code == 200
    revoke = vigil_users(app, "revoke-token", "tok-cli", token_id)
    assert (revoke.returncode, revoke.stdout, revoke.stderr) == (
        0,
        f"revoked token {token_id} of tok-cli\n",
        "",
    )
    with app.client(secret) as c:  # the running app sees it at once
        refused = c.get("/api/auth/me")
    assert (refused.status_code, refused.json()["detail"].split(" at ")[0]) == (
        401,
        f"API token {token_id} was revoked",
    )
    failures = [
        vigil_users(app, "revoke-token", "tok-cli", token_id),
        vigil_users(app, "revoke-token", "tok-cli", "ffffffff"),
        vigil_users(app, "tokens", "ghost"),
        vigil_users(app, "token", "tok-cli", "--days", "400"),
    ]
    assert [(f.returncode, f.stderr.split(" at ")[0].strip()) for f in failures] == [
        (1, f"vigil: token {token_id} was already revoked"),
        (1, "vigil: no token 'ffffffff' for user 'tok-cli'"),
        (1, "vigil: no user 'ghost'"),
        (1, "vigil: expiry: 1 to 365 days (got 400)"),
    ]
    after = vigil_users(app, "tokens", "tok-cli").stdout.splitlines()[2].split("\t")
    assert (after[0], after[1], after[5] != "-", after[6].split(" at ")[0]) == (
        token_id,
        "revoked",
        True,  # it was used once before it was revoked
        ME,
    )

    entries, raw = auth_audit(
        app,
        lambda es: any(
            p["action"] == "token_revoked" and p.get("username") == "tok-cli" for _, p in es
        ),
    )
    mine = [
        (who, p["action"], p.get("token_id"), p.get("via"))
        for who, p in entries
        if p.get("username") == "tok-cli"
    ]
    assert mine == [(ME, "token_created", token_id, "cli"), (ME, "token_revoked", token_id, "cli")]
    assert secret not in raw


NOTE = "patient disclosed a private matter 93jd"
PASSWORD = "correct-horse-battery-77"


@pytest.mark.parametrize(
    ("path", "token", "body", "error"),
    [
        (
            "/api/auth/login",
            "",
            {"password": PASSWORD},
            {"type": "missing", "loc": ["body", "username"], "msg": "Field required"},
        ),
        (
            "/api/auth/login",
            "",
            {"username": PASSWORD * 3, "password": "x"},
            {
                "type": "string_too_long",
                "loc": ["body", "username"],
                "msg": "String should have at most 64 characters",
            },
        ),
        (
            "/api/users",
            None,
            {"username": "new-one", "password": PASSWORD},
            {"type": "missing", "loc": ["body", "role"], "msg": "Field required"},
        ),
        (
            "/api/rooms/A/events",
            None,
            {"event": "note", "args": NOTE},
            {
                "type": "dict_type",
                "loc": ["body", "args"],
                "msg": "Input should be a valid dictionary",
            },
        ),
        (
            "/api/users/test-admin/tokens",
            None,
            {"label": NOTE, "days": 366},
            {
                "type": "less_than_equal",
                "loc": ["body", "days"],
                "msg": "Input should be less than or equal to 365",
            },
        ),
    ],
)
def test_a_422_says_where_and_why_but_not_what_was_sent(
    app: VigilProcess, path: str, token: str | None, body: dict[str, Any], error: dict[str, Any]
) -> None:
    with app.client(token) as c:
        r = c.post(path, json=body)
    assert (r.status_code, r.json()) == (422, {"detail": [error]})
    assert PASSWORD not in r.text and NOTE not in r.text


def test_a_failed_login_audits_only_names_of_real_accounts(app: VigilProcess) -> None:
    """A password typed into the username box must not land in the audit trail; a keyed tag
    lets repeated attempts with the same text be seen as one, and the throttle still locks."""
    app.user_token("real-user", "viewer", password="real-password-1")
    typed = "Tr0ub4dor&3-typed-as-a-name"

    def login(username: str, password: str) -> int:
        with app.client("") as c:
            body = {"username": username, "password": password}
            return c.post("/api/auth/login", json=body).status_code

    codes = [login("real-user", "wrong-password")]
    codes += [login(typed, f"guess-{i}") for i in range(6)]
    codes += [login("someone-else", "x")]
    assert codes == [401] + [401] * 5 + [429] + [401]

    def logins(es: list[tuple[str | None, dict[str, Any]]]) -> list[tuple[str | None, ...]]:
        return [
            (who, p["action"], p["username"], p.get("typed_tag"))
            for who, p in es
            if p["action"] in ("login_failed", "login_locked")
        ]

    entries, raw = auth_audit(app, lambda es: len(logins(es)) >= 8)
    tag, other = app.users.tag(typed), app.users.tag("someone-else")
    assert logins(entries) == [
        (None, "login_failed", "real-user", None),
        *[(None, "login_failed", "(unknown)", tag)] * 5,
        (None, "login_locked", "(unknown)", tag),
        (None, "login_failed", "(unknown)", other),
    ]
    assert tag != other
    assert typed not in raw and "someone-else" not in raw
