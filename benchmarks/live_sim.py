"""The live benchmark's device side: N rooms of real serial devices in a process of its own.

`python -m benchmarks.live_sim --rooms N --seconds S --dir DIR` opens, per room, a Masimo
oximeter pty (one frame a second, the real ASCII line from drivers.sim.devices.MasimoSim) and
a SunTech cuff pty (drivers.sim.devices.SunTechSim: it answers the commands Vigil's BP
schedule sends, every 5 min after a dose). It writes DIR/ports.json and prints "ready", waits
for "go" on stdin, plays S seconds, then writes DIR/sim.json and exits.

Every frame is traceable: its perfusion index is 1.00 + (seq % 900) / 100, unique per room
for 15 minutes, so the stream reading it becomes is matched to the moment it was written.
A fraction of rooms desaturates (SpO2 85 %) from a staggered start, so alarms fire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from drivers.sim.devices import MasimoSim, SunTechSim
from drivers.sim.pty import PtyPair
from drivers.sim.scenarios import Vitals

PI_CYCLE = 900  # frames before a perfusion index value repeats in one room


def pi_for(seq: int) -> float:
    return 1.0 + (seq % PI_CYCLE) / 100.0


def seq_for(pi: float) -> int:
    """The frame number (mod PI_CYCLE) a perfusion index stands for."""
    return round((pi - 1.0) * 100.0) % PI_CYCLE


def room_ids(n: int) -> list[str]:
    return [f"R{i:04d}" for i in range(n)]


def desaturating(n: int, fraction: float) -> list[str]:
    """Every k-th room, spread over the id range."""
    k = max(1, round(1 / fraction)) if fraction > 0 else 0
    return [r for i, r in enumerate(room_ids(n)) if k and i % k == k // 2]


def raise_nofile(needed: int) -> int:
    """Raise the soft open-files limit towards `needed` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass
class SimRoom:
    room: str
    oximeter: PtyPair
    cuff: PtyPair
    offset_s: float  # where in each second this room's frame goes out
    desat_at_s: float | None  # seconds after go when SpO2 falls to 85 %
    sim: MasimoSim = field(default_factory=MasimoSim)
    suntech: SunTechSim = field(default_factory=lambda: SunTechSim(measure_s=5.0))
    writes: list[float] = field(default_factory=list)  # time.time() of frame seq k
    short_writes: int = 0
    bp_cycles: int = 0


async def serve(rooms: list[SimRoom], seconds: float) -> float | None:
    """Cuffs answer from the start (Vigil asks for a BP as soon as a session starts);
    oximeters play `seconds` frames after "go" on stdin. Returns the time of "go"."""
    loop = asyncio.get_running_loop()
    vitals_ok = Vitals()

    def cuff_readable(r: SimRoom) -> None:
        data = r.cuff.read()
        if data:
            answer = r.suntech.receive(data, vitals_ok, time.time())
            if answer:
                r.cuff.write(answer)

    async def cuffs() -> None:
        # The module reports the end of a cycle by itself ("K" ack), unprompted.
        while True:
            now = time.time()
            for r in rooms:
                out = r.suntech.emit(vitals_ok, now)
                if out:
                    r.bp_cycles += 1
                    r.cuff.write(out)
            await asyncio.sleep(0.25)

    async def warm_up() -> None:
        # Oximeters run before "go" too (a silent one in a session raises stale alarms);
        # these frames' perfusion index (0.5) is outside the counted range (>= 1.0).
        while True:
            for r in rooms:
                r.oximeter.write(r.sim.emit(Vitals(perfusion_index=0.5), time.time()))
            await asyncio.sleep(1.0)

    for r in rooms:
        loop.add_reader(r.cuff.master_fd, cuff_readable, r)
    cuff_task = asyncio.create_task(cuffs())
    warm = asyncio.create_task(warm_up())
    try:
        go = (await asyncio.to_thread(sys.stdin.readline)).strip() == "go"
        warm.cancel()
        return await play(rooms, seconds) if go else None
    finally:
        warm.cancel()
        cuff_task.cancel()
        for r in rooms:
            loop.remove_reader(r.cuff.master_fd)


async def play(rooms: list[SimRoom], seconds: float) -> float:
    go = time.time()
    order = sorted(rooms, key=lambda r: r.offset_s)
    seq = 0
    while seq < seconds:
        for r in order:
            due = go + seq + r.offset_s
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            low = r.desat_at_s is not None and seq >= r.desat_at_s
            v = Vitals(spo2=85.0 if low else 97.0, pulse_rate=72.0, perfusion_index=pi_for(seq))
            frame = r.sim.emit(v, time.time())
            n = r.oximeter.write(frame)
            r.writes.append(time.time())
            if n != len(frame):
                r.short_writes += 1  # the reader fell behind: the kernel's pty buffer is full
        seq += 1
    return go


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rooms", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--desat-fraction", type=float, default=0.1)
    ap.add_argument("--desat-after-s", type=float, default=15.0)
    args = ap.parse_args()
    raise_nofile(4 * args.rooms + 64)
    desat = set(desaturating(args.rooms, args.desat_fraction))
    rooms = []
    for i, rid in enumerate(room_ids(args.rooms)):
        at = args.desat_after_s + (i % 10) if rid in desat else None
        rooms.append(SimRoom(rid, PtyPair(), PtyPair(), offset_s=i / args.rooms, desat_at_s=at))
    ports = {r.room: {"oximeter": r.oximeter.port, "cuff": r.cuff.port} for r in rooms}
    (args.dir / "ports.json").write_text(json.dumps(ports))
    print("ready", flush=True)
    try:
        go = asyncio.run(serve(rooms, args.seconds))
        if go is None:
            return
        result = {
            "go": go,
            "frames": sum(len(r.writes) for r in rooms),
            "short_writes": sum(r.short_writes for r in rooms),
            "bp_cycles": sum(r.bp_cycles for r in rooms),
            "desaturating": sorted(desat),
            "writes": {r.room: r.writes for r in rooms},
        }
        (args.dir / "sim.json").write_text(json.dumps(result))
        print("done", flush=True)
        sys.stdin.readline()  # keep the ptys open until the bench has drained Vigil
    finally:
        for r in rooms:
            r.oximeter.close()
            r.cuff.close()


if __name__ == "__main__":
    main()
