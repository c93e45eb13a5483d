"""Health of every part: drivers, InfluxDB, the live stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import VigilDep

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health")
async def health(vigil: VigilDep) -> dict[str, Any]:
    # The journal's backlog is a count over SQLite (millions of rows after a long InfluxDB
    # outage): counted in a worker thread; the rest is the loop's own state, read here.
    await run_in_threadpool(vigil.recorder.journal.count_unsent)
    return vigil.health()


@router.get("/health/live")
async def live() -> dict[str, str]:
    """Liveness (docker's healthcheck): answered on Vigil's event loop, so a 200 says the
    loop runs; a stuck loop times out. What works and what does not: /api/health."""
    return {"status": "alive"}
