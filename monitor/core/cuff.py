"""A cuff cycle's way through the room: SBP, DBP and MAP assembled into one `BpReading`
(conditioning.py), its pulse joined, then: `cuff_error` raised or lowered, the BP schedule
satisfied, the episodic rules run (a confirmation reading asked for when a confirming row
needs one), and before the dose the pre-dose advisory. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from monitor.core.baseline import pre_dose_advisory
from monitor.core.conditioning import BpReading, CuffFailure
from monitor.core.schedule import BpRequest
from monitor.core.session import IN_SESSION, Phase
from monitor.core.technical import CUFF_ERROR

if TYPE_CHECKING:
    from monitor.core.pipeline import PipelineEvent, RoomPipeline


def join_pulse(
    readings: list[BpReading], pending: bool, t: float, source: str, value: float | None
) -> bool:
    """Cuffs report their pulse rate with SBP, DBP and MAP, often after them (BLE 2A35,
    SunTech): the cycle closed at MAP, so a pulse of the same source and time joins it (the
    last of `readings`, unless a cycle is `pending` in the assembler)."""
    last = readings[-1] if readings else None
    if (
        last is None
        or pending
        or (last.t, last.source) != (t, source)
        or last.pulse_rate is not None
    ):
        return False
    readings[-1] = replace(last, pulse_rate=value)
    return True


def cuff_cycle(room: RoomPipeline, result: BpReading | CuffFailure) -> list[PipelineEvent]:
    """A cuff cycle (or failed one) from the assembler: recorded, judged, scheduled."""
    t = result.t
    out: list[PipelineEvent] = []
    if isinstance(result, CuffFailure):
        room.rejected["bp"] += 1
        if room.phase in IN_SESSION:
            out += room.tech.raise_(CUFF_ERROR, t, result.reason)
        return out
    if room.bp_readings and t <= room.bp_readings[-1].t:
        # A cycle delivered twice or late: the newest reading is the patient's state; an
        # older one must not clear an alarm, confirm one, or move the baseline.
        room.rejected["bp_out_of_order"] += 1
        return out
    out += room.engine.lower(t, "cuff_error", reason="valid cuff reading")
    room.bp_readings.append(result)
    if room.schedule is not None:
        room.schedule.reading(t)
        if room.schedule.overdue_for(t) is None:
            out += room.engine.lower(t, "bp_overdue", reason="BP reading arrived")
    values = {"sbp": result.sbp, "dbp": result.dbp, "map": result.map}
    changed, confirm_needed = room.limits.episodic(t, values)
    for condition in changed:
        out += room.condition_changed(t, condition)
    if confirm_needed:
        out.append(BpRequest(t, room.room, "confirmation reading"))
    if room.phase == Phase.PRE_DOSE:
        derived = room.derived_baseline(t)
        sbp = derived.sbp if derived.sbp is not None else result.sbp
        dbp = derived.dbp if derived.dbp is not None else result.dbp
        room.advisories = pre_dose_advisory(sbp, dbp, room.session.age, room.policy.baseline)
    return out
