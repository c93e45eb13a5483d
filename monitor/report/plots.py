"""The report's plots: SpO2, pulse rate and BP against baseline and limits, dose and alarms.

Built on `matplotlib.figure.Figure` (no pyplot), so rendering in a server thread is safe.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from monitor.report.model import SessionRecord  # noqa: E402

# Absolute limits from clinical-defaults.md, drawn when no alarm gave a limit of its own.
DEFAULT_LIMITS: dict[str, list[tuple[float, str]]] = {
    "spo2": [(90.0, "spo2_low 90")],
    "pulse_rate": [(120.0, "hr_high 120"), (50.0, "hr_low 50")],
    "bp": [(160.0, "SBP 160"), (90.0, "SBP 90"), (100.0, "DBP 100")],
}
PANELS = [
    ("spo2", "SpO2 (%)", ["spo2"]),
    ("pulse_rate", "Pulse rate (bpm)", ["pulse_rate"]),
    ("bp", "Blood pressure (mmHg)", ["sbp", "dbp", "map"]),
]
PRIORITY_COLOUR = {"high": "#d62728", "medium": "#e6b800", "low": "#17becf"}


def panel_of(condition: str) -> str | None:
    """Which plot an alarm condition belongs to (None: technical, shown on all)."""
    if condition.startswith("spo2"):
        return "spo2"
    if condition.startswith("hr_") or condition.startswith("pulse"):
        return "pulse_rate"
    if condition.startswith(("bp_", "map_", "sbp", "dbp")):
        return "bp"
    return None


def baseline_values(rec: SessionRecord) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in rec.baselines():
        b = e.payload.get("baseline")
        if isinstance(b, dict):
            out.update({k: float(v) for k, v in b.items() if isinstance(v, (int, float))})
    return out


def figure(rec: SessionRecord) -> Figure:
    t0 = rec.session.started
    fig = Figure(figsize=(10, 9), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    baseline = baseline_values(rec)
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in rec.readings:
        if r.valid and r.value is not None:
            xs, ys = series.setdefault(r.channel, ([], []))
            xs.append((r.t - t0) / 60)
            ys.append(r.value)
    alarm_limits: dict[str, set[tuple[float, str]]] = {}
    for a in rec.alarms:
        panel = panel_of(a.condition)
        if panel and a.limit is not None:
            alarm_limits.setdefault(panel, set()).add((a.limit, f"{a.condition} {a.limit:g}"))
    for ax, (panel, title, channels) in zip(axes, PANELS, strict=True):
        for ch in channels:
            xs, ys = series.get(ch, ([], []))
            ax.plot(xs, ys, lw=1.2, label=ch, marker="o" if ch in ("sbp", "dbp", "map") else None)
            if ch in baseline:
                ax.axhline(baseline[ch], ls="--", lw=1, color="grey")
                ax.annotate(f"baseline {ch} {baseline[ch]:g}", (0, baseline[ch]), fontsize=7)
        for value, label in sorted(alarm_limits.get(panel) or set(DEFAULT_LIMITS[panel])):
            ax.axhline(value, ls=":", lw=1, color="#d62728")
            ax.annotate(f"limit {label}", (0, value), fontsize=7, color="#d62728")
        for ep in rec.episodes:
            if panel_of(ep.condition) not in (panel, None):
                continue
            end = ep.ended if ep.ended is not None else rec.end
            ax.axvspan(
                (ep.started - t0) / 60,
                (end - t0) / 60,
                color=PRIORITY_COLOUR.get(ep.priority, "grey"),
                alpha=0.25,
            )
            if ep.acknowledged is not None:
                ax.axvline((ep.acknowledged - t0) / 60, color="black", lw=0.8, ls="-.")
        if rec.session.dose_t is not None:
            ax.axvline((rec.session.dose_t - t0) / 60, color="purple", lw=1.5)
            ax.annotate("dose", ((rec.session.dose_t - t0) / 60, ax.get_ylim()[1]), fontsize=8)
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        if len(channels) > 1:
            ax.legend(loc="lower right", fontsize=7)
    axes[-1].set_xlabel("minutes since session start (shaded: alarms; dash-dot: acknowledged)")
    fig.suptitle(f"Session {rec.session.id} — room {rec.session.room}")
    return fig


def png(fig: Figure, **kw: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, **kw)
    return buf.getvalue()
