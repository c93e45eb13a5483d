"""A room's live state as one frozen value: the contract with the API and the live page.

`RoomPipeline.snapshot()` returns a `RoomSnapshot`; its one `to_dict` is the JSON the API
serves and dashboards/live/*.js read (tests/vectors/snapshots.json pins it). The parts are
the core's own frozen values (Reading, AlarmEvent, DeviceState, Baseline, BpReading,
Criterion) plus the few views below; the session is a copy, so a snapshot does not change
when the room goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.core.baseline import Baseline
from monitor.core.conditioning import BpReading
from monitor.core.discharge import Criterion
from monitor.core.models import AlarmEvent, DeviceState, Priority, Reading
from monitor.core.phases import discharge_now
from monitor.core.session import POST_DOSE, Phase, SessionInfo

if TYPE_CHECKING:
    from monitor.core.pipeline import RoomPipeline

HISTORY_IN_SNAPSHOT = 100  # the latest alarm transitions and controls a snapshot carries


@dataclass(frozen=True, slots=True)
class LimitView:
    """One rule row's effective limit now (relative rows once a baseline is confirmed)."""

    channel: str
    comparator: str
    limit: float
    priority: Priority
    relative: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "comparator": self.comparator,
            "limit": self.limit,
            "priority": self.priority.value,
            "relative": self.relative,
        }


@dataclass(frozen=True, slots=True)
class DischargeView:
    """Discharge readiness: the criteria (after the dose) and the clinician's reviews."""

    ready: bool
    criteria: tuple[Criterion, ...]
    reviewed_by: str | None
    reviewed_t: float | None
    outcome: str | None
    reviews: tuple[Mapping[str, Any], ...]

    @property
    def unmet(self) -> list[str]:
        return [c.text for c in self.criteria if not c.met]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "criteria": [c.to_dict() for c in self.criteria],
            "unmet": self.unmet,
            "reviewed_by": self.reviewed_by,
            "reviewed_t": self.reviewed_t,
            "outcome": self.outcome,
            "reviews": list(self.reviews),
        }


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    room: str
    phase: str
    dose_t: float | None
    latest: Mapping[str, Reading]  # the last reading of each channel, shown as it came
    smoothed: Mapping[str, float]
    baseline: Baseline  # the one in use (after the dose)
    alarms: tuple[AlarmEvent, ...]  # the current alarms (their last transition)
    audio_paused_until: float | None
    audio_pause_s: float  # the clinic's setting, for the page
    devices: Mapping[str, DeviceState]  # the links as the core knows them
    baseline_status: str  # none | derived | entered | confirmed | refused
    baseline_proposed: Baseline | None  # before the dose: what the dose mark would take
    baseline_refused: tuple[str, ...]
    advisories: tuple[str, ...]
    limits: Mapping[str, tuple[LimitView, ...]]  # by condition
    bp: BpReading | None  # the last cuff cycle
    bp_due: float | None
    discharge: DischargeView
    session: SessionInfo
    history: tuple[AlarmEvent, ...]  # the latest transitions
    log: tuple[Mapping[str, Any], ...]  # controls with their outcome, then audio notes
    rejected: Mapping[str, int]  # implausible or out-of-order values, by channel

    def to_dict(self) -> dict[str, Any]:
        """The JSON of GET /api/rooms/{id} and the live stream (before the runtime's own
        fields: name, the configured devices)."""
        return {
            "room": self.room,
            "phase": self.phase,
            "dose_t": self.dose_t,
            "latest": {ch: r.to_dict() for ch, r in self.latest.items()},
            "smoothed": dict(self.smoothed),
            "baseline": self.baseline.to_dict(),
            "alarms": [a.to_dict() for a in self.alarms],
            "audio_paused_until": self.audio_paused_until,
            "audio_pause_s": self.audio_pause_s,
            "devices": {
                s: {"state": d.state.value, "t": d.t, "detail": d.detail}
                for s, d in self.devices.items()
            },
            "baseline_status": self.baseline_status,
            "baseline_proposed": (
                None if self.baseline_proposed is None else self.baseline_proposed.to_dict()
            ),
            "baseline_refused": list(self.baseline_refused),
            "advisories": list(self.advisories),
            "limits": {c: [r.to_dict() for r in rows] for c, rows in self.limits.items()},
            "bp": None if self.bp is None else self.bp.to_dict(),
            "bp_due": self.bp_due,
            "discharge": self.discharge.to_dict(),
            "session": self.session.to_dict(),
            "history": [e.to_dict() for e in self.history],
            "log": list(self.log),
            "rejected": dict(self.rejected),
        }


def room_snapshot(room: RoomPipeline, now: float) -> RoomSnapshot:
    """The room's state at `now` (the time of its latest input), parts copied or frozen."""
    proposed = room.derived_baseline(now) if room.phase == Phase.PRE_DOSE else None
    sched = room.schedule
    post_dose = room.phase in POST_DOSE
    s, engine = room.session, room.engine
    return RoomSnapshot(
        room=room.room,
        phase=room.phase,
        dose_t=room.dose_t,
        latest=dict(room.latest),
        smoothed=dict(room.smoothed),
        baseline=room.baseline,
        alarms=tuple(engine.current.values()),
        audio_paused_until=engine.audio_paused_until,
        audio_pause_s=engine.audio_pause_s,
        devices=dict(room.devices),
        baseline_status=room.baseline_status,
        baseline_proposed=proposed,
        baseline_refused=tuple(room.baseline_refused),
        advisories=tuple(room.advisories),
        limits=room.limits.view(),
        bp=room.bp_readings[-1] if room.bp_readings else None,
        bp_due=sched.next_due if sched is not None and post_dose else None,
        discharge=DischargeView(
            ready=room.phase == Phase.DISCHARGE_READY,
            criteria=tuple(discharge_now(room, now) if post_dose else ()),
            reviewed_by=s.discharge_reviewed_by,
            reviewed_t=s.discharge_reviewed_t,
            outcome=s.discharge_outcome,
            reviews=tuple(s.discharge_reviews),
        ),
        session=s.copy(),
        history=tuple(engine.history[-HISTORY_IN_SNAPSHOT:]),
        log=(*room.log[-HISTORY_IN_SNAPSHOT:], *engine.notes[-20:]),
        rejected=dict(room.rejected),
    )
