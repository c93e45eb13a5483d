"""Staff accounts against the real app: who may do what, cookies, CSRF, tokens, the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, Influxd, VigilProcess

pytestmark = pytest.mark.slow

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_auth"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
"""


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir = tmp_path_factory.mktemp("auth")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    proc = VigilProcess(config, workdir)
    yield proc
    proc.stop()


def status(app: VigilProcess, method: str, path: str, token: str | None, **kw: object) -> int:
    with app.client(token) as c:
        return c.request(method, path, follow_redirects=False, **kw).status_code  # type: ignore[arg-type]


def test_every_endpoint_but_health_and_login_needs_authentication(app: VigilProcess) -> None:
    cases = [
        ("GET", "/api/health", 200),
        ("GET", "/login", 200),
        ("GET", "/static/vigil.css", 200),
        ("GET", "/", 401),
        ("GET", "/api/rooms", 401),
        ("GET", "/api/rooms/A", 401),
        ("GET", "/api/stream", 401),
        ("GET", "/api/auth/me", 401),
        ("GET", "/openapi.json", 401),
        ("POST", "/api/rooms/A/events", 401),
    ]
    got = [(m, p, status(app, m, p, "")) for m, p, _ in cases]
    assert got == cases
    assert status(app, "GET", "/api/rooms", "vgl_not-a-real-token") == 401
    with app.client("") as c:
        r = c.get("/api/rooms")
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"detail": "authentication required"}
    # A person's browser asking for a page is sent to log in, and then back where it was.
    with app.client("") as c:
        r = c.get("/?room=B", headers={"Accept": "text/html"}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=%2F%3Froom%3DB")


def test_roles_decide_who_may_send_which_event(app: VigilProcess) -> None:
    tokens = {
        role: app.user_token(f"api-{role}", role) for role in ("viewer", "nurse", "clinician")
    }
    events = [
        ("note", {"text": "calm, talking"}),
        ("audio_pause", {}),
        ("ack", {"condition": "spo2_low"}),
        ("session_start", {"pseudonym": "JD"}),
        ("dose", {}),
        ("baseline", {"spo2": 97, "pulse_rate": 70, "sbp": 120, "dbp": 80}),
        ("confirm_baseline", {}),
        ("discharge_review", {"ready": True}),
        ("session_end", {}),
    ]
    # Past the role check the core decides: 200 applied, 409 refused in this state (e.g.
    # an ack with no alarm); either way the role was allowed.
    allowed = {200: "allowed", 409: "allowed"}
    table = {
        (role, event): allowed.get(code, code)
        for role, tok in tokens.items()
        for event, args in events
        for code in [
            status(app, "POST", "/api/rooms/A/events", tok, json={"event": event, "args": args})
        ]
    }
    nurse_may = {"note", "audio_pause", "ack"}
    expected = {
        (role, event): (
            403 if role == "viewer" or (role == "nurse" and event not in nurse_may) else "allowed"
        )
        for role in tokens
        for event, _ in events
    }
    assert table == expected
    assert status(app, "GET", "/api/rooms", tokens["viewer"]) == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"event": "session_start", "args": {"pseudonym": "John Smith"}}, 422),  # no names
        ({"event": "session_start", "args": {}}, 422),
        ({"event": "baseline", "args": {"spo2": 140}}, 422),
        ({"event": "note", "args": {"text": ""}}, 422),
        ({"event": "dose", "args": {"extra": 1}}, 422),
        ({"event": "launch", "args": {}}, 422),
        ({"event": "note", "args": {"text": "fine"}}, 200),
    ],
)
def test_bad_event_arguments_get_a_reason(
    app: VigilProcess, body: dict[str, object], code: int
) -> None:
    with app.client() as c:
        r = c.post("/api/rooms/A/events", json=body)
    assert r.status_code == code, r.text
    if code == 422:
        assert r.json()["detail"]


def test_login_session_cookie_and_csrf(app: VigilProcess) -> None:
    app.user_token("cookie-nurse", "nurse", password="nurse-password-1")
    with httpx.Client(base_url=app.url, timeout=5.0) as c:
        wrong = c.post("/api/auth/login", json={"username": "cookie-nurse", "password": "nope"})
        assert wrong.status_code == 401
        r = c.post(
            "/api/auth/login", json={"username": "cookie-nurse", "password": "nurse-password-1"}
        )
        assert r.json() == {"username": "cookie-nurse", "role": "nurse"}
        set_cookie = r.headers.get_list("set-cookie")
        session = next(h for h in set_cookie if h.startswith("vigil_session="))
        assert "HttpOnly" in session and "SameSite=strict" in session
        csrf = c.cookies["vigil_csrf"]
        assert c.get("/api/auth/me").json() == {
            "username": "cookie-nurse",
            "role": "nurse",
            "timezone": "UTC",  # the clinic's zone: the page shows times in it
        }
        # Another app's odd cookie on the same host does not hide the session.
        sid = c.cookies["vigil_session"]
        odd = {"Cookie": f"grafana_session=x; flag; a b=1; vigil_session={sid}"}
        with httpx.Client(base_url=app.url, timeout=5.0) as bare:
            assert bare.get("/api/auth/me", headers=odd).status_code == 200
        note = {"event": "note", "args": {"text": "fine"}}
        assert c.post("/api/rooms/A/events", json=note).status_code == 403  # no CSRF header
        bad = c.post("/api/rooms/A/events", json=note, headers={"X-CSRF-Token": "forged"})
        assert (bad.status_code, bad.json()) == (403, {"detail": "CSRF token missing or wrong"})
        ok = c.post("/api/rooms/A/events", json=note, headers={"X-CSRF-Token": csrf})
        assert (ok.status_code, ok.json()) == (200, {"status": "ok", "outcome": "ok"})
        assert c.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert c.get("/api/rooms").status_code == 401


def vigil_cli(
    *args: str, env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`vigil ...` run in `cwd`, where state files left at their defaults go (the journal the
    `users` commands audit into), never the checkout's."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_cli_makes_accounts_and_tokens_that_the_app_accepts(
    app: VigilProcess, tmp_path: Path, influxd: Influxd
) -> None:
    import os

    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    env = {**os.environ, "VIGIL_SECRET_KEY": TEST_SECRET_KEY, "VIGIL_USERS_DB": str(app.users_db)}
    add = vigil_cli(
        "users",
        "add",
        "cli-clin",
        "--role",
        "clinician",
        "--password-stdin",
        "-c",
        str(config),
        env=env,
        cwd=tmp_path,
        stdin="clinician-pass-9\n",
    )
    assert (add.returncode, add.stdout.strip()) == (0, "added cli-clin (clinician)")
    bad = vigil_cli(
        "users",
        "add",
        "x",
        "--role",
        "surgeon",
        "--password-stdin",
        "-c",
        str(config),
        env=env,
        cwd=tmp_path,
        stdin="whatever-long\n",
    )
    assert bad.returncode == 1 and "role 'surgeon'" in bad.stderr
    tok = vigil_cli("users", "token", "cli-clin", "-c", str(config), env=env, cwd=tmp_path)
    assert tok.returncode == 0
    with app.client(tok.stdout.strip()) as c:
        assert c.get("/api/auth/me").json() == {
            "username": "cli-clin",
            "role": "clinician",
            "timezone": "UTC",
        }


@pytest.mark.parametrize("secret", [None, "change-me", "short"])
def test_refuses_to_start_with_a_default_or_missing_secret(
    tmp_path: Path, influxd: Influxd, secret: str | None
) -> None:
    import os

    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_SECRET_KEY"}
    env["VIGIL_USERS_DB"] = str(tmp_path / "users.db")
    if secret is not None:
        env["VIGIL_SECRET_KEY"] = secret
    r = vigil_cli("run", "-c", str(config), "--port", "9", env=env, cwd=tmp_path)
    assert r.returncode == 2
    assert "secret_key (VIGIL_SECRET_KEY) is missing, a default or guessable" in r.stderr


def test_demo_prints_working_credentials_for_each_role(influxd: Influxd, tmp_path: Path) -> None:
    import re

    config = tmp_path / "demo.toml"
    config.write_text(f'influx_url = "{influxd.url}"\ninflux_database = "vigil_demo"\n')
    demo = VigilProcess(config, tmp_path, env={"PYTHONUNBUFFERED": "1"})
    try:
        log = demo.log_path.read_text()
        creds = dict(re.findall(r"Demo login \((\w+)\): \S+ / (\S+)", log))
        assert sorted(creds) == ["admin", "clinician", "nurse", "viewer"]
        for role, password in creds.items():
            with httpx.Client(base_url=demo.url, timeout=5.0) as c:
                r = c.post(
                    "/api/auth/login", json={"username": f"demo-{role}", "password": password}
                )
                assert r.json() == {"username": f"demo-{role}", "role": role}
                assert c.get("/api/rooms").status_code == 200
    finally:
        demo.stop()


def test_repeated_wrong_passwords_lock_the_username_for_a_while(app: VigilProcess) -> None:
    app.user_token("guessed-user", "viewer", password="right-password-1")
    app.user_token("bystander", "viewer", password="bystander-pass-1")
    with httpx.Client(base_url=app.url, timeout=5.0) as c:
        codes = [
            c.post(
                "/api/auth/login", json={"username": "guessed-user", "password": f"guess-{i}"}
            ).status_code
            for i in range(5)
        ]
        locked = c.post(
            "/api/auth/login", json={"username": "guessed-user", "password": "right-password-1"}
        )
        other = c.post(
            "/api/auth/login", json={"username": "bystander", "password": "bystander-pass-1"}
        )
    assert codes == [401] * 5
    assert locked.status_code == 429
    assert "too many failed logins for 'guessed-user'" in locked.json()["detail"]
    assert other.status_code == 200  # only that username is locked


def test_admins_manage_accounts_over_the_api(app: VigilProcess) -> None:
    nurse = app.user_token("api-nurse-2", "nurse")
    with app.client() as admin, app.client(nurse) as c:
        made = admin.post(
            "/api/users",
            json={"username": "new-clin", "role": "clinician", "password": "pw-12345678"},
        )
        results = [
            (made.status_code, made.json()),
            (c.get("/api/users").status_code, None),
            (
                admin.post(
                    "/api/users", json={"username": "x", "role": "boss", "password": "pw-12345678"}
                ).status_code,
                None,
            ),
            (admin.patch("/api/users/new-clin", json={"role": "viewer"}).json(), None),
            (admin.patch("/api/users/ghost", json={"role": "viewer"}).status_code, None),
            (admin.delete("/api/users/test-admin").status_code, None),
        ]
        token = admin.post("/api/users/new-clin/tokens", json={"label": "t"}).json()["token"]
        with app.client(token) as nc:
            me = nc.get("/api/auth/me").json()
        assert admin.delete("/api/users/new-clin").json() == {"status": "removed"}
        with app.client(token) as nc:
            gone = nc.get("/api/auth/me").status_code
    assert results == [
        (201, {"username": "new-clin", "role": "clinician"}),
        (403, None),
        (422, None),
        ({"username": "new-clin", "role": "viewer"}, None),
        (404, None),
        (409, None),
    ]
    assert (me, gone) == ({"username": "new-clin", "role": "viewer", "timezone": "UTC"}, 401)
