"""How late the event loop runs: every room's pipeline, the stream and paging share it.

A probe asks to wake every `interval_s` and records how much later it actually woke. The
recent window's p99 and max are shown in /api/health and /metrics, so a loop that falls
behind (a blocking call, too many rooms for one process) is visible before alarms are late.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

PROBE_S = 0.1
WINDOW = 600  # probes kept: the last minute


class LoopLag:
    def __init__(
        self, interval_s: float = PROBE_S, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.samples: deque[float] = deque(maxlen=WINDOW)  # seconds late, per probe
        self.worst = 0.0  # since start

    def record(self, late_s: float) -> None:
        late_s = max(0.0, late_s)
        self.samples.append(late_s)
        self.worst = max(self.worst, late_s)

    async def run(self) -> None:
        while True:
            t = self.clock()
            await asyncio.sleep(self.interval_s)
            self.record(self.clock() - t - self.interval_s)

    def summary(self) -> dict[str, float]:
        """Milliseconds late over the recent window: last, p99, max; and max since start."""
        s = sorted(self.samples)
        if not s:
            return {"last_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "worst_ms": 0.0}
        p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
        return {
            "last_ms": round(self.samples[-1] * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
            "max_ms": round(s[-1] * 1000, 2),
            "worst_ms": round(self.worst * 1000, 2),
        }
