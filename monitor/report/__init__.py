"""Session reports: HTML and PDF with plots, CSV, a FHIR R4 Bundle, a replayable recording."""

from __future__ import annotations

from collections.abc import Callable

from monitor.report.model import SessionRecord
from monitor.report.progress import Tick, no_tick

# format: (media type, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "fhir": ("application/fhir+json", "fhir.json"),
    "recording": ("application/x-ndjson", "jsonl"),
}


def renderer(fmt: str) -> Callable[[SessionRecord, Tick], bytes]:
    """The render function of a format (imported on demand: matplotlib is slow to load)."""
    if fmt == "html":
        from monitor.report.html import render
    elif fmt == "pdf":
        from monitor.report.pdf import render
    elif fmt == "csv":
        from monitor.report.tabular import render
    elif fmt == "fhir":
        from monitor.report.fhir import render
    elif fmt == "recording":
        from monitor.report.recording import render
    else:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}")
    return render


def render(rec: SessionRecord, fmt: str, tick: Tick = no_tick) -> bytes:
    return renderer(fmt)(rec, tick)


def filename(rec: SessionRecord, fmt: str) -> str:
    return f"vigil-session-{rec.session.id}.{FORMATS[fmt][1]}"
