"""Journal and report figures: appends per second (each one durable), bytes per reading,
and how long each report format takes for a two-hour session of one room."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from monitor.core.models import Reading
from monitor.store import lineproto
from monitor.store.journal import Journal

APPEND_TARGET = 1_000  # a busy clinic: ~10 rooms x ~4 readings/s = 40/s; a 25x margin


def append_rate(n: int = 3_000) -> tuple[float, float]:
    """Durable appends per second and journal bytes per reading."""
    with tempfile.TemporaryDirectory() as d:
        j = Journal(Path(d) / "bench.sqlite3")
        readings = [Reading(1e9 + i, "spo2", 97.0, "%", source="ox") for i in range(n)]
        start = time.perf_counter()
        for r in readings:
            j.append("reading", "A", r.t, lineproto.reading_line("A", r), r.to_dict())
        rate = n / (time.perf_counter() - start)
        j._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (Path(d) / "bench.sqlite3").stat().st_size
        j.close()
    return rate, size / n


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
        f"journal: {rate:,.0f} durable appends/s (target >= {APPEND_TARGET:,}): {verdict}; "
        f"{per_reading:.0f} bytes/reading"
    )
    for fmt, s in report_times().items():
        print(f"report {fmt}: {s:.2f} s for a two-hour session (14,400 readings + 72 BP)")


if __name__ == "__main__":
    main()
