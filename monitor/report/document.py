"""The session report's content as plain tables, shared by the HTML and the PDF renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.message import condition_label
from monitor import __version__, clinic_time
from monitor.core.models import CANONICAL_UNIT
from monitor.report.model import AlarmEpisode, SessionRecord, channel_summary, clinic_stats
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
    footer: list[str] = field(default_factory=list)  # generated at/by, version, audit chain


def secs(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.1f} min"


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float) else "—"


_CHANNEL_WORDS = {
    "spo2": "SpO2",
    "pulse_rate": "pulse",
    "sbp": "SBP",
    "dbp": "DBP",
    "map": "MAP",
    "resp_rate": "respiratory rate",
    "etco2": "EtCO2",
    "perfusion_index": "perfusion index",
}


def _stat(v: object) -> str:
    """A summary figure to one decimal: 72.7, not 72.70736."""
    return f"{round(v, 1):g}" if isinstance(v, int | float) else "—"


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
        label = condition_label(condition)
        out.append(f"{label} ({rows[0].get('priority', '?')}): {bounds}")
    return "; ".join(out) or "—"


def _refused(e: AuditEntry) -> str:
    """The core's reason when it refused a control; "" when applied (entries recorded before
    outcomes were kept have none: they count as applied)."""
    outcome = str(e.payload.get("outcome", "ok"))
    return "" if accepted(outcome) else outcome


# How an alarm ended (AlarmEpisode.how_ended) in words.
_ENDINGS = {
    "resolved": "resolved by itself",
    "acknowledged": "acknowledged after it resolved",
    "session_end": "session ended",
}


def _unit(condition: str) -> str:
    """The unit of an alarm's value and limit, from its condition's channel."""
    if condition.startswith("spo2"):
        return "%"
    if condition.startswith(("hr_", "pulse")):
        return "bpm"
    if condition.startswith(("bp_", "map_", "sbp", "dbp")):
        return "mmHg"
    return ""


def _qty(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    return f"{v:g} %" if unit == "%" else f"{v:g} {unit}".rstrip()


def alarm_words(e: AlarmEpisode) -> str:
    """'SpO2 below baseline (medium)'; technical alarms say so."""
    label = condition_label(e.condition)
    tech = "technical: " if e.kind == "technical" else ""
    return f"{tech}{label} ({e.priority})"


def limit_words(e: AlarmEpisode, relative: bool = False) -> str:
    """'worst 86 %, limit 93 % (4 below baseline 97 %)': the rule in words, not its id. Only a
    rule `relative` to the baseline says how far from it its limit is."""
    unit = _unit(e.condition)
    parts = []
    if e.worst_value is not None:
        parts.append(f"worst {_qty(e.worst_value, unit)}")
    if e.limit is not None:
        limit = f"limit {_qty(e.limit, unit)}"
        if relative and e.baseline is not None and e.baseline != e.limit:
            gap = e.limit - e.baseline
            side = "below" if gap < 0 else "above"
            limit += f" ({abs(gap):g} {side} baseline {_qty(e.baseline, unit)})"
        parts.append(limit)
    return ", ".join(parts) or "—"


def _words(payload: dict[str, object]) -> str:
    """An audit entry's payload as 'key: value; ...' words (never raw JSON)."""
    out = []
    for k, v in payload.items():
        if k in ("t", "type", "room", "session") or v in (None, "", [], {}):
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{kk} {vv}" for kk, vv in v.items() if vv not in (None, ""))
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        elif isinstance(v, float):
            v = f"{v:g}"
        out.append(f"{k.replace('_', ' ')}: {v}")
    return "; ".join(out)


def _applied(e: AuditEntry) -> str:
    """An applied control's detail: what the core said it did ("top-up dose 2; BP schedule
    restarted"), then its arguments in words."""
    outcome = str(e.payload.get("outcome", "ok"))
    said = outcome[len("ok:") :].strip() if outcome.startswith("ok:") else ""
    args = _words(dict(e.payload.get("args") or {}))
    return " · ".join(x for x in (said, args) if x)


def _top_ups(rec: SessionRecord, at: Callable[[float | None], str]) -> list[tuple[str, str]]:
    """The facts line listing top-up doses (re-dosing), when there were any."""
    later = rec.doses()[1:]
    if not later:
        return []
    return [
        (
            "Top-up doses",
            "; ".join(
                " ".join(
                    x
                    for x in (
                        at(e.t),
                        str((e.payload.get("args") or {}).get("route") or ""),
                        _mg((e.payload.get("args") or {}).get("amount_mg")),
                        f"by {e.who or '—'}",
                    )
                    if x
                )
                for e in later
            ),
        )
    ]


def _mg(amount: object) -> str:
    return f"{amount:g} mg" if isinstance(amount, int | float) else ""


def build(rec: SessionRecord) -> Document:
    s = rec.session
    eps = rec.episodes
    stats = clinic_stats([eps])
    dose = s.dose_t
    zone = rec.timezone
    day = clinic_time.local(s.started, zone).date()

    def at(t: float | None) -> str:
        """Clock time in the clinic's zone; the date too when it is not the session's day."""
        if t is None:
            return "—"
        when = clinic_time.local(t, zone)
        return when.strftime("%H:%M:%S" if when.date() == day else "%Y-%m-%d %H:%M:%S")

    def dated(t: float | None) -> str:
        return clinic_time.clock(t, zone)

    def since_dose(t: float) -> str:
        if dose is None:
            return ""
        d = (t - dose) / 60
        return f"dose {'+' if d >= 0 else '−'}{abs(d):.0f} min"

    facts = [
        ("Room", s.room),
        ("Patient (pseudonym)", s.patient or "—"),
        ("Session started", f"{dated(s.started)} by {s.started_by or '—'}"),
        ("Dose", f"{dated(dose)} by {s.dosed_by or '—'}" if dose is not None else "not marked"),
        *_top_ups(rec, at),
        (
            "Session ended",
            f"{dated(s.ended)} by {s.ended_by or '—'}" if s.ended is not None else "still open",
        ),
        ("Duration", secs(rec.end - s.started)),
        ("Times", f"clock times in {clinic_time.label(zone, s.started)}"),
        ("Alarms", str(stats.alarms)),
        ("High-priority alarms", str(sum(1 for e in eps if e.priority == "high"))),
        ("Acknowledged", f"{stats.acknowledged} of {stats.alarms}"),
        ("Median time to acknowledge", secs(stats.median_time_to_ack_s)),
        ("Data source", rec.source),
        ("Notice", SECONDARY_NOTICE),
    ]

    def acked(e: AlarmEpisode) -> str:
        if e.acknowledged is None:
            return "not acknowledged"
        return f"by {e.acknowledged_by or '?'} at {at(e.acknowledged)} ({secs(e.time_to_ack_s)})"

    def ended(e: AlarmEpisode) -> str:
        if e.ended is None:
            return "still open"
        how = _ENDINGS.get(e.how_ended, "ended")
        who = f" by {e.ended_by}" if e.ended_by and e.how_ended == "session_end" else ""
        return f"{how}{who} at {at(e.ended)}; lasted {secs(e.duration_s)}"

    relative = {
        condition
        for b in rec.baselines()
        if isinstance(limits := b.payload.get("limits"), dict)
        for condition, rows in limits.items()
        if isinstance(rows, list) and any(isinstance(r, dict) and r.get("relative") for r in rows)
    }
    alarms = Table(
        "Alarms",
        ["Alarm", "Started", "Values", "Acknowledged", "Ended", "Escalations"],
        [
            [
                alarm_words(e),
                " ".join(x for x in (at(e.started), f"({since_dose(e.started)})") if x != "()"),
                limit_words(e, e.condition in relative),
                acked(e),
                ended(e),
                str(e.escalations),
            ]
            for e in eps
        ],
    )
    summary = Table(
        "Summary statistics",
        ["Channel", "Valid readings", "Invalid", "Min", "Median", "Max"],
        [
            [
                _CHANNEL_WORDS.get(ch, ch),
                str(v["valid"]),
                str(v["invalid"]),
                _stat(v.get("min")),
                _stat(v.get("median")),
                _stat(v.get("max")),
            ]
            for ch, v in channel_summary(rec.readings).items()
        ],
    )
    baselines = Table(
        "Baseline and limits (who confirmed)",
        ["Time", "Confirmed by", "Baseline", "Limits"],
        [
            [
                at(e.t),
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
        [[at(e.t), e.who or "—", str(e.payload.get("text", ""))] for e in rec.notes()],
    )
    discharge_rows = [
        (p.t, [at(p.t), "—", f"phase: {p.phase.replace('_', ' ')}", p.detail])
        for p in rec.phases
        if p.phase.startswith("discharge")
    ] + [
        (e.t, [at(e.t), e.who or "—", "review", str(e.payload.get("text", ""))])
        for e in rec.discharge_reviews()
    ]
    discharge = Table(
        "Discharge review",
        ["Time", "By", "What", "Detail"],
        [row for _, row in sorted(discharge_rows, key=lambda x: x[0])],
        empty="no discharge review recorded",
    )
    event_rows: list[tuple[float, list[str]]] = [
        (p.t, [at(p.t), f"phase: {p.phase.replace('_', ' ')}", "—", p.detail]) for p in rec.phases
    ]
    event_rows += [
        # A control the core refused shows why ("ignored: ..."): it did not happen.
        (
            e.t,
            [
                at(e.t),
                str(e.payload.get("event", "")).replace("_", " "),
                e.who or "—",
                _refused(e) or _applied(e),
            ],
        )
        for e in rec.entries("control")
    ]
    event_rows += [
        (e.t, [at(e.t), e.kind.replace("_", " "), e.who or "—", _words(e.payload)])
        for e in rec.audit
        if e.kind not in ("control", "alarm", "phase", "baseline", "note")
    ]
    events = Table(
        "Session events",
        ["Time", "Event", "By", "Detail"],
        [row for _, row in sorted(event_rows, key=lambda x: x[0])],
    )
    footer = [
        f"Generated {dated(rec.generated_at)} by {rec.generated_by or '—'} with Vigil "
        f"{__version__}",
        f"Audit chain: {rec.audit_chain or 'not checked'}",
    ]
    return Document(
        title=f"Session report {s.id}",
        facts=facts,
        tables=[alarms, baselines, notes, discharge, summary, events],
        footer=footer,
    )
