"""The session's phases after the dose, and the discharge clock that moves them.

    dosed ──recovery_after_s after the last dose──▶ recovery
    recovery ──every criterion met──▶ discharge_ready ──a criterion lapses──▶ recovery

The criteria themselves are `discharge.discharge_criteria` (pure); `discharge_now` gathers
the room's current values for it: only fresh SpO2 and pulse count, and the SpO2 clock runs
since the smoothed SpO2 last came up to the patient's target (the pipeline's `feed` keeps
`spo2_ok_since`). The other phase changes are controls (handlers.py). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.core.discharge import Criterion
from monitor.core.session import Phase

if TYPE_CHECKING:
    from monitor.core.pipeline import PipelineEvent, RoomPipeline


#: `phase_due` is set this much before the time computed (a sum may round the other way
#: than the difference `advance` compares): it only ever looks a moment early.
_EARLY_S = 1e-3


def advance(room: RoomPipeline, now: float) -> list[PipelineEvent]:
    """The phase change due at `now` after the dose, if any (the timers call this). When
    nothing can change before a later time without a control, it sets `room.phase_due`."""
    dose_t = room.session.last_dose_t  # a top-up restarts the acute window and the clock
    if dose_t is None:
        room.phase_due = math.inf  # until a dose is marked (a control)
        return []
    if room.phase == Phase.DOSED:
        if now - dose_t >= room.policy.recovery_after_s:
            return room.set_phase(now, Phase.RECOVERY, "acute window over")
        room.phase_due = dose_t + room.policy.recovery_after_s - _EARLY_S
        return []
    if room.phase not in (Phase.RECOVERY, Phase.DISCHARGE_READY):
        room.phase_due = math.inf  # until a control changes the phase
        return []
    if now - dose_t < room.policy.discharge.min_after_dose_s:
        # Too early: the criteria need not be computed every second.
        room.phase_due = dose_t + room.policy.discharge.min_after_dose_s - _EARLY_S
        return []
    room.discharge_unmet = unmet = room.unmet_criteria(now)
    if not unmet and room.phase == Phase.RECOVERY:
        return room.set_phase(now, Phase.DISCHARGE_READY, "all discharge criteria met")
    if unmet and room.phase == Phase.DISCHARGE_READY:
        return room.set_phase(now, Phase.RECOVERY, "; ".join(unmet))
    return []


def discharge_now(room: RoomPipeline, now: float) -> Sequence[Criterion]:
    """Every discharge criterion at `now`, met or not, from the room's current values."""
    dose_t = room.session.last_dose_t
    if dose_t is None:
        return [Criterion("time", False, "no dose marked")]
    # Only fresh values count (asked every second in recovery: no helper call per channel).
    stale = room.policy.technical.stale_after_s
    last_pr, last_spo2 = room.tech.last_valid["pulse_rate"], room.tech.last_valid["spo2"]
    fresh_pr = last_pr is not None and now - last_pr <= stale
    fresh_spo2 = last_spo2 is not None and now - last_spo2 <= stale
    pr = room.smoothed.get("pulse_rate") if fresh_pr else None
    spo2_now = room.smoothed.get("spo2") if fresh_spo2 else None
    return room.discharge_memo.update(  # asked every second in recovery: kept between inputs
        now,
        dose_t,
        tuple(room.engine.current),
        room.bp_readings,
        room.baseline,
        room.spo2_ok_since if spo2_now is not None else None,
        pr,
        room.policy.discharge,
        spo2_now,
        room.spo2_ok_threshold,
        len(room.session.doses) > 1,
    )
