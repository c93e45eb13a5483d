"""The report's plots: SpO2, pulse rate and BP against baseline and limits, dose and alarms.

The x axis is clock time in the clinic's zone (one label, under the last panel); shaded spans
are alarms by priority, explained by the figure's legend. Each BP channel has its own colour,
and its limits are drawn in that colour: a DBP limit is never drawn as an SBP band.

Built on `matplotlib.figure.Figure` (no pyplot), so rendering in a server thread is safe.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from monitor import clinic_time  # noqa: E402
from monitor.report.model import SessionRecord  # noqa: E402

# Absolute limits from clinical-defaults.md, drawn when no confirmed baseline gave limits.
DEFAULT_LIMITS: dict[str, list[float]] = {
    "spo2": [90.0],
    "pulse_rate": [120.0, 50.0],
    "sbp": [160.0, 90.0],
    "dbp": [100.0],
    "resp_rate": [8.0, 30.0],
    "etco2": [50.0, 20.0],
}
# panel, y label, channels
PANELS = [
    ("spo2", "SpO2 (%)", ["spo2"]),
    ("pulse_rate", "Pulse (bpm)", ["pulse_rate"]),
    ("bp", "BP (mmHg)", ["sbp", "dbp", "map"]),
]
# Drawn only when the session has respiration data (a capnograph or an HL7 monitor).
RESP_PANEL = ("resp", "RR (/min), EtCO2 (mmHg)", ["resp_rate", "etco2"])
CHANNEL_STYLE: dict[str, tuple[str, str]] = {  # channel: (colour, legend label)
    "spo2": ("#1f77b4", "SpO2"),
    "pulse_rate": ("#2ca02c", "pulse"),
    "sbp": ("#d62728", "SBP"),
    "dbp": ("#1f77b4", "DBP"),
    "map": ("#7f7f7f", "MAP"),
    "resp_rate": ("#9467bd", "RR"),
    "etco2": ("#8c564b", "EtCO2"),
}
PRIORITY_COLOUR = {"high": "#d62728", "medium": "#e6b800", "low": "#17becf"}


def panel_of(condition: str) -> str | None:
    """Which plot an alarm condition belongs to (None: technical, shown on all)."""
    if condition.startswith("spo2"):
        return "spo2"
    if condition.startswith("hr_") or condition.startswith("pulse"):
        return "pulse_rate"
    if condition.startswith(("bp_", "map_", "sbp", "dbp")):
        return "bp"
    if condition.startswith(("resp_rate", "etco2", "apnea")):
        return "resp"
    return None


def baseline_values(rec: SessionRecord) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in rec.baselines():
        b = e.payload.get("baseline")
        if isinstance(b, dict):
            out.update({k: float(v) for k, v in b.items() if isinstance(v, (int, float))})
    return out


def channel_limits(rec: SessionRecord) -> dict[str, list[float]]:
    """Per channel, the limits of the last confirmed baseline (its snapshot names each
    rule's channel), else the absolute defaults."""
    for e in reversed(rec.baselines()):
        limits = e.payload.get("limits")
        if not isinstance(limits, dict):
            continue
        out: dict[str, set[float]] = {}
        for rows in limits.values():
            for r in rows if isinstance(rows, list) else []:
                if isinstance(r, dict) and isinstance(r.get("limit"), (int, float)):
                    out.setdefault(str(r.get("channel")), set()).add(float(r["limit"]))
        if out:
            return {ch: sorted(v) for ch, v in out.items()}
    return DEFAULT_LIMITS


def figure(rec: SessionRecord, size_in: tuple[float, float] = (10, 9)) -> Figure:
    zone = clinic_time.zone(rec.timezone)

    def x(t: float) -> datetime:
        return datetime.fromtimestamp(t, zone)

    baseline = baseline_values(rec)
    limits = channel_limits(rec)
    series: dict[str, tuple[list[datetime], list[float]]] = {}
    for r in rec.readings:
        if r.valid and r.value is not None:
            xs, ys = series.setdefault(r.channel, ([], []))
            xs.append(x(r.t))
            ys.append(r.value)
    panels = PANELS + ([RESP_PANEL] if any(ch in series for ch in RESP_PANEL[2]) else [])
    fig = Figure(figsize=size_in, layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True)
    shaded: set[str] = set()
    top_ups = [e.t for e in rec.doses()[1:]]  # re-dosing: each later dose marked too
    for ax, (panel, title, channels) in zip(axes, panels, strict=True):
        for ch in channels:
            colour, label = CHANNEL_STYLE[ch]
            xs, ys = series.get(ch, ([], []))
            episodic = ch in ("sbp", "dbp", "map")
            ax.plot(
                xs,
                ys,
                lw=1.2,
                color=colour,
                label=label,
                marker="o" if episodic else None,
                markersize=4,
                markerfacecolor=colour,
                markeredgecolor=colour,
            )
            if ch in baseline:
                ax.axhline(baseline[ch], ls="--", lw=1, color=colour, alpha=0.6)
            for value in limits.get(ch, []):
                ax.axhline(value, ls=":", lw=1.2, color=colour)
                ax.annotate(
                    f"{label} limit {value:g}",
                    (0.005, value),
                    xycoords=("axes fraction", "data"),
                    fontsize=7,
                    color=colour,
                    va="bottom",
                )
        for ep in rec.episodes:
            if panel_of(ep.condition) not in (panel, None):
                continue
            end = ep.ended if ep.ended is not None else rec.end
            ax.axvspan(
                x(ep.started), x(end), color=PRIORITY_COLOUR.get(ep.priority, "grey"), alpha=0.25
            )
            shaded.add(ep.priority)
            if ep.acknowledged is not None:
                ax.axvline(x(ep.acknowledged), color="black", lw=0.8, ls="-.")
        if rec.session.dose_t is not None:
            ax.axvline(x(rec.session.dose_t), color="purple", lw=1.5)
        for top_up in top_ups:
            ax.axvline(x(top_up), color="purple", lw=1.2, ls="--")
        # Room for every limit and baseline line (and its label) as well as the data.
        lines = [v for ch in channels for v in limits.get(ch, [])]
        lines += [baseline[ch] for ch in channels if ch in baseline]
        lo, hi = ax.get_ylim()
        lo, hi = min([lo, *lines]), max([hi, *lines])
        ax.set_ylim(lo - 0.04 * (hi - lo), hi + 0.1 * (hi - lo))
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        if len(channels) > 1:
            ax.legend(loc="upper right", fontsize=7, ncols=len(channels))
    # Minutes on the ticks; seconds too for a short record, where minutes would repeat.
    short = rec.end - rec.session.started < 600
    tick_format = "%H:%M:%S" if short else "%H:%M"
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter(tick_format, tz=zone))  # type: ignore[no-untyped-call]
    axes[-1].set_xlim(x(rec.session.started), x(max(rec.end, rec.session.started + 60)))
    axes[-1].set_xlabel(f"clock time ({clinic_time.label(rec.timezone, rec.session.started)})")
    legend: list[Any] = [
        Patch(color=PRIORITY_COLOUR[p], alpha=0.25, label=f"{p}-priority alarm")
        for p in ("high", "medium", "low")
        if p in shaded
    ]
    legend += [
        Line2D([], [], color="black", lw=0.8, ls="-.", label="acknowledged"),
        Line2D([], [], color="purple", lw=1.5, label="dose"),
        *(
            [Line2D([], [], color="purple", lw=1.2, ls="--", label="top-up dose")]
            if top_ups
            else []
        ),
        Line2D([], [], color="grey", lw=1, ls="--", label="baseline"),
        Line2D([], [], color="grey", lw=1.2, ls=":", label="limit"),
    ]
    fig.legend(handles=legend, loc="outside upper center", ncols=len(legend), fontsize=7)
    return fig


def png(fig: Figure, **kw: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=kw.pop("dpi", 90), **kw)
    return buf.getvalue()
