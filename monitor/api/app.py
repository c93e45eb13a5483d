"""Application factory: one `Vigil` runtime per app, started and stopped with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from monitor import __version__
from monitor.api.routes import ack, rooms, stream, system
from monitor.api.routes import sessions as sessions_routes
from monitor.config import Settings
from monitor.runtime import Vigil

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "live"


def create_app(settings: Settings) -> FastAPI:
    vigil = Vigil(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await vigil.start()
        try:
            yield
        finally:
            await vigil.stop()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        description="In-session safety monitor for KAP. A secondary alarm system: it does "
        "not replace the bedside devices' own alarms.",
        lifespan=lifespan,
    )
    app.state.vigil = vigil
    app.include_router(system.router)
    app.include_router(rooms.router)
    app.include_router(stream.router)
    app.include_router(ack.router)
    app.include_router(sessions_routes.router)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(DASHBOARD_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=DASHBOARD_DIR), name="static")
    return app
