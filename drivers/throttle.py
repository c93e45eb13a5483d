"""Rate limiting for devices that send many frames a second (Contec 60/s, BerryMed 100/s).

Their numerics change about once a second; passing every frame on would flood the room
queue, the store and the dashboard. A channel's reading passes when its value or status
changed or `interval_s` has passed since the last one that passed, so a probe coming off is
seen at once. The wrapped decoder's counters stay the ones reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.base import DecoderWrapper
from monitor.core.models import Reading


@dataclass
class Throttled(DecoderWrapper):
    interval_s: float = 1.0
    _last: dict[str, tuple[float, float | None, frozenset[str]]] = field(default_factory=dict)

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for r in self.inner.feed(data, t):
            last = self._last.get(r.channel)
            if (
                last is not None
                and (last[1], last[2]) == (r.value, r.status)
                and (r.t - last[0] < self.interval_s)
            ):
                continue
            self._last[r.channel] = (r.t, r.value, r.status)
            out.append(r)
        return out
