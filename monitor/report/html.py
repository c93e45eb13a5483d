"""The session report as one self-contained HTML page (plots embedded as PNG)."""

from __future__ import annotations

import base64
from html import escape

from monitor.report import document, plots
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; }
.notice { background: #fff3cd; padding: 0.5em; border: 1px solid #e6b800; }
footer { margin-top: 2em; font-size: 0.85em; color: #555; border-top: 1px solid #bbb; }
img { max-width: 100%; }
"""


def _table(t: document.Table) -> str:
    tid = t.title.lower().replace(" ", "-").split("(")[0].strip("-")
    if not t.rows:
        return f'<h2>{escape(t.title)}</h2>\n<p id="{tid}">{escape(t.empty)}</p>\n'
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>\n" for row in t.rows
    )
    return (
        f'<h2>{escape(t.title)}</h2>\n<table id="{tid}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}</tbody></table>\n"
    )


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    doc = document.build(rec)
    img = base64.b64encode(plots.png(plots.figure(rec))).decode()
    tick(len(rec.readings))
    facts = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>\n"
        for k, v in doc.facts
        if v != document.SECONDARY_NOTICE  # shown once, at the top
    )
    tables = "".join(_table(t) for t in doc.tables)
    footer = "<br>".join(escape(line) for line in doc.footer)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(doc.title)}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(doc.title)}</h1>
<p class="notice">{escape(document.SECONDARY_NOTICE)}</p>
<table id="facts">{facts}</table>
<h2>Vital signs</h2>
<img id="plots" alt="SpO2, pulse rate and blood pressure against baseline and limits"
 src="data:image/png;base64,{img}">
{tables}
<footer id="generated">{footer}</footer>
</body></html>
"""
    return page.encode()
