"""`kill -USR1` on a running Vigil writes every thread's and every task's stack to its
console, and the service carries on (monitor/task_dump.py): how IT sees what a Vigil that
will not stop, or seems stuck, is doing."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import VigilProcess
from tests.waiting import wait_for


@pytest.fixture
def vigil(tmp_path: Path) -> Iterator[VigilProcess]:
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "http://127.0.0.1:9"
journal_path = "{tmp_path}/journal.sqlite3"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-oximeter"
protocol = "masimo-ascii"
port = "/dev/ttyVIGILnone"
""")
    proc = VigilProcess(config, tmp_path)
    yield proc
    proc.stop()


def test_sigusr1_dumps_threads_and_tasks_and_vigil_carries_on(vigil: VigilProcess) -> None:
    vigil.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: "--- task ticker" in vigil.log_path.read_text(), 10, "the task dump")
    log = vigil.log_path.read_text()
    # The threads (faulthandler, from the signal itself): the main thread's stack at least.
    assert "Current thread" in log and 'File "' in log
    # The tasks, each with where it waits: the room's loop, a driver, the forwarder.
    assert "task dump (SIGUSR1)" in log
    for name in ("room-A", "driver-A-oximeter", "journal-forwarder"):
        assert f"--- task {name}" in log, name
    # Down to where each waits: the ticker in its sleep.
    assert "in ticker" in log and "in sleep" in log
    assert vigil.get("/api/health").status_code == 200
    assert vigil.proc.poll() is None
