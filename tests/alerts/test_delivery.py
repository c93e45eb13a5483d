"""Delivery of pages (in process, a real receiver on loopback): retries stop once the alarm
is acknowledged."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from alerts.config import AlertsConfig, Contact
from monitor.core.models import AlarmState
from tests.alerts.test_message import ALARM
from tests.alerts.test_tokens import STRONG
from tests.paging_helpers import RecordingHost
from tests.receivers import HttpReceiver
from tests.waiting import wait_for_async


async def test_retries_stop_once_the_alarm_is_acknowledged(tmp_path: Path) -> None:
    import asyncio

    from alerts.notifier import Notifier
    from monitor.core.models import Control

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
