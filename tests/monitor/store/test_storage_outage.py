"""InfluxDB stopped in the middle of a session: the journal holds everything, the low
`storage_degraded` alarm is raised and cleared, and once InfluxDB is back every reading is
there (counted point by point against the journal)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Influxd, VigilProcess, collect_stream, wait_http
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

DB = "vigil_outage"


class RestartableInfluxd(Influxd):
    """A private influxd (not the shared session fixture) that can be stopped and restarted on
    the same ports and data directory."""

    def start_again(self) -> None:
        exe = shutil.which("influxd")
        assert exe is not None
        self.log = open(self.workdir / "influxd.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [exe, "-config", str(self.workdir / "influxdb.conf")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http(f"{self.url}/ping", proc=self.proc)


@pytest.fixture
def private_influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableInfluxd]:
    server = RestartableInfluxd(tmp_path_factory.mktemp("influxd-private"))
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_influxd_outage_loses_nothing(private_influxd: RestartableInfluxd, tmp_path: Path) -> None:
    influx = private_influxd
    journal = tmp_path / "journal.sqlite3"
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influx.url}"
influx_database = "{DB}"
influx_batch_s = 0.2
journal_path = "{journal}"
storage_degraded_after_s = 1.0

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.1 }}
""")
    app = VigilProcess(config, tmp_path)
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()

    def health() -> dict[str, Any]:
        return app.get("/api/health").json()  # type: ignore[no-any-return]

    def count_in_influx() -> int:
        rows = influx.query("SELECT count(value) FROM reading WHERE channel = 'spo2'", db=DB)
        return int(rows[0]["count"]) if rows else 0

    try:
        app.post("/api/rooms/A/events", json={"event": "session_start"})
        wait_for(lambda: count_in_influx() > 10, 15, "readings in InfluxDB")
        influx.stop()
        t_down = time.time()
        wait_for(
            lambda: "storage_degraded" in health()["journal"]["alarms"], 15, "storage_degraded"
        )
        wait_for(lambda: health()["journal"]["unsent"] > 100, 15, "a backlog in the journal")
        assert health()["status"] == "degraded"
        t_up = time.time()
        influx.start_again()
        wait_for(lambda: health()["journal"]["unsent"] == 0, 30, "the backlog forwarded")
        wait_for(lambda: health()["journal"]["alarms"] == [], 10, "storage_degraded cleared")
    finally:
        stop.set()
        reader.join(10)
        app.stop()  # the final flush sends the last rows

    with sqlite3.connect(journal) as db:
        journaled = db.execute(
            "SELECT count(*) FROM points WHERE kind = 'reading' AND payload LIKE "
            '\'%"channel":"spo2"%\' AND payload NOT LIKE \'%"value":null%\''
        ).fetchone()[0]
        during_outage = db.execute(
            "SELECT count(*) FROM points WHERE kind = 'reading' AND t > ? AND t < ?",
            (t_down, t_up),
        ).fetchone()[0]
        unsent = db.execute("SELECT count(*) FROM points WHERE forwarded = 0").fetchone()[0]
        storage_alarms = [
            r[0]
            for r in db.execute(
                "SELECT json_extract(payload, '$.state') FROM audit WHERE kind = 'alarm' "
                "AND json_extract(payload, '$.condition') = 'storage_degraded' ORDER BY id"
            )
        ]
    assert unsent == 0
    assert journaled > 40 and during_outage > 60
    assert count_in_influx() == journaled
    assert storage_alarms == ["active", "cleared"]
    # Raised by the room's core (which owns alarm state), not by storage itself.
    streamed = [
        (m["condition"], m["state"], m["priority"], m["kind"], m["room"])
        for m in messages
        if m.get("type") == "alarm" and m["condition"] == "storage_degraded"
    ]
    assert streamed == [
        ("storage_degraded", "active", "low", "technical", "A"),
        ("storage_degraded", "cleared", "low", "technical", "A"),
    ]
