"""Line protocol and the InfluxDB store against a real influxd."""

from __future__ import annotations

from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Flag, Priority, Reading
from monitor.store import lineproto
from monitor.store.influx import InfluxStore
from tests.conftest import Influxd


def test_line_protocol_escapes_and_skips_missing_values() -> None:
    r = Reading(
        t=1.5,
        channel="spo2",
        value=None,
        unit="%",
        status=frozenset({Flag.PROBE_OFF}),
        source="ox 1",
    )
    assert lineproto.reading_line("Room A", r) == (
        'reading,channel=spo2,room=Room\\ A,source=ox\\ 1 status="probe_off",valid=false 1500000000'
    )
    assert lineproto.line("m", {"a": "x,y=z"}, {"v": float("nan"), "s": 'q"'}, 0) == (
        'm,a=x\\,y\\=z s="q\\"" 0'
    )


async def test_write_and_query_back(influxd: Influxd) -> None:
    store = InfluxStore(influxd.url, "vigil_store_test", batch_s=0.1)
    await store.ensure_database()
    store.enqueue(lineproto.reading_line("A", Reading(100.0, "spo2", 96.0, "%", source="ox")))
    store.enqueue(
        lineproto.alarm_line(
            AlarmEvent(
                t=101.0,
                room="A",
                condition="spo2_low",
                kind=AlarmKind.PHYSIOLOGICAL,
                channel="spo2",
                priority=Priority.MEDIUM,
                state=AlarmState.ACTIVE,
                value=88.0,
                limit=90.0,
            )
        )
    )
    assert await store.flush()
    assert store.health()["status"] == "ok" and store.pending == 0
    rows = await store.query("SELECT value FROM reading WHERE room = 'A' GROUP BY \"channel\"")
    assert rows == [{"time": 100_000_000_000, "value": 96.0, "channel": "spo2"}]
    rows = await store.query('SELECT value, "limit" FROM alarm GROUP BY condition, state')
    assert rows == [
        {
            "time": 101_000_000_000,
            "value": 88.0,
            "limit": 90.0,
            "condition": "spo2_low",
            "state": "active",
        }
    ]
    await store.aclose()


async def test_unreachable_influx_keeps_lines_queued() -> None:
    store = InfluxStore("http://127.0.0.1:9", "x")  # discard port: nothing listens
    store.enqueue(lineproto.reading_line("A", Reading(1.0, "spo2", 96.0, "%")))
    assert not await store.flush()
    assert store.pending == 1
    assert store.health()["status"] == "degraded" and store.health()["last_error"]
    await store.aclose()
