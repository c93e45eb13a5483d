"""Journal and report figures: appends per second (group-committed, measured until every
row is durable), how long each append blocks the asyncio event loop (p50/p99/max, while the
writer thread commits), bytes per reading, and how long each report format takes for a
two-hour session of one room."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from monitor.core.models import Reading
from monitor.store import lineproto
from monitor.store.journal import Journal

# 100 rooms x ~3 readings/s is ~300/s; the target leaves a 30x margin for bursts and events.
APPEND_TARGET = 10_000
BLOCK_P99_TARGET_MS = 1.0  # per append, on the event loop


def _readings(n: int) -> list[Reading]:
    return [Reading(1e9 + i * 0.01, "spo2", 97.0, "%", source="ox") for i in range(n)]


def append_rate(n: int = 50_000) -> tuple[float, float]:
    """Appends per second until all are committed (durable), and journal bytes per reading."""
    with tempfile.TemporaryDirectory() as d:
        j = Journal(Path(d) / "bench.sqlite3")
        readings = _readings(n)
        lines = [lineproto.reading_line("A", r) for r in readings]
        start = time.perf_counter()
        for r, line in zip(readings, lines, strict=True):
            j.append("reading", "A", r.t, line, r.to_dict())
        assert j.flush()
        rate = n / (time.perf_counter() - start)
        j.call_in_writer(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        size = (Path(d) / "bench.sqlite3").stat().st_size
        j.close()
    return rate, size / n


async def _loop_blocking(j: Journal, rooms: int, per_room_hz: float, seconds: float) -> list[float]:
    """Feed `rooms` rooms at `per_room_hz` from the event loop (as the runtime does) and time
    each append call there; the writer thread commits meanwhile."""
    readings = _readings(int(rooms * per_room_hz * seconds))
    lines = [lineproto.reading_line("A", r) for r in readings]
    tick = 0.01  # one burst of arrivals every 10 ms, like several devices' frames per read
    per_tick = max(1, round(rooms * per_room_hz * tick))
    blocked: list[float] = []
    clock = time.perf_counter
    for k in range(0, len(readings), per_tick):
        for r, line in zip(readings[k : k + per_tick], lines[k : k + per_tick], strict=True):
            t0 = clock()
            j.append("reading", "A", r.t, line, r.to_dict())
            blocked.append(clock() - t0)
        await asyncio.sleep(tick)
    await j.committed()
    return blocked


def loop_blocking(
    rooms: int = 100, per_room_hz: float = 30.0, seconds: float = 3.0
) -> dict[str, float]:
    """Event-loop blocking per append (ms) at `rooms` x `per_room_hz` readings/s."""
    with tempfile.TemporaryDirectory() as d:
        j = Journal(Path(d) / "bench.sqlite3")
        blocked = asyncio.run(_loop_blocking(j, rooms, per_room_hz, seconds))
        j.close()
    ms = sorted(b * 1000 for b in blocked)
    return {
        "rate": rooms * per_room_hz,
        "n": len(ms),
        "p50": statistics.median(ms),
        "p99": ms[int(len(ms) * 0.99) - 1],
        "max": ms[-1],
    }


def report_times(seconds: int = 7200) -> dict[str, float]:
    from monitor import report
    from monitor.report.model import ReadingRow, SessionRecord
    from monitor.store.journal import SessionRow

    t0 = 1.8e9
    rows = [
        ReadingRow(t0 + i, ch, v, True)
        for i in range(seconds)
        for ch, v in (("spo2", 97.0), ("pulse_rate", 72.0))
    ]
    rows += [
        ReadingRow(t0 + i, ch, v, True)
        for i in range(0, seconds, 300)
        for ch, v in (("sbp", 122.0), ("dbp", 78.0), ("map", 93.0))
    ]
    rec = SessionRecord(
        SessionRow("A-1", "A", "", t0, "", t0 + 900, "", t0 + seconds, ""),
        t0 + seconds,
        rows,
        [],
        [],
        [],
    )
    out = {}
    for fmt in report.FORMATS:
        start = time.perf_counter()
        report.render(rec, fmt)
        out[fmt] = time.perf_counter() - start
    return out


def main() -> None:
    rate, per_reading = append_rate()
    verdict = "OK" if rate >= APPEND_TARGET else "BELOW TARGET"
    print(
        f"journal: {rate:,.0f} appends/s, all committed (target >= {APPEND_TARGET:,}): "
        f"{verdict}; {per_reading:.0f} bytes/reading"
    )
    b = loop_blocking()
    verdict = "OK" if b["p99"] < BLOCK_P99_TARGET_MS else "ABOVE TARGET"
    print(
        f"journal: event loop blocked per append at {b['rate']:,.0f} readings/s: "
        f"p50 {b['p50'] * 1000:.0f} us, p99 {b['p99'] * 1000:.0f} us, max {b['max']:.2f} ms "
        f"({b['n']:,} appends; target p99 < {BLOCK_P99_TARGET_MS:g} ms): {verdict}"
    )
    for fmt, s in report_times().items():
        print(f"report {fmt}: {s:.2f} s for a two-hour session (14,400 readings + 72 BP)")


if __name__ == "__main__":
    main()
