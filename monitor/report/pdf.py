"""The session report as PDF: an audit document, laid out by reportlab.

Portrait pages of the clinic's paper (`report_paper`: A4 or Letter): the notice, the facts, the
plots (scaled to the page), then the tables. Table cells are paragraphs in fixed-width columns,
so long text wraps inside its cell and a long table continues on the next page under a
repeated header; nothing is cut at the page edge. Every page carries a footer: when and for
whom it was generated, the Vigil version, the audit chain's verification result, the page.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from monitor.report import document, plots
from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

PAPER = {"A4": A4, "letter": LETTER}
MARGIN = 15 * mm
FOOTER_H = 12 * mm
# Relative column widths per table (they are scaled to the frame): words need room, counts not.
WIDTHS: dict[str, list[float]] = {
    "Alarms": [2.1, 1.5, 2.5, 2.3, 2.3, 1.4],
    "Baseline and limits (who confirmed)": [1.1, 1.4, 2.6, 5.2],
    "Notes": [1.1, 1.4, 7.0],
    "Discharge review": [1.1, 1.4, 1.4, 5.6],
    "Summary statistics": [2.0, 1.3, 1.0, 1.0, 1.0, 1.0],
    "Session events": [1.1, 1.9, 1.4, 5.1],
}

_styles = getSampleStyleSheet()
TITLE = ParagraphStyle("title", parent=_styles["Title"], fontSize=15, alignment=0, spaceAfter=4)
H2 = ParagraphStyle("h2", parent=_styles["Heading2"], fontSize=11, spaceBefore=8, spaceAfter=3)
# A heading with less than this below it starts a new page (no heading alone at a page's foot;
# the table itself may then split, with its header repeated, so no page is left mostly blank).
HEADING_ROOM = 35 * mm
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=8, leading=10)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=7.5, leading=9, splitLongWords=True)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")
NOTICE = ParagraphStyle(
    "notice",
    parent=BODY,
    backColor=colors.HexColor("#fff3cd"),
    borderColor=colors.HexColor("#e6b800"),
    borderWidth=0.5,
    borderPadding=4,
    spaceAfter=8,
)
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)


def _p(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(rows: list[list[str]], widths: list[float], frame_w: float) -> LongTable:
    scale = frame_w / sum(widths)
    cells = [[_p(c, HEAD) for c in rows[0]]] + [[_p(c) for c in row] for row in rows[1:]]
    table = LongTable(cells, colWidths=[w * scale for w in widths], repeatRows=1)
    table.setStyle(GRID)
    return table


def _footer(lines: list[str]) -> Any:
    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        w = doc.pagesize[0]
        canvas.setStrokeColor(colors.HexColor("#bbbbbb"))
        canvas.line(MARGIN, MARGIN + 9 * mm, w - MARGIN, MARGIN + 9 * mm)
        y = MARGIN + 6 * mm
        for line in [*lines, document.SECONDARY_NOTICE]:
            canvas.drawString(MARGIN, y, line)
            y -= 3 * mm
        canvas.drawRightString(w - MARGIN, MARGIN + 6 * mm, f"page {doc.page}")
        canvas.restoreState()

    return draw


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    doc = document.build(rec)
    pagesize = PAPER.get(rec.paper, A4)
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + FOOTER_H,
        title=doc.title,
        author=rec.generated_by or "Vigil",
        creator="Vigil",
    )
    frame_w = pagesize[0] - 2 * MARGIN
    story: list[Any] = [
        _p(doc.title, TITLE),
        _p(document.SECONDARY_NOTICE, NOTICE),
        _table(
            [["Fact", "Value"]] + [[k, v] for k, v in doc.facts if v != document.SECONDARY_NOTICE],
            [1.0, 3.0],
            frame_w,
        ),
        Spacer(1, 4 * mm),
    ]
    # The plots at the frame's width, at most half the page high (so the facts fit above).
    w_in = frame_w / 72
    h_in = min(w_in * 0.8, (pagesize[1] - 2 * MARGIN - FOOTER_H) / 72 * 0.55)
    png = plots.png(plots.figure(rec, (w_in, h_in)), dpi=150)
    tick(len(rec.readings))
    story.append(
        KeepTogether([_p("Vital signs", H2), Image(io.BytesIO(png), w_in * 72, h_in * 72)])
    )
    for t in doc.tables:
        title = _p(t.title, H2)
        if not t.rows:
            story.append(KeepTogether([title, _p(t.empty, BODY)]))
            continue
        widths = WIDTHS.get(t.title, [1.0] * len(t.headers))
        story += [CondPageBreak(HEADING_ROOM), title, _table([t.headers, *t.rows], widths, frame_w)]
    footer = _footer(doc.footer)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
