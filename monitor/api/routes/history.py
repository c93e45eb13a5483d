"""A room's recorded trend and events, read back from InfluxDB, for the room detail plots."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response

from monitor.api.deps import Viewer, VigilDep
from monitor.api.routes.offload import json_off_loop
from monitor.report.query import MAX_POSIX_S

router = APIRouter(prefix="/api/rooms", tags=["rooms"])

TREND_CHANNELS = ("spo2", "pulse_rate", "sbp", "dbp", "map", "resp_rate", "etco2")
MAX_SPAN_S = 12 * 3600


@router.get("/{room_id}/history")
async def room_history(
    room_id: str,
    vigil: VigilDep,
    user: Viewer,
    since: float | None = Query(
        None,
        description="POSIX seconds; default the last hour",
        ge=0,
        le=MAX_POSIX_S,
        allow_inf_nan=False,
    ),
) -> Response:
    """Valid readings per channel as [t, value] pairs, alarms and phases since `since`:
    {room, since, trend: {channel: [[t, value], ...]}, alarms: [...], phases: [...]}."""
    if room_id not in vigil.rooms:
        raise HTTPException(404, f"no room {room_id!r}")
    now = time.time()
    start = max(since if since is not None else now - 3600, now - MAX_SPAN_S)
    room = room_id.replace("\\", "\\\\").replace("'", "\\'")
    where = f"room = '{room}' AND {vigil.store.site_condition()} AND time >= {int(start * 1e9)}"
    channels = " OR ".join(f"channel = '{c}'" for c in TREND_CHANNELS)
    try:
        readings = await vigil.store.query(
            f"SELECT value FROM reading WHERE {where} AND valid = true AND ({channels}) "
            "GROUP BY channel"
        )
        alarms = await vigil.store.query(f"SELECT * FROM alarm WHERE {where}")
        phases = await vigil.store.query(f"SELECT * FROM phase WHERE {where}")
    except Exception as exc:  # InfluxDB down: say so; the live view still works
        raise HTTPException(503, f"history unavailable: {type(exc).__name__}: {exc}") from None

    def build() -> dict[str, Any]:  # 12 h of five channels: in a worker thread (offload.py)
        trend: dict[str, list[list[float]]] = {c: [] for c in TREND_CHANNELS}
        for row in readings:
            if row.get("value") is not None:
                trend[row["channel"]].append([row["time"] / 1e9, row["value"]])
        return {
            "room": room_id,
            "since": start,
            "trend": trend,
            "alarms": [
                {k: v for k, v in {**row, "t": row["time"] / 1e9}.items() if k != "time"}
                for row in alarms
            ],
            "phases": [{"t": row["time"] / 1e9, "phase": row.get("phase")} for row in phases],
        }

    return await json_off_loop(build)
