"""`GET /metrics`: Prometheus text format for fleet monitoring. Any staff account's API token
(a viewer's is enough) as a Bearer token: Prometheus sends it with `authorization:` in its
scrape config; no patient data is in it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import Viewer, VigilDep
from monitor.metrics import CONTENT_TYPE, render

router = APIRouter(tags=["system"])


@router.get("/metrics")
async def metrics(request: Request, vigil: VigilDep, user: Viewer) -> Response:
    # The journal's backlog is a count over SQLite: in a worker thread, as /api/health does.
    await run_in_threadpool(vigil.recorder.journal.count_unsent)
    body = await run_in_threadpool(render, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE)
