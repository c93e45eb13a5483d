"""`make bench`: run every benchmark and print its figures against its target.

`python -m benchmarks [--rooms 100,500,1000] [--seconds 60] [--live-only]`: the component
benchmarks, then the write path (benchmarks.write_path) and the live load benchmark
(benchmarks.live) at each room count.
"""

from __future__ import annotations

import argparse
import time

from monitor.core.controls import Ack, Control, Dose, SessionEnd, SessionStart
from monitor.core.models import Reading
from monitor.core.pipeline import RoomPipeline
from monitor.core.recording import Record
from monitor.core.replay import replay


def pipeline_throughput(n: int = 400_000) -> float:
    """Readings per second through one room pipeline (SpO2 + pulse rate at 1 Hz each)."""
    readings = []
    for i in range(n // 2):
        spo2 = 86.0 if (i // 600) % 4 == 3 else 97.0
        readings.append(Reading(float(i), "spo2", spo2, "%"))
        readings.append(Reading(float(i), "pulse_rate", 72.0, "bpm"))
    p = RoomPipeline("bench")
    start = time.perf_counter()
    for r in readings:
        p.feed(r)
    return n / (time.perf_counter() - start)


def two_hour_session() -> list[Record]:
    """One room, 2 h 15 min: 1-Hz SpO2, pulse rate and perfusion index, the BP schedule, a
    desaturation and a hypertensive surge, acknowledged, then discharge."""
    dose = 900.0
    items: list[tuple[float, Reading | Control]] = [
        (0.0, SessionStart(0.0, by="n")),
        (dose, Dose(dose, by="dr")),
        (dose + 1900, Ack(dose + 1900, "bp_severe", by="n")),
        (9000.0, SessionEnd(9000.0, by="dr")),
    ]
    for t in range(1, 9000):
        ft = float(t)
        spo2 = 87.0 if 2000 <= t < 2040 else 97.0 + (t % 3 == 0)
        items.append((ft, Reading(ft, "spo2", spo2, "%", source="ox")))
        items.append((ft, Reading(ft, "pulse_rate", 72.0 + t % 5 - 2, "bpm", source="ox")))
        items.append((ft, Reading(ft, "perfusion_index", 3.5, "%", source="ox")))
    bp_times = [300.0, 600.0, 840.0] + [dose + 300 * k for k in range(1, 13)]
    bp_times += [dose + 3600 + 900 * k for k in range(1, 6)]
    for bt in bp_times:
        sbp, dbp = (185.0, 112.0) if dose + 1500 <= bt <= dose + 1800 else (120.0, 78.0)
        for ch, v in (("sbp", sbp), ("dbp", dbp), ("map", dbp + (sbp - dbp) / 3)):
            items.append((bt + 0.5, Reading(bt + 0.5, ch, v, "mmHg", source="cuff")))
    items.sort(key=lambda x: x[0])
    return [Record("A", item) for _, item in items]


def replay_throughput(repeats: int = 5) -> tuple[float, float, int]:
    """Readings per second through `replay()` (ticks included) for a 2-h session; best of
    `repeats`. Returns (readings/s, seconds per session, events)."""
    records = two_hour_session()
    n = sum(isinstance(r.item, Reading) for r in records)
    best = float("inf")
    events = 0
    for _ in range(repeats):
        start = time.perf_counter()
        events = sum(1 for _ in replay(records))
        best = min(best, time.perf_counter() - start)
    return n / best, best, events


def main() -> None:
    ap = argparse.ArgumentParser(description="Vigil's benchmarks")
    ap.add_argument("--rooms", default="100,500,1000", help="live benchmark room counts")
    ap.add_argument("--seconds", type=float, default=60.0, help="live benchmark run length")
    ap.add_argument("--live-only", action="store_true", help="only the live load benchmark")
    args = ap.parse_args()
    if not args.live_only:
        components()
    from benchmarks import live, write_path

    if not args.live_only:
        write_path.main([])
    live.main(["--rooms", args.rooms, "--seconds", str(args.seconds)])


def components() -> None:
    rate = pipeline_throughput()
    target = 200_000
    verdict = "OK" if rate >= target else "BELOW TARGET"
    print(f"core pipeline: {rate:,.0f} readings/s (target >= {target:,}): {verdict}")
    rate, seconds, events = replay_throughput()
    verdict = "OK" if rate >= target else "BELOW TARGET"
    print(
        f"replay, 2-h single-room session: {rate:,.0f} readings/s, {seconds * 1000:.0f} ms "
        f"per session, {events} events (target >= {target:,}): {verdict}"
    )
    from benchmarks import (
        ble,
        decoders,
        journal,
        loop_lag,
        paging,
        replay_large,
        serial_latency,
        snapshot_lag,
    )

    replay_large.main()
    serial_latency.main()
    decoders.main()
    ble.report()
    paging.main()
    journal.main()
    loop_lag.main()
    snapshot_lag.report()


if __name__ == "__main__":
    main()
