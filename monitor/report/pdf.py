"""The session report as PDF: the plots, then the facts and tables, by matplotlib."""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from monitor.report import document, plots
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

A4 = (8.27, 11.69)
ROWS_PER_PAGE = 28


def _wrap(cell: str, width: int) -> str:
    return "\n".join(textwrap.wrap(cell, width)) or cell


def _text_page(title: str, lines: list[str]) -> Figure:
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.95, title, fontsize=14, weight="bold", va="top")
    fig.text(0.06, 0.91, "\n".join(lines), fontsize=9, va="top", family="monospace")
    return fig


def _table_pages(t: document.Table) -> list[Figure]:
    if not t.rows:
        return [_text_page(t.title, [t.empty])]
    width = max(8, 150 // max(1, len(t.headers)))
    pages = []
    for start in range(0, len(t.rows), ROWS_PER_PAGE):
        chunk = t.rows[start : start + ROWS_PER_PAGE]
        fig = Figure(figsize=A4[::-1])  # landscape: alarm tables are wide
        fig.text(0.03, 0.96, t.title, fontsize=13, weight="bold", va="top")
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
        ax.axis("off")
        table = ax.table(
            cellText=[[_wrap(c, width) for c in row] for row in chunk],
            colLabels=[_wrap(h, width) for h in t.headers],
            loc="upper center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 1.6)
        pages.append(fig)
    return pages


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    doc = document.build(rec)
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        facts = [f"{k + ':':<28} {v}" for k, v in doc.facts]
        pdf.savefig(_text_page(doc.title, facts))
        pdf.savefig(plots.figure(rec))
        tick(len(rec.readings))
        for t in doc.tables:
            for fig in _table_pages(t):
                pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = doc.title
        info["Creator"] = "Vigil"
    return buf.getvalue()
