"""Delivery of pages (in process, a real receiver on loopback): retries stop once the alarm
is acknowledged."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.config import AlertsConfig, Contact
from alerts.errors import PagingStalled
from alerts.notifier import Notifier
from alerts.paging_thread import PagingThread
from monitor.core.models import AlarmState
from tests.alerts.test_message import ALARM
from tests.alerts.test_tokens import STRONG
from tests.paging_helpers import RecordingHost
from tests.receivers import HttpReceiver
from tests.waiting import wait_for, wait_for_async


async def test_retries_stop_once_the_alarm_is_acknowledged(tmp_path: Path) -> None:
    from monitor.core.controls import Control

    http = HttpReceiver(status=500)  # the push server is failing
    published: list[dict[str, object]] = []
    injected: list[tuple[str, Control]] = []
    cfg = AlertsConfig(
        contacts=[Contact(name="N", tier=1, urls=[f"json://127.0.0.1:{http.port}/n"])],
        secret=STRONG,  # type: ignore[arg-type]
        retry_attempts=5,
        backoff_initial_s=0.3,
        token_db=tmp_path / "t.sqlite",
    )
    notifier = Notifier(
        cfg,
        base_url="http://127.0.0.1:1",
        room_names={"B": "Room B"},
        host=RecordingHost(published=published, injected=injected),
    )
    runner = asyncio.create_task(notifier.run())
    try:
        now = time.time()  # the notifier's clock times the repeats
        active = replace(ALARM, state=AlarmState.ACTIVE, tier=1, t=now, since=now)
        notifier.on_event(active)
        await wait_for_async(lambda: len(http.requests) >= 2, 2, "two failed attempts")
        notifier.on_event(replace(active, t=now + 0.5, state=AlarmState.ACKNOWLEDGED, by="x"))
        # The retry after the backoff finds the alarm acknowledged: the delivery ends there.
        await wait_for_async(
            lambda: [m for m in published if m.get("result") == "withdrawn"], 5, "withdrawn"
        )
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        http.close()
    results = [m["result"] for m in published if m["event"] == "delivery"]
    assert results == ["failed", "failed", "withdrawn"]
    assert len(http.requests) == 2
    assert injected == []  # an acknowledged alarm's page is no failure to reach anyone


def _notifier(tmp_path: Path, http: HttpReceiver, host: RecordingHost) -> Notifier:
    cfg = AlertsConfig(
        contacts=[Contact(name="N", tier=1, urls=[f"json://127.0.0.1:{http.port}/n"])],
        secret=STRONG,  # type: ignore[arg-type]
        token_db=tmp_path / "t.sqlite",
    )
    return Notifier(cfg, base_url="http://127.0.0.1:1", room_names={"B": "Room B"}, host=host)


async def test_a_page_leaves_while_the_main_loop_is_held(tmp_path: Path) -> None:
    """At 1,000 rooms a burst of alarms can hold the main loop (every stream's sends) for a
    second or more: pages leave from a thread of their own, so they do not wait for it."""
    http, host = HttpReceiver(), RecordingHost()
    notifier = _notifier(tmp_path, http, host)
    runner = asyncio.create_task(notifier.run())
    try:
        await wait_for_async(lambda: notifier.deliveries.thread.started, 5, "the paging thread")
        now = time.time()
        notifier.on_event(replace(ALARM, state=AlarmState.ACTIVE, tier=1, t=now, since=now))
        # Hold the main loop (a blocking wait on it) until the page is at the receiver.
        wait_for(lambda: http.requests, 5, "the page, while the main loop is held", every_s=0.01)
        held_until = time.time()
        # Its record is handed back to the main loop: journaled, then on the stream.
        delivered = await wait_for_async(
            lambda: [m for m in host.published if m.get("result") == "delivered"], 5, "record"
        )
        assert [m for m in host.recorded if m.get("event") == "delivery"] == delivered
        # It says the send started while the main loop was held (its time is the paging side's).
        assert now < delivered[0]["t"] - delivered[0]["latency_ms"] / 1000 <= held_until
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        http.close()


async def test_a_paging_loop_that_stops_answering_fails_loudly() -> None:
    """A call that blocked the paging loop would hold every page without failing anything:
    the supervised worker fails instead (a failed part in /api/health, a console line)."""
    thread = PagingThread()
    release = threading.Event()
    never = asyncio.Event()
    try:
        work = asyncio.create_task(
            thread.run(never.wait(), check_every_s=0.05, stalled_after_s=0.2)
        )
        await wait_for_async(lambda: thread.started, 5, "the paging thread")
        thread.call_soon(release.wait, 30)  # blocks the paging loop until released
        with pytest.raises(PagingStalled, match="has not answered for 0.2 s"):
            await asyncio.wait_for(work, 10)
    finally:
        release.set()
        await thread.aclose()
    assert thread.loop.is_closed()


def test_contacts_are_looked_up_once_until_they_change(tmp_path: Path) -> None:
    """Looked up once per (tier, room), not per page; contacts changed live (the admin page:
    monitor/live_config.py replaces the notifier's config) are used from the next page on."""
    http = HttpReceiver()
    try:
        notifier = _notifier(tmp_path, http, RecordingHost())
        tier, first = notifier.contacts_for(2, "B")  # nobody at tier 2: tier 1 instead
        assert (tier, [c.name for c in first]) == (1, ["N"])
        assert notifier.contacts_for(2, "B")[1] is first  # remembered
        more = [*notifier.config.contacts, Contact(name="Charge", tier=2, urls=["json://x"])]
        notifier.config = notifier.config.model_copy(update={"contacts": more})
        tier, now = notifier.contacts_for(2, "B")
        assert (tier, [c.name for c in now]) == (2, ["Charge"])
    finally:
        http.close()
