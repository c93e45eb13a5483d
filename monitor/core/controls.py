"""Controls: the instructions that enter a room's pipeline from outside, one frozen dataclass each.

A person (API, acknowledgement link, Pushover app), another part of Vigil (paging, storage,
HL7 out, a restart) or a replay sends them; `RoomPipeline.control` dispatches on the type.

On the wire (journal rows, recordings, the pipeline's audit log) a control is an event name,
an `args` object and who sent it: `control_from_dict` reads that form into a typed control
and `Control.to_dict` writes it back, so old journals and recordings replay unchanged. The
reading is lenient, as the journal keeps whatever was sent: a value of the wrong type becomes
the control's `problem` (the pipeline refuses it with that reason, at the point where it
would judge the value), and every argument that its typed field does not reproduce exactly
(unknown keys, `70` for a float age) stays in `extra`, so `to_dict` gives back what came in.

    Control (t, by, extra)
    ├── SessionStart     pseudonym, age
    ├── BaselineEntry    values (channel -> entered value)
    ├── ConfirmBaseline
    ├── Dose             route, amount_mg
    ├── Ack              condition, since (the paged episode's onset)
    ├── AudioPause
    ├── Note             text
    ├── DischargeReview  outcome (ready / not_ready / override), reason
    ├── SessionEnd
    ├── TechnicalAlarm   condition, state, priority, reason (reported by another part)
    ├── Resumed          sources, gap_s, reason (Vigil restarted)
    └── UnknownControl   event, args (an event this version does not know: logged, ignored)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import isfinite
from types import MappingProxyType
from typing import Any, ClassVar, TypeGuard

from monitor.core.baseline import BASELINE_CHANNELS
from monitor.core.discharge import ReviewOutcome
from monitor.core.models import Priority
from monitor.core.session import DOSE_MAX_MG, DOSE_ROUTES

_NO_ARGS: Mapping[str, Any] = MappingProxyType({})


def _number(v: object) -> TypeGuard[float]:
    """A JSON number (bool is not one, though Python counts it as an int)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


@dataclass(frozen=True, slots=True)
class Control:
    """What every control has: its time, who sent it, and wire arguments kept as they came."""

    EVENT: ClassVar[str] = ""

    t: float
    by: str | None = field(default=None, kw_only=True)
    # Arguments the typed fields do not reproduce exactly, kept for the round trip.
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    @property
    def event(self) -> str:
        """The wire name (session_start, dose, ack, ...)."""
        return self.EVENT

    @property
    def args(self) -> dict[str, Any]:
        """The wire arguments: the typed fields that are set, then `extra`."""
        out = self._typed_args()
        out.update(self.extra)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The wire form {"t", "event", "args", "by"} (the audit log's, the journal's)."""
        return {"t": self.t, "event": self.event, "args": self.args, "by": self.by}

    def _typed_args(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class SessionStart(Control):
    EVENT: ClassVar[str] = "session_start"
    pseudonym: str | None = None
    age: float | None = None

    def _typed_args(self) -> dict[str, Any]:
        return _set(pseudonym=self.pseudonym, age=self.age)


@dataclass(frozen=True, slots=True)
class BaselineEntry(Control):
    """Baseline values entered by the clinician (BASELINE_CHANNELS), in that order."""

    EVENT: ClassVar[str] = "baseline"
    values: Mapping[str, float] = field(default_factory=dict)
    problem: str = field(default="", kw_only=True)  # a value that is not a number

    def _typed_args(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class ConfirmBaseline(Control):
    EVENT: ClassVar[str] = "confirm_baseline"


@dataclass(frozen=True, slots=True)
class Dose(Control):
    """A dose mark (the first, or a top-up); route and amount are optional."""

    EVENT: ClassVar[str] = "dose"
    route: str | None = None
    amount_mg: float | None = None
    problem: str = field(default="", kw_only=True)  # a route or amount of the wrong type

    def _typed_args(self) -> dict[str, Any]:
        return _set(route=self.route, amount_mg=self.amount_mg)

    def refused(self) -> str:
        """Why the route or amount is refused ("" when they are fine or absent)."""
        route, amount = self.route, self.amount_mg
        if route is not None and route not in DOSE_ROUTES:
            return _bad_route(route)
        if self.problem:
            return self.problem
        if amount is not None and (not isfinite(amount) or not 0 < amount <= DOSE_MAX_MG):
            return _bad_amount(amount)
        return ""

    def entry(self) -> dict[str, Any]:
        """The dose's entry in the session's `doses`."""
        entry: dict[str, Any] = {"t": self.t, "by": self.by}
        if self.route is not None:
            entry["route"] = self.route
        if self.amount_mg is not None:
            entry["amount_mg"] = float(self.amount_mg)
        return entry


@dataclass(frozen=True, slots=True)
class Ack(Control):
    """Acknowledge `condition`; from a page, `since` names the episode it was sent about."""

    EVENT: ClassVar[str] = "ack"
    condition: str | None = None
    since: float | None = None

    def _typed_args(self) -> dict[str, Any]:
        return _set(condition=self.condition, since=self.since)


@dataclass(frozen=True, slots=True)
class AudioPause(Control):
    EVENT: ClassVar[str] = "audio_pause"


@dataclass(frozen=True, slots=True)
class Note(Control):
    EVENT: ClassVar[str] = "note"
    text: str | None = None

    def _typed_args(self) -> dict[str, Any]:
        return _set(text=self.text)


@dataclass(frozen=True, slots=True)
class DischargeReview(Control):
    """ready (every criterion met), not_ready, or override (ready despite unmet criteria,
    with a reason). The old form {"ready": true/false} means ready / not_ready."""

    EVENT: ClassVar[str] = "discharge_review"
    outcome: ReviewOutcome | None = None
    reason: str | None = None
    ready: bool | None = None  # the old form
    text: str | None = None  # the old name of `reason`
    problem: str = field(default="", kw_only=True)  # an outcome that is none of the three

    def _typed_args(self) -> dict[str, Any]:
        outcome = None if self.outcome is None else self.outcome.value
        # The API's order (monitor/api/routes/events.py), as journals have it.
        return _set(text=self.text, ready=self.ready, outcome=outcome, reason=self.reason)

    @property
    def decided(self) -> ReviewOutcome:
        if self.outcome is not None:
            return self.outcome
        return ReviewOutcome.NOT_READY if self.ready is False else ReviewOutcome.READY

    @property
    def why(self) -> str:
        return (self.reason or self.text or "").strip()


@dataclass(frozen=True, slots=True)
class SessionEnd(Control):
    EVENT: ClassVar[str] = "session_end"


@dataclass(frozen=True, slots=True)
class TechnicalAlarm(Control):
    """A technical condition another part of Vigil reports (technical.py, `reported` rows):
    raised (`state` active, the default) or cleared; `priority` overrides the table's."""

    EVENT: ClassVar[str] = "technical_alarm"
    condition: str | None = None
    state: str | None = None
    priority: Priority | None = None
    reason: str | None = None
    problem: str = field(default="", kw_only=True)  # a priority that is none of Vigil's

    def _typed_args(self) -> dict[str, Any]:
        priority = None if self.priority is None else self.priority.value
        return _set(
            condition=self.condition, priority=priority, state=self.state, reason=self.reason
        )


@dataclass(frozen=True, slots=True)
class Resumed(Control):
    """Vigil restarted at `t` after `gap_s` unwatched; `sources`: the device links the
    restarted run has (None: unknown, keep every link)."""

    EVENT: ClassVar[str] = "resumed"
    gap_s: float | None = None
    reason: str | None = None
    sources: tuple[str, ...] | None = None

    def _typed_args(self) -> dict[str, Any]:
        sources = None if self.sources is None else list(self.sources)
        return _set(gap_s=self.gap_s, reason=self.reason, sources=sources)


@dataclass(frozen=True, slots=True)
class UnknownControl(Control):
    """An event this version does not know (a newer journal): logged and ignored."""

    name: str = ""

    @property
    def event(self) -> str:
        return self.name


def _set(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


# -- the wire -------------------------------------------------------------------------------
def _session_start(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    age = a.get("age")
    pseudonym = a.get("pseudonym")
    return SessionStart(
        t,
        str(pseudonym) if pseudonym else None,
        float(age) if _number(age) else None,
        by=by,
    )


def _baseline(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    values: dict[str, float] = {}
    for key in BASELINE_CHANNELS:
        v = a.get(key)
        if v is None:
            continue
        if not _number(v) or v != v:
            # Values before it keep their order: the pipeline judges them first, as before.
            return BaselineEntry(t, values, by=by, problem=f"rejected: {key} is not a number")
        values[key] = v
    return BaselineEntry(t, values, by=by)


def _bad_route(route: object) -> str:
    return f"rejected: route {route!r} is not one of {', '.join(DOSE_ROUTES)}"


def _bad_amount(amount: object) -> str:
    return f"rejected: amount_mg {amount!r} is not a dose in mg (0–{DOSE_MAX_MG:g})"


def _dose(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    route, amount, problem = a.get("route"), a.get("amount_mg"), ""
    if route is not None and not isinstance(route, str):
        route, problem = None, _bad_route(route)
    if amount is not None and not _number(amount):
        amount, problem = None, problem or _bad_amount(amount)
    return Dose(t, route, amount, by=by, problem=problem)


def _ack(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    condition, since = a.get("condition"), a.get("since")
    if since is not None and not _number(since):
        since = float("nan")  # names no episode: a late page's ack must not ack a newer one
    return Ack(t, None if condition is None else str(condition), since, by=by)


def _note(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    return Note(t, str(a["text"]) if "text" in a else None, by=by)


def _discharge_review(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    raw, problem, outcome = a.get("outcome"), "", None
    if raw is not None:
        try:
            outcome = ReviewOutcome(str(raw))
        except ValueError:
            problem = f"rejected: outcome {raw!r} is not one of ready, not_ready, override"
    ready = a.get("ready")
    return DischargeReview(
        t,
        outcome,
        str(a["reason"]) if a.get("reason") else None,
        ready if isinstance(ready, bool) else None,
        str(a["text"]) if a.get("text") else None,
        by=by,
        problem=problem,
    )


def _technical_alarm(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    priority, problem = None, ""
    if "priority" in a:
        try:
            priority = Priority(str(a["priority"]))
        except ValueError:
            problem = "ignored: unknown priority"
    condition, state, reason = a.get("condition"), a.get("state"), a.get("reason")
    return TechnicalAlarm(
        t,
        None if condition is None else str(condition),
        None if state is None else str(state),
        priority,
        None if reason is None else str(reason),
        by=by,
        problem=problem,
    )


def _resumed(t: float, a: Mapping[str, Any], by: str | None) -> Control:
    sources, gap = a.get("sources"), a.get("gap_s")
    return Resumed(
        t,
        float(gap) if _number(gap) else None,
        str(a["reason"]) if a.get("reason") else None,
        tuple(sources) if isinstance(sources, list) else None,
        by=by,
    )


def _plain(kind: type[Control]) -> Any:
    return lambda t, a, by: kind(t, by=by)


_PARSERS: dict[str, Any] = {
    "session_start": _session_start,
    "baseline": _baseline,
    "confirm_baseline": _plain(ConfirmBaseline),
    "dose": _dose,
    "ack": _ack,
    "audio_pause": _plain(AudioPause),
    "note": _note,
    "discharge_review": _discharge_review,
    "session_end": _plain(SessionEnd),
    "technical_alarm": _technical_alarm,
    "resumed": _resumed,
}
#: Every control's wire name (the API offers the ones a person may send).
EVENTS: tuple[str, ...] = tuple(_PARSERS)


def control_from_dict(d: Mapping[str, Any]) -> Control:
    """A typed control from its wire form {"t", "event", "args"?, "by"?} (`Control.to_dict`)."""
    t, event, by = float(d["t"]), str(d["event"]), d.get("by")
    args: Mapping[str, Any] = d.get("args") or _NO_ARGS
    by = None if by is None else str(by)
    parse = _PARSERS.get(event)
    if parse is None:
        return UnknownControl(t, by=by, extra=dict(args), name=event)
    control: Control = parse(t, args, by)
    typed = control._typed_args()
    extra = {
        k: v
        for k, v in args.items()
        if k not in typed or type(typed[k]) is not type(v) or typed[k] != v
    }
    return replace(control, extra=extra) if extra else control
