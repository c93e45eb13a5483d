"""Serial decoder throughput: bytes per second each decoder handles, against the line rate.

Target: one core decodes 100 devices' output: the device's own data rate (bytes per
simulated second), or for a device that only answers (SunTech) its full line rate (a serial
byte is 10 bits on the wire, so 9600 baud carries at most 960 bytes/s).
"""

from __future__ import annotations

import time

from drivers.registry import PROTOCOLS
from drivers.sim.registry import make_sim
from drivers.sim.scenarios import scenario

HEADROOM = 100  # devices' worth of line rate one core must decode


def _stream(protocol: str, size: int) -> bytes:
    sim = make_sim(protocol)
    if protocol == "contec-9byte":
        from drivers import contec

        sim.receive(contec.command(contec.CMD_START_LIVE), scenario("steady")(0), 0.0)
    if protocol == "suntech":
        from drivers import suntech

        one = suntech.encode_bp_data(120, 80, 93, 70) + suntech.encode_cuff_pressure(150)
        return one * (size // len(one))
    s = scenario("steady")
    out = bytearray()
    t = 0.0
    while len(out) < size:
        out += sim.emit(s(t), t)
        t += 1.0
    return bytes(out)


def _device_rate(protocol: str) -> float:
    info = PROTOCOLS[protocol]
    sim = make_sim(protocol)
    if protocol == "contec-9byte":
        from drivers import contec

        sim.receive(contec.command(contec.CMD_START_LIVE), scenario("steady")(0), 0.0)
    per_tick = len(sim.emit(scenario("steady")(0), 0.0))
    return per_tick / sim.tick_s if per_tick else (info.baudrate or 9600) / 10


def decoder_throughput(size: int = 400_000) -> list[tuple[str, float, float]]:
    """(protocol, bytes/s decoded, target bytes/s) for every serial protocol."""
    results = []
    for pid, info in sorted(PROTOCOLS.items()):
        if info.transport != "serial":
            continue
        data = _stream(pid, size)
        dec = info.decoder(source="bench")
        start = time.perf_counter()
        for i in range(0, len(data), 4096):
            dec.feed(data[i : i + 4096], 0.0)
        rate = len(data) / (time.perf_counter() - start)
        results.append((pid, rate, _device_rate(pid) * HEADROOM))
    return results


def main() -> None:
    for pid, rate, target in decoder_throughput():
        verdict = "OK" if rate >= target else "BELOW TARGET"
        print(f"decoder {pid}: {rate:,.0f} bytes/s (target >= {target:,.0f}): {verdict}")
