"""The running app's security (`vigil run`): secrets kept out of the journal, health and
console; private file modes; security headers on every response; public paths that cannot be
stretched; login throttling and body limits; single-use acknowledge links; no demo mode for
real rooms."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY, Influxd, VigilProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

PAGER_PASSWORD = "pager-pass-7f3k2q9x"
INFLUX_PASSWORD = "influx-pass-4r5t6y7u"  # InfluxDB 1.x basic auth in the URL
ALERTS_SECRET = "SkXlNuurmlQR7bFfigVcEf2W08XKXaT2UiHGd_qyAaI"  # secrets.token_urlsafe(32)

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_security"

journal_path = "{workdir}/journal.sqlite3"

[[rooms]]
id = "A"
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}

[[rooms]]
id = "B"
name = "Room <b>B</b>"
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "desaturation"
interval_s = 0.5
options = {{ desat_start_s = 1, desat_duration_s = 600 }}

[alerts]
secret = "{alerts_secret}"
token_db = "{workdir}/ack_tokens.sqlite"
[[alerts.contacts]]
name = "Ana"
tier = 1
urls = ["json://ana:{pager_password}@127.0.0.1:9/page"]
"""


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir = tmp_path_factory.mktemp("security")
    config = workdir / "vigil.toml"
    config.write_text(
        CONFIG.format(
            url=influxd.url.replace("://", f"://vigil:{INFLUX_PASSWORD}@", 1),
            workdir=workdir,
            alerts_secret=ALERTS_SECRET,
            pager_password=PAGER_PASSWORD,
        )
    )
    proc = VigilProcess(config, workdir)
    proc.workdir = workdir  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def _config_audit(journal: Path) -> str:
    """The raw payload of the `config` audit entry the running app wrote (waits for it)."""

    def payload() -> str | None:
        if not journal.exists():
            return None
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT payload FROM audit WHERE kind = 'config'").fetchone()
        except sqlite3.OperationalError:
            row = None
        finally:
            db.close()
        return None if row is None else str(row[0])

    return wait_for(payload, 10, "the config audit entry in the journal")


def test_the_config_audit_entry_holds_no_secret(app: VigilProcess) -> None:
    raw = _config_audit(app.workdir / "journal.sqlite3")  # type: ignore[attr-defined]
    secrets = (TEST_SECRET_KEY, PAGER_PASSWORD, ALERTS_SECRET, INFLUX_PASSWORD)
    leaked = [s for s in secrets if s in raw]
    assert leaked == []
    # Still an audit of the configuration: rooms and who is paged are there.
    payload = json.loads(raw)
    assert [r["id"] for r in payload["rooms"]] == ["A", "B"]
    assert [(c["name"], c["tier"]) for c in payload["alerts"]["contacts"]] == [("Ana", 1)]
    assert payload["alerts"]["contacts"][0]["urls"] == ["json://…"]


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/", None),
        ("/login", ""),
        ("/static/vigil.js", ""),
        ("/api/rooms", None),
        ("/api/health", ""),
        ("/api/rooms", ""),  # a refusal from the auth middleware
        ("/ack/not-a-token", ""),
    ],
)
def test_every_response_carries_the_security_headers(
    app: VigilProcess, path: str, token: str | None
) -> None:
    with app.client(token) as c:
        r = c.get(path, follow_redirects=False)
    got = {k: r.headers.get(k) for k in SECURITY_HEADERS}
    assert got == SECURITY_HEADERS
    csp = r.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("script-src") == "script-src 'self'"
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'"
    assert directives.get("object-src") == "object-src 'none'"


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/api/rooms",
        "/static/..%2fapi/rooms",
        "/ack/%2e%2e/api/rooms",
        "/ack/..%2f..%2fapi%2frooms",
        "/api/health/../rooms",
        "/login/../api/rooms",
    ],
)
def test_public_prefixes_cannot_reach_protected_data(app: VigilProcess, path: str) -> None:
    with app.client("") as c:
        r = c.get(path, follow_redirects=False)
    assert r.status_code in (400, 401, 404), (path, r.status_code)
    assert "Room A" not in r.text


def test_concurrent_wrong_logins_cannot_outrun_the_throttle(app: VigilProcess) -> None:
    """Guesses sent all at once are counted before their (slow) password checks end, so no
    more than the throttle's 5 wrong passwords are ever tried in its window."""
    app.user_token("throttle-target", "nurse", "the-right-password-1")
    n = 16
    start = threading.Barrier(n)

    def guess(i: int) -> int:
        with app.client("") as c:
            start.wait()
            body = {"username": "throttle-target", "password": f"wrong-guess-{i}"}
            return c.post("/api/auth/login", json=body).status_code

    with ThreadPoolExecutor(n) as pool:
        codes = sorted(pool.map(guess, range(n)))
    assert (codes.count(401), codes.count(429), len(codes)) == (5, n - 5, n)


def test_public_health_and_start_up_output_hold_no_credentials(app: VigilProcess) -> None:
    with app.client("") as c:
        health = c.get("/api/health")
    assert health.status_code == 200
    assert health.json()["influxdb"]["status"] == "ok"  # the credentials still work
    assert health.json()["influxdb"]["url"].startswith("http://127.0.0.1:")
    output = app.log_path.read_text()
    assert "InfluxDB:  http://127.0.0.1:" in output
    leaked = [
        (where, s)
        for where, text in (("health", health.text), ("output", output))
        for s in (TEST_SECRET_KEY, PAGER_PASSWORD, ALERTS_SECRET, INFLUX_PASSWORD)
        if s in text
    ]
    assert leaked == []


def test_files_with_patient_or_account_data_are_for_the_service_account_only(
    app: VigilProcess,
) -> None:
    workdir: Path = app.workdir  # type: ignore[attr-defined]
    _config_audit(workdir / "journal.sqlite3")  # written and committed by now
    files = sorted(
        p.name
        for p in workdir.iterdir()
        if p.name.startswith(("journal.sqlite3", "users.db")) and p.is_file()
    )
    assert "journal.sqlite3" in files and "journal.sqlite3-wal" in files
    modes = {name: oct((workdir / name).stat().st_mode & 0o777) for name in files}
    assert modes == {name: "0o600" for name in files}


def test_an_ack_link_posted_many_times_at_once_acknowledges_once(app: VigilProcess) -> None:
    """Eight phones (or a retrying app) POST the same link together: one acknowledges, the
    rest are told it was used. The GET before never acknowledges; echoed names are escaped."""
    from alerts.tokens import new_claim, sign

    wait_for(
        lambda: any(a["condition"] == "spo2_low" for a in app.get("/api/rooms/B").json()["alarms"]),
        20,
        "room B's spo2_low",
    )
    claim = new_claim(
        room="B",
        condition="spo2_low",
        since=None,
        contact="Ana",
        channel="json",
        exp=time.time() + 60,
    )
    token = sign(claim, ALERTS_SECRET.encode())
    with app.client("") as c:
        page = c.get(f"/ack/{token}")
    assert (page.status_code, "Acknowledge this alarm?" in page.text) == (200, True)
    assert "Room &lt;b&gt;B&lt;/b&gt;" in page.text and "<b>B</b>" not in page.text
    n = 8
    start = threading.Barrier(n)

    def post(_: int) -> tuple[int, str]:
        with app.client("") as c:
            start.wait()
            r = c.post(f"/ack/{token}")
        return r.status_code, r.text.split("<h1>", 1)[1].split("</h1>", 1)[0]

    with ThreadPoolExecutor(n) as pool:
        got = sorted(pool.map(post, range(n)))
    assert got == sorted(
        [(200, "Acknowledged")] + [(409, "This link has already been used")] * (n - 1)
    )


@pytest.mark.parametrize(
    ("how", "env", "line"),
    [
        ("environment", {"VIGIL_DEMO": "1"}, ""),
        ("config file", {}, "demo = true\n"),
    ],
)
def test_demo_cannot_be_switched_on_for_real_rooms(
    influxd: Influxd, tmp_path: Path, how: str, env: dict[str, str], line: str
) -> None:
    """`demo` with rooms configured would skip the secret checks and add demo-* accounts
    (an admin among them) with passwords printed to the log: start-up stops instead."""
    config = tmp_path / "vigil.toml"
    config.write_text(
        line + f'influx_url = "{influxd.url}"\njournal_path = "{tmp_path}/journal.sqlite3"\n'
        '[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "A-ox"\nprotocol = "masimo-ascii"\n'
        'simulate = { scenario = "steady" }\n'
    )
    with pytest.raises(RuntimeError) as err:
        VigilProcess(config, tmp_path, env={"VIGIL_SECRET_KEY": "", **env}).stop()
    assert "demo: " in str(err.value), how


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/rooms/A/history?since=nan", "since"),
        ("/api/rooms/A/history?since=inf", "since"),
        ("/api/rooms/A/history?since=1e300", "since"),
        ("/api/sessions?from=nan", "from"),
        ("/api/sessions?to=inf", "to"),
        ("/api/stats?from=1e300", "from"),
        ("/api/stats?to=-inf", "to"),
    ],
)
def test_non_finite_or_absurd_times_are_a_422_naming_the_field(
    app: VigilProcess, path: str, field: str
) -> None:
    with app.client() as c:
        r = c.get(path)
    assert r.status_code == 422, (path, r.status_code, r.text[:200])
    assert field in json.dumps(r.json()["detail"])


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_body_is_refused_before_it_is_read(app: VigilProcess, chunked: bool) -> None:
    """The login endpoint needs no authentication: a huge body there must not be buffered."""
    body = b'{"username": "x", "password": "' + b"a" * 2_000_000 + b'"}'
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    with app.client("") as c:
        r = c.post("/api/auth/login", content=content, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"detail": "request body larger than 65536 bytes"})
    with app.client("") as c:  # a normal login still gets its answer
        ok = c.post("/api/auth/login", json={"username": "nobody-here", "password": "x"})
    assert ok.status_code == 401
