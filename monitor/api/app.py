"""Application factory: one `Vigil` runtime per app, started and stopped with the app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from monitor import __version__
from monitor.api.errors import validation_error
from monitor.api.headers import SecurityHeadersMiddleware
from monitor.api.limits import BodyLimitMiddleware
from monitor.api.routes import (
    ack,
    admin,
    auth,
    clinic_log,
    history,
    metrics,
    rooms,
    stream,
    system,
    users,
)
from monitor.api.routes import sessions as sessions_routes
from monitor.api.routes import vocabulary as vocabulary_routes
from monitor.auth.middleware import AuthMiddleware
from monitor.auth.setup import ensure_demo_users, open_store
from monitor.auth.throttle import LoginThrottle
from monitor.config import Settings
from monitor.config_store import ConfigStore
from monitor.dashboard import DASHBOARD_DIR
from monitor.metrics import registry_for
from monitor.runtime import Vigil

__all__ = ["DASHBOARD_DIR", "create_app"]


def create_app(settings: Settings, config_path: Path | None = None) -> FastAPI:
    """The app; raises ConfigError when a secret is missing or a default (not in the demo).
    `config_path`: the file the admin page edits (none in the demo: read-only)."""
    user_store = open_store(settings)
    vigil = Vigil(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await vigil.start()
        # Everything built so far (1,000 rooms' pipelines, drivers, the app) lives as long as
        # the service: out of the collector's sight, so its full passes do not stall the loop.
        gc.freeze()
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
    app.state.users = user_store
    app.state.config_store = ConfigStore(config_path) if config_path is not None else None
    app.state.login_throttle = LoginThrottle()
    # Demo: one account per role with fresh passwords, printed by `vigil run`.
    app.state.demo_credentials = ensure_demo_users(user_store) if settings.demo else []
    app.add_middleware(AuthMiddleware, store=user_store)
    app.add_middleware(BodyLimitMiddleware)  # outside auth: before anything reads a body
    # Added last (so outermost): every response gets the headers, refusals too.
    app.add_middleware(SecurityHeadersMiddleware)
    # 422 with where and why, never the rejected input (passwords, notes).
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(system.router)
    app.include_router(rooms.router)
    app.include_router(history.router)
    app.include_router(stream.router)
    app.include_router(ack.router)
    app.include_router(sessions_routes.router)
    app.include_router(admin.router)
    app.include_router(clinic_log.router)
    app.include_router(vocabulary_routes.router)
    app.include_router(metrics.router)
    app.state.metrics = registry_for(vigil)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(DASHBOARD_DIR / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:  # browsers ask for it on every page, reports too
        return FileResponse(DASHBOARD_DIR / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=DASHBOARD_DIR), name="static")
    return app
