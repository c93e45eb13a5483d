"""Run recorded inputs through room pipelines at full speed, deterministically.

Between two inputs time advances in ticks of at most one second, so timers (stale data,
BP overdue, escalation) fire when they would have fired live, not when the next input
happens to arrive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from monitor.core.controls import Control
from monitor.core.models import DeviceState, Reading
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from monitor.core.policy import CorePolicy
from monitor.core.recording import Record

TICK_S = 1.0


def replay(
    records: Iterable[Record],
    *,
    policy: CorePolicy | None = None,
    escalation_after_s: dict[str, list[float]] | None = None,
    pipelines: dict[str, RoomPipeline] | None = None,
) -> Iterator[PipelineEvent]:
    """Yield every event the recording causes, in order. Rooms appear as first seen, in
    new pipelines unless `pipelines` has them (a restart rebuilds its rooms' state this way,
    monitor/resume.py; the dict is filled with the pipelines used)."""
    pipelines = {} if pipelines is None else pipelines
    now: float | None = None
    for rec in records:
        item = rec.item
        t = item.t
        if now is not None and t - now > TICK_S:
            steps = math.ceil((t - now) / TICK_S) - 1
            base = now
            for k in range(1, steps + 1):
                tick_t = base + k * TICK_S
                for p in pipelines.values():
                    yield from p.tick(tick_t)
        if now is None or t > now:
            now = t
        room = pipelines.get(rec.room)
        if room is None:
            room = pipelines[rec.room] = RoomPipeline(
                rec.room, policy=policy, escalation_after_s=escalation_after_s
            )
        if isinstance(item, Reading):
            events = room.feed(item)
        elif isinstance(item, Control):
            events = room.control(item)
        elif isinstance(item, DeviceState):
            events = room.device_state(item)
        else:
            continue
        if events:  # most inputs cause none: no iterator for an empty list
            yield from events
