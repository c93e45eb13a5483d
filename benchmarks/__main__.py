"""`make bench`: run every benchmark and print its figures against its target."""

from __future__ import annotations

import time

from monitor.core.models import Reading
from monitor.core.pipeline import RoomPipeline


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


def main() -> None:
    rate = pipeline_throughput()
    target = 200_000
    verdict = "OK" if rate >= target else "BELOW TARGET"
    print(f"core pipeline: {rate:,.0f} readings/s (target >= {target:,}): {verdict}")
    from benchmarks import journal

    journal.main()


if __name__ == "__main__":
    main()
