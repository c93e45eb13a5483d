"""systemd's notify protocol against a real NOTIFY_SOCKET (an AF_UNIX datagram socket bound
by the test, as systemd binds its own): `vigil run` says READY=1 once serving and WATCHDOG=1
every half WATCHDOG_USEC; the pings come from the event loop, so a stuck loop stops them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from monitor.watchdog import SystemdNotify, ping_interval_s
from tests.conftest import Influxd, VigilProcess
from tests.waiting import wait_for, wait_for_async


class NotifySocket:
    """What systemd listens on: every datagram with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.received: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._recv, daemon=True)
        self._thread.start()

    def _recv(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def messages(self, prefix: str) -> list[float]:
        return [t for t, m in list(self.received) if m.startswith(prefix)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


async def stopped(s: NotifySocket) -> None:
    """Wait until the receiver has read STOPPING=1 (the last datagram sent)."""
    await wait_for_async(lambda: s.messages("STOPPING=1"), 2, "STOPPING=1")


async def status_said(s: NotifySocket, status: str) -> None:
    await wait_for_async(
        lambda: [m for _, m in list(s.received) if m.endswith("STATUS=" + status)], 2, status
    )


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    s = NotifySocket(tmp_path / "notify.sock")
    yield s
    s.close()


def test_ping_interval_is_half_the_watchdog_period_and_only_for_this_process() -> None:
    assert ping_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert ping_interval_s({}) is None
    assert ping_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert ping_interval_s({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None


def test_nothing_is_sent_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notify = SystemdNotify()
    assert (notify.enabled, notify.interval_s) == (False, None)
    notify.notify("READY=1")  # no socket: a no-op, never an error


async def test_a_stuck_event_loop_stops_the_pings(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    notify = SystemdNotify()
    assert notify.interval_s == 0.05
    notify.started()
    wait_ready = asyncio.get_running_loop().run_in_executor(
        None, wait_for, lambda: len(notify_socket.messages("WATCHDOG=1")) >= 3, 5, "3 pings"
    )
    await wait_ready
    # The loop is stuck for 0.6 s (a blocking call on it): no ping in that time.
    stuck_from = time.monotonic()
    time.sleep(0.6)
    stuck_to = time.monotonic()
    before = len(notify_socket.messages("WATCHDOG=1"))
    await wait_for_async(  # the loop runs again: pings resume
        lambda: len(notify_socket.messages("WATCHDOG=1")) > before, 2, "pings to resume"
    )
    await notify.stopping()
    await stopped(notify_socket)
    pings = notify_socket.messages("WATCHDOG=1")
    # Datagrams sent just before the block may be read a moment later by the receiver.
    assert [t for t in pings if stuck_from + 0.1 < t < stuck_to] == []
    assert notify_socket.messages("READY=1")


async def test_the_status_line_goes_with_a_ping_when_it_changes(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    monkeypatch.setenv("WATCHDOG_USEC", "40000")
    status = ["serving"]
    notify = SystemdNotify(status=lambda: status[0])
    notify.started()
    await status_said(notify_socket, "serving")
    status[0] = "error: driver-A-ox failed (ValueError: boom)"
    await status_said(notify_socket, status[0])
    status[0] = "serving"
    await wait_for_async(
        lambda: [m for _, m in list(notify_socket.received) if m == "WATCHDOG=1\nSTATUS=serving"],
        2,
        "serving again",
    )
    pinged = len(notify_socket.messages("WATCHDOG=1"))
    await wait_for_async(  # three more pings, none with the unchanged status
        lambda: len(notify_socket.messages("WATCHDOG=1")) >= pinged + 3, 2, "three more pings"
    )
    await notify.stopping()
    await stopped(notify_socket)
    said = [m for _, m in notify_socket.received if "STATUS=" in m]
    assert said == [
        "READY=1\nSTATUS=serving",
        "WATCHDOG=1\nSTATUS=error: driver-A-ox failed (ValueError: boom)",
        "WATCHDOG=1\nSTATUS=serving",
    ]


@pytest.mark.slow
def test_vigil_run_says_ready_once_serving_and_pings_the_watchdog(
    influxd: Influxd, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_watchdog"
[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady" }}
""")
    # WatchdogSec=2: a ping every second, and room for a test machine's stalls under load.
    env = {"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "2000000"}
    vigil = VigilProcess(config, tmp_path, env=env)
    try:
        ready = wait_for(lambda: notify_socket.messages("READY=1"), 10, "READY=1")
        assert len(ready) == 1
        # READY came once the server was serving: the liveness endpoint answers (without
        # a login, as docker's healthcheck calls it).
        live = httpx.get(f"{vigil.url}/api/health/live", timeout=5)
        assert (live.status_code, live.json()) == (200, {"status": "alive"})
        # docker compose's healthcheck command, aimed at this Vigil, passes.
        compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
        check = compose["services"]["vigil"]["healthcheck"]["test"][1:]
        check = [
            sys.executable if c == "python" else c.replace("8000", str(vigil.port)) for c in check
        ]
        subprocess.run(check, check=True, timeout=15)
        wait_for(lambda: len(notify_socket.messages("WATCHDOG=1")) >= 4, 15, "4 watchdog pings")
        pings = notify_socket.messages("WATCHDOG=1")
        assert pings[0] >= ready[0]
        gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
        assert max(gaps) < 2.0  # every half period (1 s): inside systemd's WatchdogSec
    finally:
        vigil.stop()
    wait_for(lambda: notify_socket.messages("STOPPING=1"), 5, "STOPPING=1")
