"""Logins and account changes land in the hash-chained audit trail, from the API and the CLI.

The real app (`vigil run`) and the real `vigil users` CLI write to the same journal file; the
test reads the entries back from it and runs `vigil audit verify`.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.store.journal import Journal
from tests.conftest import ROOT, TEST_ADMIN, TEST_SECRET_KEY, Influxd, VigilProcess

pytestmark = pytest.mark.slow

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_auth_audit"
journal_path = "{journal}"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
"""

SECRETS = ("nurse-password-1", "wrong-password", "pw-12345678", "pw-87654321", "cli-pass-123")


def cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_logins_and_account_changes_are_audited_with_who_and_when(
    influxd: Influxd, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url, journal=journal))
    env = {**os.environ, "VIGIL_SECRET_KEY": TEST_SECRET_KEY, "VIGIL_USERS_DB": ""}
    t0 = time.time()
    app = VigilProcess(config, tmp_path)
    env["VIGIL_USERS_DB"] = str(app.users_db)
    tokens: list[str] = []
    try:
        app.user_token("aud-nurse", "nurse", password="nurse-password-1")
        with httpx.Client(base_url=app.url, timeout=5.0) as c:
            wrong = {"username": "aud-nurse", "password": "wrong-password"}
            assert c.post("/api/auth/login", json=wrong).status_code == 401
            right = {"username": "aud-nurse", "password": "nurse-password-1"}
            assert c.post("/api/auth/login", json=right).status_code == 200
            csrf = {"X-CSRF-Token": c.cookies["vigil_csrf"]}
            assert c.post("/api/auth/logout", headers=csrf).status_code == 200
        with app.client() as admin:
            new = {"username": "aud-clin", "role": "clinician", "password": "pw-12345678"}
            assert admin.post("/api/users", json=new).status_code == 201
            assert admin.patch("/api/users/aud-clin", json={"role": "viewer"}).status_code == 200
            change = {"password": "pw-87654321"}
            assert admin.patch("/api/users/aud-clin", json=change).status_code == 200
            made = admin.post("/api/users/aud-clin/tokens", json={"label": "ehr"})
            tokens.append(made.json()["token"])
            assert admin.delete("/api/users/aud-clin").status_code == 200
        c_args = ("-c", str(config))
        steps = [
            cli("users", "add", "cli-nurse", "--role", "nurse", "--password-stdin", *c_args,
                env=env, stdin="cli-pass-123\n"),
            cli("users", "role", "cli-nurse", "clinician", *c_args, env=env),
            cli("users", "token", "cli-nurse", "--label", "lab", *c_args, env=env),
            cli("users", "remove", "cli-nurse", *c_args, env=env),
        ]  # fmt: skip
        assert [(s.returncode, s.stderr) for s in steps] == [(0, "")] * 4
        tokens.append(steps[2].stdout.strip())
        # The app appends after the CLI did: the chain must still hold (one head, not two).
        with httpx.Client(base_url=app.url, timeout=5.0) as c:
            assert c.post("/api/auth/login", json=right).status_code == 200
    finally:
        app.stop()
    t1 = time.time()

    j = Journal(journal, readonly=True)
    try:
        entries = j.audit_entries(kinds=["auth"])
    finally:
        j.close()
    me = f"{getpass.getuser()}@cli"
    got = [
        (e.who, e.payload["action"], e.payload.get("username"), e.payload.get("role"),
         e.payload.get("via"))
        for e in entries
    ]  # fmt: skip
    assert got == [
        (None, "login_failed", "aud-nurse", None, None),
        ("aud-nurse", "login", None, "nurse", None),
        ("aud-nurse", "logout", None, None, None),
        (TEST_ADMIN, "user_added", "aud-clin", "clinician", None),
        (TEST_ADMIN, "role_changed", "aud-clin", "viewer", None),
        (TEST_ADMIN, "password_changed", "aud-clin", None, None),
        (TEST_ADMIN, "token_created", "aud-clin", None, None),
        (TEST_ADMIN, "user_removed", "aud-clin", "viewer", None),
        (me, "user_added", "cli-nurse", "nurse", "cli"),
        (me, "role_changed", "cli-nurse", "clinician", "cli"),
        (me, "token_created", "cli-nurse", None, "cli"),
        (me, "user_removed", "cli-nurse", "clinician", "cli"),
        ("aud-nurse", "login", None, "nurse", None),
    ]
    assert all(t0 <= e.t <= t1 for e in entries)
    assert entries[4].payload["was"] == "clinician"
    assert {e.payload.get("client") for e in entries if e.payload.get("via") is None} == {
        "127.0.0.1"
    }
    stored = " ".join(repr(e.payload) for e in entries)
    leaked = [s for s in (*SECRETS, *tokens) if s in stored]
    assert leaked == []

    verify = cli("audit", "verify", "-c", str(config), env=env)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("audit chain intact:")
