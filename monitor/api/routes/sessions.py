"""Sessions and audit queries: lists, timelines, alarms with time to acknowledge, readings,
reports (HTML, PDF, CSV, FHIR, recording) and clinic-level figures.

Every journal read and report render runs off the event loop (offload.py): a long session's
record takes seconds to read, and live monitoring runs on that loop."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from monitor import report
from monitor.api.deps import Clinician, Nurse, Viewer, VigilDep
from monitor.api.routes.offload import json_off_loop
from monitor.report.query import SessionNotFound, SessionQueries, parse_when
from monitor.store.journal import SessionRow

router = APIRouter(prefix="/api", tags=["sessions"])

ReportFormat = Literal["html", "pdf", "csv", "fhir", "recording"]


def _queries(vigil: VigilDep) -> SessionQueries:
    s = vigil.settings
    return SessionQueries(
        vigil.recorder.journal,
        vigil.store,
        clock=vigil.clock,
        timezone=s.timezone,
        paper=s.report_paper,
    )


def _when(value: str | None, name: str, zone: str, *, end_of_day: bool = False) -> float | None:
    if value is None or value == "":
        return None
    try:
        return parse_when(value, end_of_day=end_of_day, timezone=zone)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def _range(
    start: str | None, end: str | None, vigil: VigilDep
) -> tuple[float | None, float | None]:
    """Dates and date-times without a zone are in the clinic's timezone."""
    zone = vigil.settings.timezone
    t0 = _when(start, "from", zone)
    t1 = _when(end, "to", zone, end_of_day=True)
    if t0 is not None and t1 is not None and t1 <= t0:
        raise HTTPException(422, "to: must be after from")
    return t0, t1


async def _session(q: SessionQueries, sid: str) -> SessionRow:
    try:
        return await q.find(sid)
    except SessionNotFound as exc:
        raise HTTPException(404, str(exc)) from None


From = Annotated[
    str | None, Query(alias="from", description="ISO date/date-time (clinic's timezone)")
]
To = Annotated[
    str | None, Query(alias="to", description="ISO date/date-time (clinic's timezone), inclusive")
]


@router.get("/sessions")
async def list_sessions(
    vigil: VigilDep, user: Viewer, room: str | None = None, start: From = None, end: To = None
) -> list[dict[str, Any]]:
    t0, t1 = _range(start, end, vigil)
    q = _queries(vigil)
    known = room is None or room in vigil.rooms  # the loop's state: read here, not in a thread
    if not known and not await run_in_threadpool(q.sessions, room):
        raise HTTPException(404, f"no room {room!r}")
    return [s.to_dict() for s in await run_in_threadpool(q.sessions, room, t0, t1)]


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, vigil: VigilDep, user: Viewer) -> dict[str, Any]:
    q = _queries(vigil)
    await _session(q, session_id)
    rec = await q.record(session_id, with_readings=False)
    from monitor.report.model import clinic_stats

    return {
        **rec.session.to_dict(),
        "end": rec.end,
        "alarms": clinic_stats([rec.episodes]).to_dict(),
        "phases": [{"t": p.t, "phase": p.phase} for p in rec.phases],
        "source": rec.source,
    }


@router.get("/sessions/{session_id}/timeline")
async def session_timeline(session_id: str, vigil: VigilDep, user: Viewer) -> list[dict[str, Any]]:
    q = _queries(vigil)
    await _session(q, session_id)
    return await q.timeline(session_id)


@router.get("/sessions/{session_id}/alarms")
async def session_alarms(session_id: str, vigil: VigilDep, user: Viewer) -> list[dict[str, Any]]:
    """Alarm episodes: priority, start, end, duration, time to acknowledge and who."""
    q = _queries(vigil)
    await _session(q, session_id)
    rec = await q.record(session_id, with_readings=False)
    return [e.to_dict() for e in rec.episodes]


@router.get("/sessions/{session_id}/readings")
async def session_readings(
    session_id: str,
    vigil: VigilDep,
    user: Viewer,
    start: From = None,
    end: To = None,
    channel: str | None = None,
) -> Response:
    """Readings in a window of the session (the whole session by default): a JSON list of
    {t, channel, value, valid, status, source}."""
    q = _queries(vigil)
    s = await _session(q, session_id)
    a, b = q.window(s)
    t0, t1 = _range(start, end, vigil)
    rows, _ = await q.readings(s.room, max(a, t0 or a), min(b, t1 or b))
    return await json_off_loop(
        lambda: [
            {f: getattr(r, f) for f in r.__slots__}
            for r in rows
            if channel is None or r.channel == channel
        ]
    )


@router.get("/sessions/{session_id}/report")
async def session_report(
    session_id: str, vigil: VigilDep, user: Viewer, format: ReportFormat = "html"
) -> Response:
    q = _queries(vigil)
    await _session(q, session_id)
    rec = await q.record(session_id, generated_by=user.username)
    # Rendering (matplotlib, FHIR validation) is CPU work: off the event loop, so the rooms'
    # monitoring never waits on a report.
    body = await run_in_threadpool(report.render, rec, format)
    media, _ = report.FORMATS[format]
    disposition = "inline" if format == "html" else "attachment"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'{disposition}; filename="{report.filename(rec, format)}"'
        },
    )


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


@router.post("/sessions/{session_id}/notes", status_code=201)
async def add_note(session_id: str, body: NoteIn, vigil: VigilDep, user: Nurse) -> dict[str, Any]:
    return await _audit_session(vigil, session_id, "note", user.username, body.text)


@router.post("/sessions/{session_id}/discharge_review", status_code=201)
async def add_discharge_review(
    session_id: str, body: NoteIn, vigil: VigilDep, user: Clinician
) -> dict[str, Any]:
    return await _audit_session(vigil, session_id, "discharge_review", user.username, body.text)


async def _audit_session(
    vigil: VigilDep, sid: str, kind: str, who: str, text: str
) -> dict[str, Any]:
    s = await _session(_queries(vigil), sid)
    queued = vigil.recorder.audit(
        kind, who, {"text": text}, t=vigil.clock(), room=s.room, session=s.id
    )
    # Answer once the entry is durable (one commit window), with the id the writer gave it.
    if not queued or not await vigil.recorder.committed():
        error = vigil.recorder.journal.last_error
        raise HTTPException(
            503,
            f"the journal cannot be written ({error}); the entry is kept and written when it "
            "recovers: do not send it again",
        )
    entries = await run_in_threadpool(
        vigil.recorder.journal.audit_entries, session=s.id, kinds=[kind]
    )
    entry = entries[-1]
    return {"id": entry.id, "session": s.id, "kind": kind, "by": who}


@router.get("/stats")
async def stats(
    vigil: VigilDep, user: Viewer, start: From = None, end: To = None, room: str | None = None
) -> dict[str, Any]:
    """Clinic figures for sessions started in [from, to]: alarms per session, median time to
    acknowledge, sessions with high-priority alarms."""
    t0, t1 = _range(start, end, vigil)
    figures = await _queries(vigil).stats(t0, t1, room)
    return {"from": t0, "to": t1, "room": room, **figures.to_dict()}
