"""Fixtures that start real components on loopback: influxd, and Vigil under uvicorn."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers (`make test`), files with end-to-end (`slow`) tests go first.

    Workers take whole files in collection order; a long file picked up last would run alone
    at the end while the other workers idle. Within a file the order is kept (a stable sort),
    and every worker sorts alike, as xdist requires. A plain `pytest` keeps the file order.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s: {last}")


class Influxd:
    """A real influxd on free loopback ports with its own data directory."""

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("influxd")
        if exe is None:
            pytest.fail(
                "influxd is not installed: run `make test` (it installs Debian's "
                "influxdb package) or `apt-get install influxdb`"
            )
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.workdir = workdir
        conf = workdir / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{workdir}/meta"\n'
            f'[data]\n  dir = "{workdir}/data"\n  wal-dir = "{workdir}/wal"\n'
            f"  query-log-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.http_port}"\n  log-enabled = false\n'
        )
        self.log = open(workdir / "influxd.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [exe, "-config", str(conf)], stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_http(f"{self.url}/ping", proc=self.proc)

    def query(self, q: str, db: str = "vigil") -> list[dict[str, object]]:
        r = httpx.get(f"{self.url}/query", params={"db": db, "q": q}, timeout=5.0)
        r.raise_for_status()
        rows: list[dict[str, object]] = []
        for result in r.json()["results"]:
            for series in result.get("series", []):
                for values in series["values"]:
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(series.get("tags", {}))
                    rows.append(row)
        return rows

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    server = Influxd(tmp_path_factory.mktemp("influxd"))
    yield server
    server.stop()


TEST_SECRET_KEY = "3aS6Fbb-fibL_sfQJ18qakZq3HUHTTGiShSeigQry7I"  # secrets.token_urlsafe(32)
TEST_ADMIN = "test-admin"


class VigilProcess:
    """`vigil run --config FILE` as a user starts it, on a free port.

    It runs in `workdir`, so every state file it keeps by default is the test's own. Staff
    accounts live in `workdir/users.db` under a test secret key; an admin API token is
    made before start, and get/post/client() send it, so every test is authenticated here.
    """

    def __init__(
        self,
        config: Path,
        workdir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,  # when the config must name it (e.g. alerts.ack_base_url)
        module: str = "monitor",  # tests.faulty_protocol: vigil plus a test-only protocol
        start_timeout_s: float = 20.0,  # the live benchmark's 1,000 rooms take longer
    ) -> None:
        from monitor.auth.store import UserStore

        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "vigil.log"
        self.users_db = workdir / "users.db"
        self.users = UserStore(self.users_db, TEST_SECRET_KEY)
        if self.users.get(TEST_ADMIN) is None:
            self.users.add_user(TEST_ADMIN, "admin", "test-admin-password")
        self.token = self.users.create_token(TEST_ADMIN, "tests")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {
            **os.environ,
            "VIGIL_SECRET_KEY": TEST_SECRET_KEY,
            "VIGIL_USERS_DB": str(self.users_db),
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "run",
                "--config",
                str(config),
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=full_env,
            # State files a config leaves at their defaults (.vigil/journal.sqlite3,
            # .vigil/ack_tokens.sqlite, .vigil/demo/...) land in the test's workdir, never in
            # the checkout's real ones.
            cwd=workdir,
        )
        try:
            wait_http(f"{self.url}/api/health", start_timeout_s, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"vigil did not start:\n{self.log_path.read_text()}") from None

    # Tests talk to the app only through these helpers, so that authentication (when it
    # is required) is added in one place.
    def client(self, token: str | None = None) -> httpx.Client:
        """A client authenticated with `token` (the admin's by default; "" for none)."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, timeout=5.0, headers=headers)

    def user_token(self, username: str, role: str, password: str = "password-1234") -> str:
        """Make a staff account (if new) and return an API token acting as it."""
        if self.users.get(username) is None:
            self.users.add_user(username, role, password)
        return self.users.create_token(username, "tests")

    def get(self, path: str, **kw: object) -> httpx.Response:
        with self.client() as c:
            return c.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> httpx.Response:
        with self.client() as c:
            return c.post(path, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; a Vigil that does not stop fails the test with
        what its threads and tasks were doing (a clinic's restart would hang the same way)."""
        hung = None
        if self.proc.poll() is None:
            self.proc.terminate()
            hung = stop_or_dump(self.proc)
        self.log.close()
        if hung is not None:
            raise AssertionError(
                f"vigil did not stop on SIGTERM ({hung}):\n{self.log_path.read_text()}"
            )


#: A stop asked by a signal ends within this, even on a machine busy with other test workers.
STOP_TIMEOUT_S = 20.0


def stop_or_dump(proc: subprocess.Popen[Any]) -> str | None:
    """Wait for a process asked to stop; if it does not, have it write its threads and tasks
    (monitor/task_dump.py) to its output, then kill it. None when it stopped; else its
    signal masks (pending, blocked, ignored, caught), for the failure message."""
    try:
        proc.wait(STOP_TIMEOUT_S)
        return None
    except subprocess.TimeoutExpired:
        pass
    status = Path(f"/proc/{proc.pid}/status").read_text()
    masks = "".join(line + "\n" for line in status.splitlines() if line.startswith("Sig"))
    proc.send_signal(signal.SIGUSR1)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)  # time to write the dump; a hung process does not end by itself here
    proc.kill()
    proc.wait()
    return masks


def collect_stream(app: VigilProcess, out: list[dict[str, Any]], stop: threading.Event) -> None:
    """Collect the stream's messages into `out` until `stop` is set."""
    with app.client() as client:
        while not stop.is_set():
            try:
                with client.stream("GET", "/api/stream", timeout=httpx.Timeout(5.0, read=3.0)) as r:
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            out.append(json.loads(line[5:]))
                        if stop.is_set():
                            return
            except httpx.HTTPError:
                time.sleep(0.2)


@contextmanager
def streamed(app: VigilProcess) -> Iterator[list[dict[str, Any]]]:
    """The app's stream messages, collected in the background while the block runs."""
    out: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, out, stop))
    reader.start()
    try:
        yield out
    finally:
        stop.set()
        reader.join(10)
