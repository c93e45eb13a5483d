"""What each control does to a room: one handler per typed control (monitor/core/controls.py).

`RoomPipeline.control` looks the handler up by the control's type (HANDLERS) and logs the
outcome it returns with the control ("ok...", "ignored: ...", "rejected: ..."; the API
answers 409 for the last two). The handlers are the pipeline's own, kept apart from its
input and timer path: they change the room's session, baseline and phase through the
pipeline's methods. Pure: no I/O, no clock (the control carries its time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from monitor.core.baseline import BASELINE_CHANNELS, Baseline, pathological_reasons
from monitor.core.conditioning import PLAUSIBLE
from monitor.core.controls import (
    Ack,
    AudioPause,
    BaselineEntry,
    ConfirmBaseline,
    Control,
    DischargeReview,
    Dose,
    Note,
    Resumed,
    SessionEnd,
    SessionStart,
    TechnicalAlarm,
)
from monitor.core.discharge import DISCHARGING, ReviewOutcome
from monitor.core.models import Priority
from monitor.core.schedule import BpSchedule
from monitor.core.session import IN_SESSION, POST_DOSE, Phase
from monitor.core.technical import (
    EXTERNAL_TECHNICAL,
    INTERRUPTED,
    MONITORING_INTERRUPTED,
    TECHNICAL,
)

if TYPE_CHECKING:
    from monitor.core.pipeline import PipelineEvent, RoomPipeline

DOSE_REPEAT_GUARD_S = 60.0  # a second dose mark sooner than this is a double tap
Outcome = tuple[str, list["PipelineEvent"]]  # for the audit log, and the events caused


def session_start(room: RoomPipeline, c: SessionStart) -> Outcome:
    if room.phase in IN_SESSION:
        return "ignored: a session is already running", []
    room.reset_session()
    s = room.session
    s.started_t, s.started_by = c.t, c.by
    room.tech.started = c.t
    s.pseudonym, s.age = c.pseudonym, c.age
    out = room.set_phase(c.t, Phase.PRE_DOSE, f"started by {c.by or 'unknown'}")
    out += room.tick(c.t)  # _now is already c.t: the timers at the start
    return "ok", out


def baseline(room: RoomPipeline, c: BaselineEntry) -> Outcome:
    if room.phase not in IN_SESSION:
        return "ignored: no session", []
    values: dict[str, float] = {}
    for key in BASELINE_CHANNELS:
        v = c.values.get(key)
        if v is None:
            continue
        lo, hi = PLAUSIBLE[key]
        if not lo <= v <= hi:
            return f"rejected: {key} {v} outside {lo:g}–{hi:g}", []
        values[key] = float(v)
    if c.problem:  # a value after those, not a number
        return c.problem, []
    if not values:
        return "rejected: no baseline values given", []
    room.entered.update(values)
    room.entered_by = c.by
    if room.phase == Phase.PRE_DOSE:
        room.baseline_status = "entered"
        return "ok: used at the dose mark", []
    # On top of the baseline in use: the pre-dose SpO2/PR windows are gone after the
    # dose, so deriving again would drop the SpO2 and pulse baseline the dose mark took.
    room.baseline = room.baseline.merged(room.entered)
    return "ok", room.confirm_baseline(c.t, c.by)


def confirm_baseline(room: RoomPipeline, c: ConfirmBaseline) -> Outcome:
    if room.phase == Phase.PRE_DOSE:
        derived = room.derived_baseline(c.t).to_dict()
        if not room.entered and all(v is None for v in derived.values()):
            return "rejected: no baseline values to confirm", []
        room.entered = {k: v for k, v in derived.items() if v is not None} | room.entered
        room.entered_by = c.by
        room.baseline_status = "entered"
        return "ok: used at the dose mark", []
    if room.phase not in POST_DOSE:
        return "ignored: no session", []
    if all(v is None for v in room.baseline.to_dict().values()):
        return "rejected: no baseline values to confirm", []
    return "ok", room.confirm_baseline(c.t, c.by)


def dose(room: RoomPipeline, c: Dose) -> Outcome:
    s = room.session
    if room.phase in POST_DOSE:
        return _top_up(room, c)
    if room.phase != Phase.PRE_DOSE:
        return f"ignored: dose in phase {room.phase}", []
    problem = c.refused()
    if problem:
        return problem, []
    dose = c.entry()
    s.dose_t, s.dose_by = c.t, c.by
    s.doses.append(dose)
    derived = room.derived_baseline(c.t)
    room.schedule = BpSchedule(room.policy.bp_schedule, c.t)
    room.end_pre_dose()
    out = room.set_phase(c.t, Phase.DOSED, f"dose marked by {c.by or 'unknown'}")
    room.baseline = derived.merged(room.entered)
    # Only what the clinician entered or confirmed is explicit: a pathological value
    # derived for another channel still refuses automatic relative limits.
    unconfirmed = Baseline(
        **{ch: None if ch in room.entered else derived.get(ch) for ch in BASELINE_CHANNELS}
    )
    if room.entered and not pathological_reasons(unconfirmed, room.policy.baseline):
        out += room.confirm_baseline(c.t, room.entered_by)
        return "ok", out
    if all(v is None for v in derived.to_dict().values()):
        # Nothing to confirm: the status must not claim a confirmed baseline. Absolute
        # limits run; a baseline entered later turns the relative limits on.
        room.baseline_status = "none"
        return "ok: no baseline data; enter a baseline for relative limits", out
    room.baseline_refused = pathological_reasons(unconfirmed, room.policy.baseline)
    if room.baseline_refused:
        # AutoLimits practice: no relative limits from a pathological baseline until the
        # clinician enters or explicitly confirms values (absolute limits stay active).
        room.baseline_status = "refused"
        return "ok: baseline pathological, relative limits need confirmation", out
    out += room.confirm_baseline(c.t, c.by)
    return "ok", out


def _top_up(room: RoomPipeline, c: Dose) -> Outcome:
    """A further dose (IM/SL top-up): the BP schedule, the acute window and the discharge
    clock restart from it; the baseline stays the one taken before the first dose."""
    s = room.session
    last = s.last_dose_t
    if last is not None and c.t - last < DOSE_REPEAT_GUARD_S:
        # Two marks seconds apart are a double tap, not two doses.
        who = s.doses[-1].get("by") if s.doses else s.dose_by
        return (
            f"ignored: a dose was marked less than {DOSE_REPEAT_GUARD_S:g} s ago "
            f"by {who or 'unknown'}",
            [],
        )
    problem = c.refused()
    if problem:
        return problem, []
    dose = c.entry()
    s.doses.append(dose)
    room.schedule = BpSchedule(room.policy.bp_schedule, c.t)
    out: list[PipelineEvent] = list(room.engine.lower(c.t, "bp_overdue", reason="top-up dose"))
    n = len(s.doses)
    out += room.set_phase(c.t, Phase.DOSED, f"top-up dose {n} marked by {c.by or 'unknown'}")
    room.discharge_unmet = []
    # A review made before this dose no longer describes the patient.
    s.discharge_reviewed_by = s.discharge_reviewed_t = s.discharge_outcome = None
    return f"ok: top-up dose {n}; BP schedule restarted", out


def ack(room: RoomPipeline, c: Ack) -> Outcome:
    condition, since = str(c.condition), c.since
    current = room.engine.current.get(condition)
    if since is not None and current is not None and current.since != since:
        # A page's acknowledgement (link, Pushover receipt) names the episode it was
        # sent about; arriving late, it must not acknowledge a newer one nobody saw.
        return "ignored: that alarm episode is over", []
    events = room.engine.acknowledge(c.t, condition, c.by)
    if events and condition == MONITORING_INTERRUPTED:
        events += room.engine.lower(c.t, condition, reason="taken note of")
    if events:
        return "ok", list(events)
    if current is None:
        return f"ignored: no {condition} alarm is active", []
    return (
        f"ignored: {condition} already acknowledged by {current.acknowledged_by or 'someone'}",
        [],
    )


def technical_alarm(room: RoomPipeline, c: TechnicalAlarm) -> Outcome:
    """A technical condition seen outside the room's data: the notifier could not page
    anyone (`notify_failed`), storage is down (`storage_degraded`, `journal_failed`).
    The core owns it like any other alarm, so it latches, is acknowledged and escalates
    the same way."""
    condition = c.condition or ""
    if condition not in EXTERNAL_TECHNICAL:
        return f"ignored: {condition!r} is not an external technical condition", []
    reason = c.reason or ""
    if c.state == "cleared":
        events = room.engine.lower(c.t, condition, reason=reason)
        return ("ok" if events else "ignored: not present"), list(events)
    if c.problem:
        return c.problem, []
    priority = c.priority or Priority(EXTERNAL_TECHNICAL[condition])
    events = room.tech.raise_(TECHNICAL[condition], c.t, reason, priority=priority)
    return "ok", list(events)


def resumed(room: RoomPipeline, c: Resumed) -> Outcome:
    """Vigil restarted at `c.t`; this state was rebuilt from the journal's inputs up to
    the last one before the stop (monitor/resume.py). Nothing was observed in between, so
    the gap is not judged as stale data or a lost link: each link that was up counts as
    reconnecting from now, with the grace a new link gets (a driver that does not report
    back within the delay raises `device_disconnected` as usual). Conditions the stopped
    process owned (storage, paging) are lowered for the new one to check again (a latched
    one stays until acknowledged). In a session, `monitoring_interrupted` says how long
    nobody was watching. `sources` (optional): the device links the restarted run has; a
    link no longer configured is forgotten."""
    t = c.t
    room.tech.resumed(t, c.sources)  # the links the restarted run has
    out: list[PipelineEvent] = []
    for condition in EXTERNAL_TECHNICAL:
        out += room.engine.lower(t, condition, reason="Vigil restarted: checked again")
    out += room.tick(t)
    if room.phase not in IN_SESSION:
        return "ok: no session", out
    reason = c.reason or "Vigil restarted"
    # Restarted again before anyone took note: a new interruption, with its own length.
    out += room.engine.lower(t, MONITORING_INTERRUPTED, reason="Vigil restarted again")
    out += room.tech.raise_(INTERRUPTED, t, reason)
    return "ok", out


def discharge_review(room: RoomPipeline, c: DischargeReview) -> Outcome:
    if room.phase not in POST_DOSE:
        return f"ignored: no discharge review in phase {room.phase}", []
    if c.problem:
        return c.problem, []
    outcome, reason = c.decided, c.why
    unmet = room.unmet_criteria(c.t)
    if outcome == ReviewOutcome.READY and unmet:
        return (
            f"rejected: not ready for discharge ({'; '.join(unmet)}): record not ready, "
            "or a clinician override with a reason",
            [],
        )
    if outcome == ReviewOutcome.OVERRIDE and not reason:
        return "rejected: an override needs a reason", []
    s = room.session
    entry: dict[str, Any] = {"t": c.t, "by": c.by, "outcome": outcome.value, "unmet": unmet}
    if reason:
        entry["reason"] = reason
    s.discharge_reviews.append(entry)
    if outcome in DISCHARGING:
        s.discharge_reviewed_by, s.discharge_reviewed_t = c.by, c.t
        s.discharge_outcome = outcome.value
    else:
        # A later "not ready" withdraws an earlier clearance.
        s.discharge_reviewed_by = s.discharge_reviewed_t = s.discharge_outcome = None
    if outcome == ReviewOutcome.OVERRIDE:
        return f"ok: override of {len(unmet)} unmet criteria", []
    return "ok", []


def session_end(room: RoomPipeline, c: SessionEnd) -> Outcome:
    if room.phase not in IN_SESSION:
        return "ignored: no session", []
    room.session.ended_t, room.session.ended_by = c.t, c.by
    room.schedule = None  # nothing runs in an ended room: no BP due, no countdown
    out: list[PipelineEvent] = []
    out += room.engine.clear_all(c.t, f"session ended by {c.by or 'unknown'}", c.by)
    room.limits.reset()
    # Relative limits belong to this patient: whoever is on the devices next is judged
    # by absolute limits only until a new session confirms a new baseline.
    room.relative_on = False
    room.apply_limits(out, c.t)
    out += room.set_phase(c.t, Phase.ENDED, f"ended by {c.by or 'unknown'}")
    return "ok", out


def audio_pause(room: RoomPipeline, c: AudioPause) -> Outcome:
    room.engine.audio_pause(c.t, c.by)
    return "ok", []


def note(room: RoomPipeline, c: Note) -> Outcome:
    text = c.text if c.text is not None else ""
    room.session.notes.append({"t": c.t, "text": text, "by": c.by})
    return "ok", []


#: The handler of each control type (an unknown event has none: logged, ignored).
HANDLERS: dict[type[Control], Callable[[RoomPipeline, Any], Outcome]] = {
    SessionStart: session_start,
    BaselineEntry: baseline,
    ConfirmBaseline: confirm_baseline,
    Dose: dose,
    Ack: ack,
    AudioPause: audio_pause,
    Note: note,
    DischargeReview: discharge_review,
    SessionEnd: session_end,
    TechnicalAlarm: technical_alarm,
    Resumed: resumed,
}
