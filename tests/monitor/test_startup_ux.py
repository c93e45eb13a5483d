"""What a new user sees on the console: start-up, a missing device, a busy port, Ctrl-C,
and the account commands the start-up hint prints (the QA walkthrough's findings)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Influxd, VigilProcess, collect_stream, stop_or_dump
from tests.waiting import wait_for

SECRET = "fewhwINvKJYUphgjpzaRywtaa6urnWksVfC6Ot15ACc"  # secrets.token_urlsafe(32)
# Wall time of a Ctrl-C stop. That it did not wait out uvicorn's graceful timeout (2 s) is
# read from the log (uvicorn says so when it does); this bound says the stop is prompt even on
# a machine loaded by other test workers.
PROMPT_STOP_S = 5.0


def _vigil(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> Any:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _config(tmp_path: Path, influx_url: str, *, device_port: str) -> Path:
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influx_url}"
journal_path = "{tmp_path}/journal.sqlite3"
users_db = "{tmp_path}/users.db"
secret_key = "{SECRET}"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-oximeter"
protocol = "masimo-ascii"
port = "{device_port}"
""")
    return config


def test_busy_port_is_one_clear_line_before_anything_is_printed(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = _vigil("run", "--port", str(port), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "--port" in lines[0] and "VIGIL_PORT" in lines[0]
    assert not (tmp_path / ".vigil").exists()  # nothing was started


def test_users_need_no_rooms_only_the_secret(tmp_path: Path) -> None:
    # No configuration and no secret: told what to pass, nothing created.
    done = _vigil("users", "list", cwd=tmp_path, env={"VIGIL_SECRET_KEY": ""})
    assert done.returncode == 2
    assert "--config" in done.stderr and "VIGIL_SECRET_KEY" in done.stderr
    # The secret alone (no rooms) manages the accounts a configured Vigil uses.
    env = {"VIGIL_SECRET_KEY": SECRET}
    added = _vigil(
        "users", "add", "ana", "--role", "admin", "--password-stdin",
        cwd=tmp_path, env=env, stdin="a-good-password-1\n",
    )  # fmt: skip
    assert (added.returncode, added.stdout) == (0, "added ana (admin)\n"), added.stderr
    listed = _vigil("users", "list", cwd=tmp_path, env=env)
    assert (listed.returncode, listed.stdout) == (0, "ana\tadmin\n")
    assert (tmp_path / ".vigil" / "users.db").exists()


def test_the_start_up_hint_is_a_command_that_works(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9", device_port="/dev/ttyVIGILnone")
    env = {**os.environ, "VIGIL_SECRET_KEY": "", "VIGIL_USERS_DB": ""}
    env = {k: v for k, v in env.items() if v}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        hint = ""
        for line in proc.stdout:
            if "No staff accounts yet" in line:
                hint = line
            if line.startswith("Dashboard:"):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        hung = stop_or_dump(proc)
    assert hung is None, f"vigil did not stop on Ctrl-C ({hung}):\n{hint}{proc.stdout.read()}"
    found = re.search(r"`(vigil users add NAME [^`]*)`", hint)
    assert found, hint
    args = shlex.split(found.group(1).replace("NAME", "ana"))[1:] + ["--password-stdin"]
    added = _vigil(*args, cwd=ROOT, stdin="a-good-password-1\n")
    assert (added.returncode, added.stdout) == (0, "added ana (admin)\n"), added.stderr


@pytest.mark.parametrize(
    ("sig", "parent_ignores_sigint"),
    [
        # A shell script's `vigil run &` leaves SIGINT ignored: uvicorn's own handler came
        # only once serving, so a Ctrl-C sent while Vigil was starting was lost for good.
        (signal.SIGINT, True),
        (signal.SIGTERM, False),  # systemd's stop: it used to kill a starting Vigil outright
    ],
    ids=["sigint-ignored-by-parent", "sigterm"],
)
def test_a_stop_asked_while_starting_is_kept_and_clean(
    tmp_path: Path, sig: signal.Signals, parent_ignores_sigint: bool
) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9", device_port="/dev/ttyVIGILnone")

    def as_background_job() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_background_job if parent_ignores_sigint else None,  # noqa: PLW1509
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Dashboard:"):
            break
    proc.send_signal(sig)  # at once: uvicorn is not serving yet
    hung = stop_or_dump(proc)
    out = proc.stdout.read()
    assert hung is None, f"vigil did not stop ({hung}):\n{out}"
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out


@pytest.fixture
def unplugged(influxd: Influxd, tmp_path: Path) -> Iterator[VigilProcess]:
    config = _config(tmp_path, influxd.url, device_port="/dev/ttyVIGILnone")
    proc = VigilProcess(config, tmp_path)
    yield proc
    proc.stop()


@pytest.mark.slow
def test_unplugged_device_warned_once_and_ctrl_c_with_a_stream_open_is_clean(
    unplugged: VigilProcess,
) -> None:
    out: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(unplugged, out, stop), daemon=True)
    reader.start()
    # Three failed reconnect attempts (backoff 0.5, 1, 2 s) seen on the stream, which is
    # open; the console had its chance to say each of them.
    wait_for(
        lambda: (
            len(
                [
                    m
                    for m in list(out)
                    if m["type"] == "device"
                    and m["source"] == "A-oximeter"
                    and m["detail"].startswith("open failed")
                ]
            )
            >= 3
        ),
        15,
        "three failed attempts to open the port",
    )
    assert (
        unplugged.get("/api/health")
        .json()["drivers"]["A-oximeter"]["detail"]
        .startswith("open failed")
    )
    t0 = time.monotonic()
    unplugged.proc.send_signal(signal.SIGINT)
    code = unplugged.proc.wait(10)
    took = time.monotonic() - t0
    stop.set()
    log = unplugged.log_path.read_text()
    assert code == 0, log
    assert "timeout graceful shutdown exceeded" not in log, log  # uvicorn did not wait it out
    assert took < PROMPT_STOP_S, (took, log)
    assert "Traceback" not in log and "Exception in ASGI" not in log, log
    assert "Cancel" not in log, log  # uvicorn did not have to cancel the stream
    warnings = [line for line in log.splitlines() if "A-oximeter" in line]
    assert len(warnings) == 1, log
    assert "room A: device A-oximeter disconnected: open failed" in warnings[0]
    assert "/dev/ttyVIGILnone" in warnings[0]


def test_sigusr1_dumps_threads_and_tasks_and_vigil_carries_on(unplugged: VigilProcess) -> None:
    """`kill -USR1` writes every thread's and every task's stack to the console and the
    service carries on (monitor/task_dump.py): how IT sees what a stuck Vigil is doing."""
    unplugged.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: "--- task ticker" in unplugged.log_path.read_text(), 10, "the task dump")
    log = unplugged.log_path.read_text()
    # The threads (faulthandler, from the signal itself): the main thread's stack at least.
    assert "Current thread" in log and 'File "' in log
    # The tasks, each with where it waits: the room's loop, a driver, the forwarder.
    assert "task dump (SIGUSR1)" in log
    for name in ("room-A", "driver-A-oximeter", "journal-forwarder"):
        assert f"--- task {name}" in log, name
    # Down to where each waits: the ticker in its sleep.
    assert "in ticker" in log and "in sleep" in log
    assert unplugged.get("/api/health").status_code == 200
    assert unplugged.proc.poll() is None
