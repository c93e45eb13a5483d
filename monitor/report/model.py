"""What a session record is made of, and the figures derived from it. Pure: no I/O.

Alarm transitions are grouped into episodes (active ... cleared) per condition; an episode's
time to acknowledge runs from its first `active` to its first `acknowledged` transition.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from monitor.store.journal import AuditEntry, SessionRow
from monitor.store.recorder import accepted

PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True, slots=True)
class ReadingRow:
    t: float
    channel: str
    value: float | None
    valid: bool
    status: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm transition."""

    t: float
    condition: str
    kind: str
    priority: str
    state: str
    value: float | None = None
    limit: float | None = None
    baseline: float | None = None
    reason: str = ""
    by: str = ""
    tier: int = 1  # escalation tier reached (1 when recorded before Vigil stored it)
    worst: float | None = None  # the episode's worst value so far, as the core kept it
    acknowledged_by: str = ""  # who acknowledged the episode (kept on its later transitions)
    acknowledged_t: float | None = None
    ended: str = ""  # on cleared: resolved | acknowledged | session_end (models.ENDINGS)


@dataclass(frozen=True, slots=True)
class PhaseRow:
    t: float
    phase: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AlarmEpisode:
    condition: str
    kind: str
    priority: str  # the highest priority it reached
    started: float
    acknowledged: float | None
    acknowledged_by: str | None
    ended: float | None  # cleared; None when still open at the end of the record
    escalations: int
    worst_value: float | None
    limit: float | None
    # A latched (high) alarm's condition can be gone before it is acknowledged and cleared.
    resolved: float | None = None
    how_ended: str = ""  # resolved | acknowledged | session_end; "" while open
    baseline: float | None = None  # the baseline a relative limit was taken from
    ended_by: str | None = None  # who ended it (an acknowledgement, the session end), else None

    @property
    def time_to_ack_s(self) -> float | None:
        return None if self.acknowledged is None else self.acknowledged - self.started

    @property
    def duration_s(self) -> float | None:
        """How long the condition lasted: until it resolved, else until it cleared."""
        end = self.resolved if self.resolved is not None else self.ended
        return None if end is None else end - self.started

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["time_to_ack_s"] = self.time_to_ack_s
        d["duration_s"] = self.duration_s
        return d


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """Everything the report shows about one session."""

    session: SessionRow
    end: float  # the session's end, or "now" for an open session
    readings: list[ReadingRow]
    alarms: list[AlarmRow]
    phases: list[PhaseRow]
    audit: list[AuditEntry]
    source: str = "influxdb"  # where readings/alarms came from: influxdb or journal
    episodes: list[AlarmEpisode] = field(default_factory=list)
    timezone: str = "UTC"  # the clinic's zone (IANA): clock times are shown in it
    paper: str = "A4"  # the PDF's paper: A4 or letter
    # How the report came to be, for its footer (audit document): when, for whom, and what the
    # journal's hash chain said when it was read ("" when not checked).
    generated_at: float | None = None
    generated_by: str = ""
    audit_chain: str = ""

    def entries(self, *kinds: str) -> list[AuditEntry]:
        return [e for e in self.audit if e.kind in kinds]

    def notes(self) -> list[AuditEntry]:
        return self._written("note")

    def doses(self) -> list[AuditEntry]:
        """Every dose mark the core applied, in order: the first dose, then any top-ups (their
        args carry route and amount_mg when given)."""
        return [
            e
            for e in self.audit
            if e.kind == "control"
            and e.payload.get("event") == "dose"
            and accepted(str(e.payload.get("outcome", "ok")))
        ]

    def discharge_reviews(self) -> list[AuditEntry]:
        return self._written("discharge_review")

    def _written(self, kind: str) -> list[AuditEntry]:
        """Entries of `kind`: written through the sessions API (kind `kind`, payload text) or
        sent from the dashboard as a room event (kind `control`, the text in its args). A
        control the core refused did not happen (its refusal is in the session events); a
        discharge review's text starts with its outcome ("override: <reason>")."""
        out = []
        for e in self.audit:
            if e.kind == kind:
                out.append(e)
            elif e.kind == "control" and e.payload.get("event") == kind:
                if not accepted(str(e.payload.get("outcome", "ok"))):
                    continue
                args = e.payload.get("args") or {}
                text = str(args.get("text") or args.get("reason") or "")
                outcome = str(args.get("outcome") or "").replace("_", " ")
                if outcome:
                    text = f"{outcome}: {text}" if text else outcome
                out.append(replace(e, kind=kind, payload={"text": text}))
        return out

    def baselines(self) -> list[AuditEntry]:
        return [e for e in self.audit if e.kind == "baseline"]


def episodes(alarms: list[AlarmRow]) -> list[AlarmEpisode]:
    """Group transitions into episodes per condition, in the order they started."""
    open_: dict[str, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for a in sorted(alarms, key=lambda a: a.t):
        ep = open_.get(a.condition)
        if ep is None:
            if a.state == "cleared":
                continue  # the end of an episode that began before this record
            ep = {
                "condition": a.condition,
                "kind": a.kind,
                "priority": a.priority,
                "started": a.t,
                "acknowledged": None,
                "acknowledged_by": None,
                "ended": None,
                "escalations": 0,
                "worst_value": a.value,
                "limit": a.limit,
                "resolved": None,
                "how_ended": "",
                "ended_by": None,
                "baseline": a.baseline,
                "tier": 1,
            }
            open_[a.condition] = ep
        if PRIORITY_RANK.get(a.priority, 0) > PRIORITY_RANK.get(ep["priority"], 0):
            ep["priority"] = a.priority
        for v in (a.value, a.worst):
            if v is not None and a.limit is not None and ep["worst_value"] is not None:
                # "worst" is the value furthest beyond the limit, on the side it was crossed.
                below = ep["worst_value"] < a.limit
                ep["worst_value"] = (
                    min(ep["worst_value"], v) if below else max(ep["worst_value"], v)
                )
        rose = a.tier > ep["tier"]
        ep["tier"] = max(ep["tier"], a.tier)
        if ep["acknowledged"] is None and (a.state == "acknowledged" or a.acknowledged_by):
            # A latched alarm acknowledged after it resolved goes straight to cleared.
            ep["acknowledged"] = a.acknowledged_t if a.acknowledged_t is not None else a.t
            ep["acknowledged_by"] = a.acknowledged_by or a.by or None
        if a.state == "escalated" or (a.state == "resolved" and rose):
            # A latched alarm escalates while resolved too: its tier is what says so.
            ep["escalations"] += 1
            if a.state == "resolved" and ep["resolved"] is None:
                ep["resolved"] = a.t
        elif a.state == "resolved" and ep["resolved"] is None:
            ep["resolved"] = a.t
        elif a.state == "cleared":
            ep["ended"] = a.t
            ep["how_ended"] = a.ended
            # Records from before `ended` was kept carry the acknowledger in `by` on a
            # cleared point that ended by itself: nobody ended it.
            ep["ended_by"] = (a.by or None) if a.ended != "resolved" else None
            done.append(open_.pop(a.condition))
    done.extend(open_.values())
    for d in done:
        del d["tier"]
    return sorted((AlarmEpisode(**d) for d in done), key=lambda e: (e.started, e.condition))


def channel_summary(readings: list[ReadingRow]) -> dict[str, dict[str, float | int]]:
    """Per channel: count of valid values, min, median, max."""
    by: dict[str, list[float]] = {}
    invalid: dict[str, int] = {}
    for r in readings:
        if r.valid and r.value is not None:
            by.setdefault(r.channel, []).append(r.value)
        else:
            invalid[r.channel] = invalid.get(r.channel, 0) + 1
    out: dict[str, dict[str, float | int]] = {}
    for ch in sorted(set(by) | set(invalid)):
        vals = by.get(ch, [])
        out[ch] = {"valid": len(vals), "invalid": invalid.get(ch, 0)}
        if vals:
            out[ch].update({"min": min(vals), "median": statistics.median(vals), "max": max(vals)})
    return out


@dataclass(frozen=True, slots=True)
class ClinicStats:
    sessions: int
    alarms: int
    alarms_per_session: float | None
    acknowledged: int
    median_time_to_ack_s: float | None
    sessions_with_high_priority: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clinic_stats(per_session: list[list[AlarmEpisode]]) -> ClinicStats:
    """Clinic-level figures over the sessions given (technical alarms included)."""
    all_eps = [e for eps in per_session for e in eps]
    acks = [e.time_to_ack_s for e in all_eps if e.time_to_ack_s is not None]
    n = len(per_session)
    return ClinicStats(
        sessions=n,
        alarms=len(all_eps),
        alarms_per_session=len(all_eps) / n if n else None,
        acknowledged=len(acks),
        median_time_to_ack_s=statistics.median(acks) if acks else None,
        sessions_with_high_priority=sum(
            1 for eps in per_session if any(e.priority == "high" for e in eps)
        ),
    )
