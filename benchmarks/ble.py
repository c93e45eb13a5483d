"""BLE decoder throughput: characteristic values per second through the pure decoders."""

from __future__ import annotations

import time

from drivers.ble import DECODERS
from drivers.ble.bps import encode_bpm
from drivers.ble.hrs import encode_hrm
from drivers.ble.plx import encode_continuous

TARGET_VALUES_PER_S = 20_000  # a room sends < 10 values/s; this leaves room for replays


def ble_decode_rate(n: int = 60_000) -> float:
    values = [
        ("ble-2a5f", encode_continuous(97, 72, measurement_status=0, device_status=0, pai=3.5)),
        ("ble-2a37", encode_hrm(72, sensor_contact=True, rr_intervals=(853,))),
        ("ble-2a35", encode_bpm(122, 78, 93, pulse_rate=72, status=0)),
    ]
    decoders = {pid: DECODERS[pid](source="bench") for pid, _ in values}
    start = time.perf_counter()
    for i in range(n):
        pid, value = values[i % 3]
        decoders[pid].feed(value, float(i))
    return n / (time.perf_counter() - start)


def report() -> None:
    rate = ble_decode_rate()
    verdict = "OK" if rate >= TARGET_VALUES_PER_S else "BELOW TARGET"
    print(f"BLE decoders: {rate:,.0f} values/s (target >= {TARGET_VALUES_PER_S:,}): {verdict}")


if __name__ == "__main__":
    report()
