"""The clinic-wide alarm log and the shift hand-off view (page /log), from the journal.

Any signed-in staff may read them: the nurse taking over a shift, the medical director
reviewing a month. Journal reads run in a worker thread (offload.py)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import Viewer, VigilDep
from monitor.api.routes.offload import json_off_loop
from monitor.api.routes.sessions import From, To, _range
from monitor.clinic_log import MAX_SPAN_S, LogFilter, alarm_log, handoff
from monitor.dashboard import DASHBOARD_DIR
from monitor.report.model import clinic_stats

router = APIRouter(tags=["clinic log"])

MAX_HANDOFF_H = 72


@router.get("/log", include_in_schema=False)
async def log_page(user: Viewer) -> FileResponse:
    return FileResponse(DASHBOARD_DIR / "log.html")


@router.get("/api/alarms")
async def get_alarm_log(
    vigil: VigilDep,
    user: Viewer,
    start: From = None,
    end: To = None,
    room: str | None = None,
    priority: Literal["high", "medium", "low"] | None = None,
    kind: Literal["physiological", "technical"] | None = None,
    acknowledged_by: Annotated[
        str | None, Query(description='who acknowledged; "" for not acknowledged')
    ] = None,
) -> Response:
    """Alarm episodes of every room that started in [from, to] (default: the last 24 h),
    with who acknowledged and the time to acknowledge, oldest first."""
    t0, t1 = _range(start, end, vigil)
    now = time.time()
    t1 = now if t1 is None else t1
    t0 = t1 - 86400 if t0 is None else t0
    if t1 - t0 > MAX_SPAN_S:
        raise HTTPException(422, f"from: at most {MAX_SPAN_S / 86400:.0f} days in one query")
    f = LogFilter(t0, t1, room or None, priority, acknowledged_by, kind)
    log = await run_in_threadpool(alarm_log, vigil.recorder.journal, f)
    eps = log.episodes
    stats = clinic_stats([[r.episode for r in eps]])

    def build() -> dict[str, Any]:
        return {
            "from": t0,
            "to": t1,
            "episodes": [r.to_dict() for r in eps],
            "count": stats.alarms,
            "acknowledged": stats.acknowledged,
            "median_time_to_ack_s": stats.median_time_to_ack_s,
            "truncated": log.truncated,  # too many alarms: complete until `complete_until`
            "complete_until": log.complete_until,
        }

    return await json_off_loop(build)


@router.get("/api/handoff")
async def get_handoff(
    vigil: VigilDep,
    user: Viewer,
    hours: Annotated[float, Query(gt=0, le=MAX_HANDOFF_H)] = 8,
) -> Response:
    """Per room, the last `hours`: sessions, alarm episodes, acknowledgements (who, how
    fast), doses, notes and other clinical controls."""
    t1 = time.time()
    t0 = t1 - hours * 3600
    rooms = list(vigil.rooms)  # the loop's state: read here, not in the thread
    names = {rid: r.config.name or rid for rid, r in vigil.rooms.items()}
    per_room = await run_in_threadpool(handoff, vigil.recorder.journal, rooms, t0, t1)
    for r in per_room:
        r["name"] = names.get(r["room"], r["room"])
    return await json_off_loop(lambda: {"from": t0, "to": t1, "hours": hours, "rooms": per_room})
