"""The session report's content as plain tables, shared by the HTML and the PDF renderers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerts.message import CONDITION_LABELS
from monitor.core.models import CANONICAL_UNIT
from monitor.report.model import SessionRecord, channel_summary, clinic_stats
from monitor.store.journal import AuditEntry
from monitor.store.recorder import accepted

SECONDARY_NOTICE = (
    "Vigil is a secondary alarm system: it does not replace the bedside devices' own alarms."
)


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    empty: str = "none"


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    facts: list[tuple[str, str]]
    tables: list[Table] = field(default_factory=list)


def clock(t: float | None) -> str:
    if t is None:
        return "—"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def secs(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.1f} min"


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float) else "—"


def _payload(p: dict[str, object]) -> str:
    return json.dumps(p, sort_keys=True, ensure_ascii=False)


_CHANNEL_WORDS = {"spo2": "SpO2", "pulse_rate": "pulse", "sbp": "SBP", "dbp": "DBP", "map": "MAP"}


def _baseline_text(b: object) -> str:
    """{"spo2": 97.0, "sbp": 121, ...} as 'SpO2 97 %, SBP 121 mmHg, ...' (unknowns left out)."""
    if not isinstance(b, dict):
        return "—"
    parts = [
        f"{_CHANNEL_WORDS.get(ch, ch)} {_num(v)} {CANONICAL_UNIT.get(ch, '')}".rstrip()
        for ch, v in b.items()
        if isinstance(v, int | float)
    ]
    return ", ".join(parts) or "—"


def _limits_text(limits: object) -> str:
    """The snapshot's limits per condition as 'SpO2 low: SpO2 < 90 (medium); ...'."""
    if not isinstance(limits, dict):
        return "—"
    out = []
    for condition, rows in limits.items():
        if not isinstance(rows, list) or not rows:
            continue
        bounds = ", ".join(
            f"{_CHANNEL_WORDS.get(str(r.get('channel')), r.get('channel'))} {r.get('comparator')} "
            f"{_num(r.get('limit'))}{' (from baseline)' if r.get('relative') else ''}"
            for r in rows
            if isinstance(r, dict)
        )
        label = CONDITION_LABELS.get(condition, condition.replace("_", " "))
        out.append(f"{label} ({rows[0].get('priority', '?')}): {bounds}")
    return "; ".join(out) or "—"


def _refused(e: AuditEntry) -> str:
    """The core's reason when it refused a control; "" when applied (entries recorded before
    outcomes were kept have none: they count as applied)."""
    outcome = str(e.payload.get("outcome", "ok"))
    return "" if accepted(outcome) else outcome


def build(rec: SessionRecord) -> Document:
    s = rec.session
    eps = rec.episodes
    stats = clinic_stats([eps])
    dose = s.dose_t

    def rel(t: float) -> str:
        ref, label = (dose, "dose") if dose is not None else (s.started, "start")
        d = t - ref
        return f"{'+' if d >= 0 else '−'}{abs(d) / 60:.1f} min from {label}"

    facts = [
        ("Room", s.room),
        ("Patient (pseudonym)", s.patient or "—"),
        ("Session started", f"{clock(s.started)} by {s.started_by or '—'}"),
        ("Dose", f"{clock(dose)} by {s.dosed_by or '—'}" if dose is not None else "not marked"),
        (
            "Session ended",
            f"{clock(s.ended)} by {s.ended_by or '—'}" if s.ended is not None else "still open",
        ),
        ("Duration", secs(rec.end - s.started)),
        ("Alarms", str(stats.alarms)),
        ("High-priority alarms", str(sum(1 for e in eps if e.priority == "high"))),
        ("Acknowledged", f"{stats.acknowledged} of {stats.alarms}"),
        ("Median time to acknowledge", secs(stats.median_time_to_ack_s)),
        ("Data source", rec.source),
        ("Notice", SECONDARY_NOTICE),
    ]
    alarms = Table(
        "Alarms",
        [
            "Condition",
            "Priority",
            "Kind",
            "Started",
            "When",
            "Duration",
            "Time to ack",
            "Acknowledged by",
            "Escalations",
            "Worst value",
            "Limit",
        ],
        [
            [
                e.condition,
                e.priority,
                e.kind,
                clock(e.started),
                rel(e.started),
                secs(e.duration_s) if e.ended is not None else "open",
                secs(e.time_to_ack_s) if e.acknowledged is not None else "not acknowledged",
                e.acknowledged_by or "—",
                str(e.escalations),
                _num(e.worst_value),
                _num(e.limit),
            ]
            for e in eps
        ],
    )
    summary = Table(
        "Summary statistics",
        ["Channel", "Valid readings", "Invalid", "Min", "Median", "Max"],
        [
            [
                ch,
                str(v["valid"]),
                str(v["invalid"]),
                _num(v.get("min")),
                _num(v.get("median")),
                _num(v.get("max")),
            ]
            for ch, v in channel_summary(rec.readings).items()
        ],
    )
    baselines = Table(
        "Baseline and limits (who confirmed)",
        ["Time", "Confirmed by", "Baseline", "Limits"],
        [
            [
                clock(e.t),
                e.who or "—",
                _baseline_text(e.payload.get("baseline")),
                _limits_text(e.payload.get("limits")),
            ]
            for e in rec.baselines()
        ],
        empty="no baseline confirmed",
    )
    notes = Table(
        "Notes",
        ["Time", "By", "Note"],
        [[clock(e.t), e.who or "—", str(e.payload.get("text", ""))] for e in rec.notes()],
    )
    discharge_rows = [
        [clock(p.t), "—", f"phase {p.phase}", p.detail]
        for p in rec.phases
        if p.phase.startswith("discharge")
    ] + [
        [clock(e.t), e.who or "—", "review", str(e.payload.get("text", ""))]
        for e in rec.discharge_reviews()
    ]
    discharge = Table(
        "Discharge review",
        ["Time", "By", "What", "Detail"],
        sorted(discharge_rows),
        empty="no discharge review recorded",
    )
    events = Table(
        "Session events",
        ["Time", "Event", "By", "Detail"],
        sorted(
            [[clock(p.t), f"phase: {p.phase}", "—", p.detail] for p in rec.phases]
            + [
                # A control the core refused shows why ("ignored: ..."): it did not happen.
                [clock(e.t), f"{e.kind}: {e.payload.get('event', '')}", e.who or "—", _refused(e)]
                for e in rec.entries("control")
            ]
            + [
                [clock(e.t), e.kind, e.who or "—", _payload(e.payload)]
                for e in rec.audit
                if e.kind not in ("control", "alarm", "phase", "baseline", "note")
            ]
        ),
    )
    return Document(
        title=f"Session report {s.id}",
        facts=facts,
        tables=[alarms, baselines, notes, discharge, summary, events],
    )
