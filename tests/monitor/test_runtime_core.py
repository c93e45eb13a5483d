"""The new core inside the live service: the clinic's [rules] reach every room pipeline, and
the BP schedule's cuff requests appear on the live stream. `vigil run` as a user starts it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Influxd, VigilProcess, collect_stream
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def test_configured_rules_and_bp_requests_reach_the_live_service(
    influxd: Influxd, tmp_path: Path
) -> None:
    config = tmp_path / "vigil.toml"
    # A steady 97–98 % patient and a clinic rule that calls anything below 99 % low: only a
    # rule that really came from the config file can raise spo2_low here.
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_core_rt"

[rules.conditions.spo2_low]
delay_s = 1
limits = [{{ channel = "spo2", comparator = "<", absolute = 99 }}]

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
""")
    app = VigilProcess(config, tmp_path)
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    try:
        wait_for(lambda: any(m.get("type") == "snapshot" for m in messages), 10, "the snapshot")
        r = app.post(
            "/api/rooms/A/events",
            json={"event": "session_start", "args": {"pseudonym": "RC1", "age": 70}},
        )
        assert (r.status_code, r.json()) == (200, {"status": "ok", "outcome": "ok"})

        def seen(kind: str, **match: object) -> bool:
            return any(
                m.get("type") == kind and all(m.get(k) == v for k, v in match.items())
                for m in list(messages)
            )

        wait_for(
            lambda: (
                seen("bp_request", room="A", reason="pre-dose baseline reading")
                and seen("alarm", condition="spo2_low", state="active")
            ),
            20,
            lambda: f"the cuff request and spo2_low; saw {[m.get('type') for m in messages][-20:]}",
        )
    finally:
        stop.set()
        reader.join(10)
        room = app.get("/api/rooms/A").json()
        app.stop()
    assert seen("phase", room="A", phase="pre_dose")
    assert room["phase"] == "pre_dose" and room["baseline_status"] == "none"
    assert room["limits"]["spo2_low"] == [
        {"channel": "spo2", "comparator": "<", "limit": 99, "priority": "medium",
         "relative": False}
    ]  # fmt: skip
    assert room["session"]["started_by"] == "test-admin"
