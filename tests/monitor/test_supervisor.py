"""The supervisor (monitor/supervisor.py) and the core's `device_failed` alarm.

The supervisor runs real asyncio tasks with short backoff and stability times, waiting on
positive markers (the callbacks). The core's side is a pure timeline.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from drivers.stopping import stop_if_asked
from monitor.config import Settings
from monitor.core.controls import SessionStart
from monitor.core.models import AlarmEvent, DeviceState, LinkState, Priority
from monitor.core.pipeline import RoomPipeline
from monitor.supervisor import Backoff, Supervisor
from tests.core_helpers import run, spo2, transitions

FAILED, UP, DOWN = LinkState.FAILED, LinkState.CONNECTED, LinkState.DISCONNECTED


def test_backoff_doubles_and_is_capped() -> None:
    b = Backoff(start_s=0.5, max_s=30.0)
    assert [b.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


async def test_a_failing_task_is_restarted_and_recovers() -> None:
    """Fails three times (each restart after a backoff), then runs: `failed` naming the
    reason in health until it has run `stable_s`, then ok again."""
    sup = Supervisor(backoff=Backoff(0.01, 0.04), stable_s=0.3)
    runs = 0
    failures: list[str] = []
    recovered = asyncio.Event()
    running = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise ValueError(f"filedescriptor out of range ({runs})")
        running.set()
        await asyncio.Event().wait()

    sup.spawn("driver-ox", flaky, on_failure=failures.append, on_recovery=recovered.set)
    await asyncio.wait_for(running.wait(), 2)
    assert failures == [f"ValueError: filedescriptor out of range ({n})" for n in (1, 2, 3)]
    health = sup.health()
    assert health["status"] == "error"
    assert health["failed"]["driver-ox"]["failures"] == 3
    assert health["failed"]["driver-ox"]["reason"].startswith("ValueError")
    assert sup.failing("driver-ox")
    await asyncio.wait_for(recovered.wait(), 2)
    assert sup.health() == {"status": "ok", "running": 1, "failed": {}}
    assert sup.status["driver-ox"].restarts == 3
    await sup.stop()


async def test_a_task_that_keeps_failing_stays_failed() -> None:
    """It fails again before it has run `stable_s`: never reported recovered."""
    sup = Supervisor(backoff=Backoff(0.01, 0.01), stable_s=0.5)
    failures: list[str] = []
    recoveries: list[bool] = []

    async def broken() -> None:
        await asyncio.sleep(0.02)
        raise RuntimeError("still broken")

    sup.spawn(
        "forwarder", broken, on_failure=failures.append, on_recovery=lambda: recoveries.append(True)
    )
    while len(failures) < 20:
        await asyncio.sleep(0.02)
    assert recoveries == []
    assert sup.health()["failed"]["forwarder"]["failures"] >= 20
    await sup.stop()


async def test_a_task_that_returns_is_done_and_a_bad_callback_does_not_stop_supervision() -> None:
    sup = Supervisor(backoff=Backoff(0.01, 0.01), stable_s=0.1)
    calls = 0

    async def once_broken() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("x")

    def bad_callback(reason: str) -> None:
        raise RuntimeError("callback bug")

    task = sup.spawn("demo-A", once_broken, on_failure=bad_callback)
    await asyncio.wait_for(task, 2)
    assert calls == 2
    assert sup.status["demo-A"].state == "done"
    assert sup.health()["status"] == "ok"


async def test_stop_asks_again_a_task_whose_library_swallowed_the_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.11's asyncio.wait_for (inside bumble, bleak) can swallow a cancellation: the
    retry loop then goes on. It stops at its next round (stop_if_asked), or when asked again."""
    monkeypatch.setattr("monitor.supervisor.STOP_RETRY_S", 0.05)
    sup = Supervisor(backoff=Backoff(0.01, 0.01), stable_s=0.1)
    rounds = {"checked": 0, "deaf": 0}
    running = asyncio.Event()

    async def checks_each_round() -> None:
        while True:
            stop_if_asked()
            rounds["checked"] += 1
            try:
                running.set()
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass  # swallowed, as a library's wait_for may

    async def deaf_once() -> None:
        swallowed = False
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True
                rounds["deaf"] += 1
                asyncio.current_task().uncancel()  # type: ignore[union-attr]  # all trace gone

    sup.spawn("retry-loop", checks_each_round)
    sup.spawn("deaf", deaf_once)
    await running.wait()
    async with asyncio.timeout(5):
        await sup.stop()
    assert rounds == {"checked": 1, "deaf": 1}
    assert not sup._tasks


def test_stop_if_asked_is_silent_for_a_task_not_asked() -> None:
    async def not_asked() -> str:
        stop_if_asked()
        return "ran"

    assert asyncio.run(not_asked()) == "ran"


# -- the core: device_failed ------------------------------------------------------------------
def alarms(events: Iterable[object]) -> list[tuple[float, str, str, str]]:
    return [
        (e.t, e.condition, e.state.value, e.priority.value)
        for e in events
        if isinstance(e, AlarmEvent)
    ]


def test_device_failed_outside_a_session_is_shown_not_paged() -> None:
    """Low priority (dashboard only; the paging policy never pages low) at once, with the
    device and the reason; cleared when the driver has recovered."""
    p = RoomPipeline("A")
    events = run(p, [DeviceState(0, "ox", UP), DeviceState(5, "ox", FAILED, "ValueError: boom"),
                     6.0, 7.0, DeviceState(20, "ox", UP)])  # fmt: skip
    assert alarms(events) == [
        (5.0, "device_failed", "active", "low"),
        (20.0, "device_failed", "cleared", "low"),
    ]
    active = next(e for e in events if isinstance(e, AlarmEvent))
    assert "ox: ValueError: boom" in active.reason


def test_device_failed_worsens_to_medium_when_a_session_starts_and_is_the_only_alarm() -> None:
    """In a session it is paged (medium); the failed source explains its channels' silence
    (no `spo2_stale`) and is not reported again as `device_disconnected`."""
    p = RoomPipeline("A")
    items: list[object] = [DeviceState(0, "ox", UP), spo2(0.5, 97),
                           DeviceState(1, "ox", FAILED, "ValueError: boom"),
                           SessionStart(2, by="n")]  # fmt: skip
    items += [float(t) for t in range(3, 120)]
    events = run(p, items)  # type: ignore[arg-type]
    assert alarms(events) == [
        (1.0, "device_failed", "active", "low"),
        (2.0, "device_failed", "active", "medium"),
    ]
    assert p.active["device_failed"].priority == Priority.MEDIUM
    # Recovered into a missing port: from then on it is an ordinary disconnection.
    later = run(p, [DeviceState(120, "ox", DOWN, "open failed"), 121.0])
    assert transitions(later) == [
        (120.0, "device_failed", "cleared"),
        (121.0, "device_disconnected", "active"),
    ]


# -- the runtime: a part of Vigil that is not a device ----------------------------------------
async def test_a_failing_forwarder_is_an_error_in_health_and_on_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The journal forwarder raises (a bug, injected here): /api/health's status is `error`
    naming it, the console has the line, and the rest of Vigil keeps running."""
    from monitor.runtime import Vigil

    monkeypatch.chdir(tmp_path)  # the notifier's token store defaults to .vigil/ here
    vigil = Vigil(Settings(journal_path=tmp_path / "j.sqlite3", influx_url="http://127.0.0.1:9"))

    async def broken_forwarder() -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    vigil.recorder.run = broken_forwarder  # type: ignore[method-assign]
    await vigil.start()
    try:
        for _ in range(200):
            if "journal-forwarder" in vigil.health()["tasks"]["failed"]:
                break
            await asyncio.sleep(0.01)
        health = vigil.health()
        assert health["status"] == "error"
        assert health["tasks"]["failed"]["journal-forwarder"]["reason"] == (
            "DatabaseError: database disk image is malformed"
        )
        assert "ticker" not in health["tasks"]["failed"] and health["tasks"]["running"] >= 4
        assert "task journal-forwarder failed (1 in a row): DatabaseError" in caplog.text
        # What `systemctl status vigil` shows (monitor/watchdog.py sends it).
        assert vigil.status_line().startswith("error: journal-forwarder failed (DatabaseError")
    finally:
        await vigil.stop()
