"""Builders shared by the core tests: readings, controls, and running a timeline."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.core.models import AlarmEvent, Control, DeviceState, PhaseEvent, Reading
from monitor.core.pipeline import PipelineEvent, RoomPipeline

Item = Reading | Control | DeviceState | float  # a float is a tick


def spo2(t: float, v: float | None, *flags: str, source: str = "ox") -> Reading:
    return Reading(t=t, channel="spo2", value=v, unit="%", status=frozenset(flags), source=source)


def pr(t: float, v: float | None, *flags: str, source: str = "ox") -> Reading:
    return Reading(t, "pulse_rate", v, "bpm", frozenset(flags), source)


def bp(t: float, sbp: float | None, dbp: float | None, mean: float | None = None,
       *flags: str) -> list[Reading]:  # fmt: skip
    out = [Reading(t, "sbp", sbp, "mmHg", frozenset(flags), "cuff"),
           Reading(t, "dbp", dbp, "mmHg", frozenset(flags), "cuff")]  # fmt: skip
    if mean is not None:
        out.append(Reading(t, "map", mean, "mmHg", frozenset(flags), "cuff"))
    return out


def run(p: RoomPipeline, items: Iterable[Item]) -> list[PipelineEvent]:
    out: list[PipelineEvent] = []
    for item in items:
        if isinstance(item, Reading):
            out += p.feed(item)
        elif isinstance(item, Control):
            out += p.control(item)
        elif isinstance(item, DeviceState):
            out += p.device_state(item)
        else:
            out += p.tick(item)
    return out


def transitions(events: Iterable[PipelineEvent]) -> list[tuple[float, str, str]]:
    return [(e.t, e.condition, e.state.value) for e in events if isinstance(e, AlarmEvent)]


def physiological(events: Iterable[object]) -> list[tuple[float, str, str]]:
    """The physiological alarms' transitions (technical ones left out)."""
    return transitions(e for e in events if isinstance(e, AlarmEvent) and e.kind == "physiological")


def phases(events: Iterable[PipelineEvent]) -> list[tuple[float, str]]:
    return [(e.t, e.phase) for e in events if isinstance(e, PhaseEvent)]


def dosed(baseline: dict[str, float], **kw: object) -> RoomPipeline:
    """A room just dosed at t=1 with an explicitly entered, confirmed baseline."""
    p = RoomPipeline("A", **kw)  # type: ignore[arg-type]
    run(p, [Control(0, "session_start", by="n"), Control(0.5, "baseline", dict(baseline), by="dr"),
            Control(1, "dose", by="dr")])  # fmt: skip
    assert p.baseline_status == "confirmed"
    return p
