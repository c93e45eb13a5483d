"""The PDF report as an audit document (issue #13): read back with pdfminer, every text box
stays inside its table cell and the page; portrait pages of one size on A4 and on Letter;
clock times in the clinic's zone, words instead of internal ids, no raw JSON; a footer with
the generation facts and the audit chain's result. The plots: one x label, a legend for the
alarm shading, BP channels and their limits in their own colours."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from matplotlib.colors import to_hex
from pdfminer.high_level import extract_pages
from pdfminer.layout import (
    LAParams,
    LTChar,
    LTCurve,
    LTFigure,
    LTImage,
    LTPage,
    LTTextContainer,
    LTTextLine,
)

from monitor.report import pdf, plots
from monitor.report.model import SessionRecord
from tests.report_fixtures import session_record

PT_PER_MM = 72 / 25.4
PAPERS = {"A4": (595.3, 841.9), "letter": (612.0, 792.0)}
TOL = 0.6  # points: glyph boxes may touch a rule they sit next to
# Text of neighbouring cells is ~6 pt apart: a line stops at a gap wider than half a glyph, so
# two cells never read as one line (pdfminer's default joins gaps of up to two glyphs).
PARAMS = LAParams(char_margin=0.5)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""


def _walk(obj: object) -> list[object]:
    out = [obj]
    for child in getattr(obj, "_objs", []) if not isinstance(obj, LTChar) else []:
        out += _walk(child)
    return out


def layout(data: bytes) -> list[tuple[LTPage, list[Box], list[Box], list[Box]]]:
    """Per page: text lines and glyphs, vertical rules (table column borders), pictures."""
    pages = []
    for page in extract_pages(io.BytesIO(data), laparams=PARAMS):
        lines, rules, pictures = [], [], []
        for o in _walk(page):
            if isinstance(o, LTTextLine) and o.get_text().strip():
                lines.append(Box(o.x0, o.y0, o.x1, o.y1, o.get_text().strip()))
            elif isinstance(o, LTChar) and o.get_text().strip():
                lines.append(Box(o.x0, o.y0, o.x1, o.y1, "glyph " + o.get_text()))
            elif isinstance(o, LTCurve) and abs(o.x1 - o.x0) < 1 and o.y1 - o.y0 > 2:
                rules.append(Box(o.x0, o.y0, o.x1, o.y1))
            elif isinstance(o, LTImage | LTFigure):
                pictures.append(Box(o.x0, o.y0, o.x1, o.y1))
        pages.append((page, lines, rules, pictures))
    return pages


def text_of(data: bytes) -> str:
    return "\n".join(
        o.get_text()
        for p in extract_pages(io.BytesIO(data), laparams=PARAMS)
        for o in p
        if isinstance(o, LTTextContainer)
    )


@pytest.fixture(scope="module", params=["A4", "letter"])
def rendered(request: pytest.FixtureRequest) -> tuple[str, SessionRecord, bytes]:
    rec = session_record(paper=request.param)
    return request.param, rec, pdf.render(rec)


def test_pages_are_portrait_of_the_clinics_paper(
    rendered: tuple[str, SessionRecord, bytes],
) -> None:
    paper, _, data = rendered
    pages = layout(data)
    assert 2 <= len(pages) <= 4  # an hour's session; the old layout made 8 mixed pages
    for page, *_ in pages:
        assert (page.width, page.height) == pytest.approx(PAPERS[paper], abs=1)


def test_no_text_leaves_its_cell_or_the_page(rendered: tuple[str, SessionRecord, bytes]) -> None:
    _, _, data = rendered
    margin = 10 * PT_PER_MM
    for n, (page, lines, rules, _) in enumerate(layout(data), 1):
        for b in lines:
            where = f"page {n}: {b.text!r}"
            assert b.x0 >= margin and b.x1 <= page.width - margin, where
            assert b.y0 >= margin and b.y1 <= page.height - margin, where
            # A column border inside a line's span means the text runs over into the next cell.
            for r in rules:
                if r.y0 < b.y1 - TOL and r.y1 > b.y0 + TOL:
                    assert not (b.x0 + TOL < r.x0 < b.x1 - TOL), f"{where} crosses x={r.x0:.1f}"
        # No text printed over other text.
        text_lines = [b for b in lines if not b.text.startswith("glyph ")]
        for i, a in enumerate(text_lines):
            for b in text_lines[i + 1 :]:
                overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
                overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap_x <= TOL or overlap_y <= TOL, f"page {n}: {a.text!r} on {b.text!r}"


def test_no_page_but_the_last_is_mostly_blank(rendered: tuple[str, SessionRecord, bytes]) -> None:
    _, _, data = rendered
    pages = layout(data)
    for n, (page, lines, _, pictures) in enumerate(pages[:-1], 1):
        footer_top = 30 * PT_PER_MM
        lowest = min(b.y0 for b in lines + pictures if b.y0 > footer_top)
        assert lowest < page.height * 0.3, f"page {n} ends {lowest:.0f} pt above its foot"


def test_words_clock_times_and_footer(rendered: tuple[str, SessionRecord, bytes]) -> None:
    _, _, data = rendered
    text = " ".join(text_of(data).split())
    # Clock times in the clinic's zone (CET), labelled; not minutes since start.
    assert "clock times in Europe/Berlin (CET, UTC+01:00)" in text
    assert "2026-11-23 02:10:00 CET by nurse.m" in text  # the dose
    assert "02:23:30" in text and "min from start" not in text
    # Words, not ids: the rule and how its limit relates to the baseline.
    assert "SpO2 below baseline (low)" in text
    assert "limit 93 % (4 below baseline 97 %)" in text
    assert "spo2_drop" not in text and "spo2_low" not in text
    # Attribution: the desaturation was acknowledged, then resolved by itself.
    assert "by nurse.m at 02:23:50" in text and "resolved by itself at 02:25:10" in text
    # Session events in words: no raw JSON; a refused control says why.
    assert "{" not in text and '"' not in text
    assert "route: IM; amount mg: 35" in text and "ignored: dose in phase dosed" in text
    # Footer on every page: generated at / by, version, audit chain.
    from monitor import __version__

    pages = layout(data)
    for _, lines, _, _ in pages:
        foot = " ".join(b.text for b in lines)
        assert "Generated 2026-11-23 03:02:00 CET by auditor.a with Vigil " + __version__ in foot
        assert "Audit chain: intact (10 entries verified)" in foot
        assert "secondary alarm system" in foot


def test_a_long_table_continues_with_its_header() -> None:
    rec = session_record(minutes=60)
    notes = [
        e.__class__(100 + i, e.t + i, "note", "nurse.m", "A", "A-1", {"text": f"check {i}"}, "", "")
        for i, e in enumerate([rec.audit[5]] * 120)
    ]
    from dataclasses import replace

    data = pdf.render(replace(rec, audit=rec.audit + notes))
    pages = layout(data)
    with_notes = [lines for _, lines, _, _ in pages if any(b.text == "check 60" for b in lines)]
    assert with_notes
    headers = [b for b in with_notes[0] if b.text == "Note"]
    assert headers, "a continued table repeats its header row"


def test_plots_one_x_label_legend_and_bp_colours() -> None:
    rec = session_record()
    fig = plots.figure(rec)
    axes = fig.axes
    assert [bool(ax.get_xlabel()) for ax in axes] == [False, False, True]
    assert "clock time (Europe/Berlin" in axes[-1].get_xlabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["medium-priority alarm", "low-priority alarm"]
    assert {"acknowledged", "dose", "baseline", "limit"} <= set(legend)
    bp = axes[-1]
    lines = {ln.get_label(): ln for ln in bp.get_lines() if not ln.get_label().startswith("_")}
    colours = {k: to_hex(ln.get_color()) for k, ln in lines.items()}
    assert len(set(colours.values())) == 3  # SBP, DBP, MAP told apart
    for name, ln in lines.items():  # legend dots are filled in their line's colour
        assert to_hex(ln.get_markerfacecolor()) == colours[name]
    # Limits are drawn in the colour of their channel: DBP 98 against DBP, SBP 152 against SBP.
    limit_lines = {
        round(ln.get_ydata()[0]): to_hex(ln.get_color())
        for ln in bp.get_lines()
        if ln.get_linestyle() == ":"
    }
    assert limit_lines == {152: colours["SBP"], 98: colours["DBP"]}


def test_plots_gain_a_respiration_panel_only_when_the_session_has_respiration() -> None:
    from dataclasses import replace

    from monitor.report.model import ReadingRow

    rec = session_record()
    assert len(plots.figure(rec).axes) == 3
    t0 = rec.session.started
    resp = [
        ReadingRow(t0 + i, "resp_rate", 14.0 - i / 600, True, "", "hl7") for i in range(0, 3600, 30)
    ]
    resp += [
        ReadingRow(t0 + i, "etco2", 38.0 + i / 300, True, "", "hl7") for i in range(0, 3600, 30)
    ]
    resp.append(ReadingRow(t0 + 100, "etco2", None, False, "invalid", "hl7"))
    fig = plots.figure(replace(rec, readings=rec.readings + resp))
    axes = fig.axes
    assert len(axes) == 4
    assert [bool(ax.get_xlabel()) for ax in axes] == [False, False, False, True]
    labels = {ln.get_label() for ln in axes[-1].get_lines() if not ln.get_label().startswith("_")}
    assert labels == {"RR", "EtCO2"}
    # Both series are drawn with every valid point, the invalid one left out.
    drawn = {ln.get_label(): len(ln.get_xdata()) for ln in axes[-1].get_lines()}
    assert drawn["RR"] == drawn["EtCO2"] == 120
