"""The write path against the store's own limit (issue #12 item 4), on one real influxd:

- catch-up after a 10-minute InfluxDB outage at 1,000 rooms: the journal is pre-filled with
  10 min x 1,000 rooms of readings (a Masimo frame a second: SpO2, pulse rate, perfusion
  index; 1.8 million points), then the journal -> InfluxDB forwarder (monitor.store.forwarder,
  as `vigil run` runs it) is timed until the backlog is gone;
- the same points POSTed as raw line protocol, in the same batch size, to the same influxd
  (another database): the store's limit. The same points byte for byte: with the `site` tag
  the forwarder adds. Target: forwarder / raw >= 0.5.

`python -m benchmarks.write_path [--rooms 1000 --minutes 10]`
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from monitor.core.models import Reading
from monitor.store import lineproto
from monitor.store.forwarder import Forwarder
from monitor.store.health import StorageAlarms
from monitor.store.influx import MAX_BATCH_LINES, InfluxStore
from monitor.store.journal import Journal

RATIO_TARGET = 0.5
CHANNELS = (("spo2", 97.0, "%"), ("pulse_rate", 72.0, "bpm"), ("perfusion_index", 3.5, "%"))


def prefill(journal: Journal, rooms: int, seconds: int, t0: float) -> list[str]:
    """The outage's backlog, appended as the recorder appends it; returns the lines."""
    lines = []
    for s in range(seconds):
        t = t0 + s
        for i in range(rooms):
            room = f"R{i:04d}"
            for ch, v, unit in CHANNELS:
                r = Reading(t + i * 1e-4, ch, v, unit, source=f"{room}-ox")
                line = lineproto.reading_line(room, r)
                journal.append("reading", room, r.t, line, r.to_dict())
                lines.append(line)
    assert journal.flush()
    return lines


SITE = "bench"


async def _forward(journal: Journal, url: str) -> tuple[float, int]:
    store = InfluxStore(url, "vigil_fwd", site=SITE)
    fwd = Forwarder(journal, store, StorageAlarms())
    start = time.perf_counter()
    while not await fwd.forward_once():
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - start
    await store.aclose()
    return elapsed, fwd.forwarded


async def _raw(lines: list[str], url: str) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        (await c.post("/query", data={"q": 'CREATE DATABASE "vigil_raw"'})).raise_for_status()
        start = time.perf_counter()
        for k in range(0, len(lines), MAX_BATCH_LINES):
            body = "\n".join(lines[k : k + MAX_BATCH_LINES]).encode()
            r = await c.post("/write", params={"db": "vigil_raw", "precision": "ns"}, content=body)
            r.raise_for_status()
        return time.perf_counter() - start


def measure(rooms: int = 1000, minutes: float = 10.0) -> dict[str, Any]:
    from tests.conftest import Influxd

    with tempfile.TemporaryDirectory(prefix="vigil-writepath-") as tmp:
        influxd = Influxd(Path(tmp))
        try:
            journal = Journal(Path(tmp) / "journal.sqlite3")
            t0 = time.time() - minutes * 60 - 60
            p0 = time.perf_counter()
            lines = prefill(journal, rooms, int(minutes * 60), t0)
            prefill_s = time.perf_counter() - p0
            fwd_s, forwarded = asyncio.run(_forward(journal, influxd.url))
            journal.close()
            sent = lineproto.with_tag_all(lines, "site", SITE)  # as InfluxStore.prepare
            raw_s = asyncio.run(_raw(sent, influxd.url))
            stored = influxd.query("SELECT count(value) FROM reading", db="vigil_fwd")
        finally:
            influxd.stop()
    n = len(lines)
    return {
        "rooms": rooms,
        "outage_minutes": minutes,
        "points": n,
        "prefill_s": round(prefill_s, 1),
        "forwarded": forwarded,
        "stored": int(str(stored[0]["count"])) if stored else 0,
        "catch_up_s": round(fwd_s, 1),
        "forwarder_points_per_s": round(n / fwd_s),
        "raw_points_per_s": round(n / raw_s),
        "ratio": round((n / fwd_s) / (n / raw_s), 2),
    }


def report(r: dict[str, Any]) -> None:
    verdict = "PASS" if r["ratio"] >= RATIO_TARGET else "FAIL"
    print(
        f"write path: {r['outage_minutes']:g}-min outage at {r['rooms']} rooms = "
        f"{r['points']:,} points: caught up in {r['catch_up_s']} s "
        f"({r['forwarder_points_per_s']:,} points/s through the journal forwarder; "
        f"{r['stored']:,} stored); raw line-protocol POSTs to the same influxd: "
        f"{r['raw_points_per_s']:,} points/s; ratio {r['ratio']} "
        f"(target >= {RATIO_TARGET}): {verdict}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rooms", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=10.0)
    a = ap.parse_args(argv)
    r = measure(a.rooms, a.minutes)
    report(r)
    return r


if __name__ == "__main__":
    main()
