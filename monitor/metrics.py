"""Vigil's state in Prometheus's text format, for fleet monitoring (`GET /metrics`).

Read from the runtime when scraped (a custom collector), so the rooms' hot path keeps no
extra counters: rooms, readings, alarms active, the journal's backlog, the forwarder's lag,
event-loop lag, stream clients and each device's link. Counts and states only: no patient
data (room and device ids are configuration).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.core.models import LinkState
from monitor.runtime import Vigil

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class VigilCollector(Collector):
    def __init__(self, vigil: Vigil) -> None:
        self.vigil = vigil

    def collect(self) -> Iterator[Metric]:
        v = self.vigil
        site = v.settings.site
        info = GaugeMetricFamily("vigil_info", "This Vigil", labels=["site", "version"])
        info.add_metric([site, __version__], 1)
        yield info
        yield GaugeMetricFamily("vigil_rooms", "Rooms configured", value=len(v.rooms))
        yield CounterMetricFamily(
            "vigil_readings", "Readings received from devices", value=v.recorder.readings
        )
        active = Counter(
            (e.kind.value, e.priority.value)
            for r in v.rooms.values()
            for e in r.pipeline.active.values()
        )
        alarms = GaugeMetricFamily(
            "vigil_alarms_active", "Alarms active now", labels=["kind", "priority"]
        )
        for kind in ("physiological", "technical"):
            for prio in ("high", "medium", "low"):
                alarms.add_metric([kind, prio], active.get((kind, prio), 0))
        yield alarms
        journal = v.recorder.journal
        yield GaugeMetricFamily(
            "vigil_journal_backlog",
            "Journal rows not yet in InfluxDB (last count)",
            value=journal.unsent_counted or 0,
        )
        yield CounterMetricFamily(
            "vigil_journal_appended", "Rows appended to the journal", value=journal.appended
        )
        yield CounterMetricFamily(
            "vigil_forwarded",
            "Journal rows forwarded to InfluxDB",
            value=v.recorder.forwarder.forwarded,
        )
        last_ok = v.store.last_ok
        yield GaugeMetricFamily(
            "vigil_forwarder_lag_seconds",
            "Seconds since InfluxDB last took a write (-1: never yet)",
            value=-1.0 if last_ok is None else max(0.0, time.time() - last_ok),
        )
        yield GaugeMetricFamily(
            "vigil_influxdb_up", "InfluxDB takes writes", value=int(v.store.status == "ok")
        )
        lag = v.loop_lag.summary()
        loop = GaugeMetricFamily(
            "vigil_event_loop_lag_seconds",
            "Event-loop lateness over the last minute",
            labels=["stat"],
        )
        loop.add_metric(["p99"], lag["p99_ms"] / 1000)
        loop.add_metric(["max"], lag["max_ms"] / 1000)
        yield loop
        yield GaugeMetricFamily(
            "vigil_stream_clients", "Live stream (dashboard) connections", value=v.hub.subscribers
        )
        up = GaugeMetricFamily(
            "vigil_device_connected", "Device link is up", labels=["room", "device", "protocol"]
        )
        frames = CounterMetricFamily(
            "vigil_device_frames", "Frames decoded", labels=["room", "device", "protocol"]
        )
        for room in v.rooms.values():
            for dev in room.devices:
                labels = [room.config.id, dev.config.id, dev.config.protocol]
                up.add_metric(labels, int(dev.driver.state == LinkState.CONNECTED))
                frames.add_metric(labels, dev.driver.decoder.frames)
        yield up
        yield frames


def registry_for(vigil: Vigil) -> CollectorRegistry:
    """A registry of its own per app (never the process-wide default: tests run several)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VigilCollector(vigil))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
