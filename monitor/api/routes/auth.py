"""Login and logout for the dashboard (session cookie), and who am I."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import Viewer, VigilDep
from monitor.auth import audit
from monitor.auth.middleware import CSRF_COOKIE, SESSION_COOKIE
from monitor.auth.store import SESSION_S, UserStore
from monitor.auth.throttle import LoginThrottle
from monitor.dashboard import DASHBOARD_DIR

router = APIRouter(tags=["auth"])


def get_store(request: Request) -> UserStore:
    store: UserStore = request.app.state.users
    return store


StoreDep = Annotated[UserStore, Depends(get_store)]


def audit_auth(request: Request, action: str, who: str | None, **details: Any) -> None:
    """An `auth` audit entry through the runtime's recorder (a failed journal write raises
    the journal alarm there; the request itself goes on, staff must still get in)."""
    client = request.client.host if request.client else None
    audit.record(request.app.state.vigil.recorder, action, who, client=client, **details)


def _typed_name(store: UserStore, typed: str) -> dict[str, str]:
    """How a refused login's username goes into the audit trail: as typed only when it names
    an account; otherwise it may be a password typed into the wrong box, so only a keyed tag
    (repeated attempts with the same text share it) with `username` "(unknown)"."""
    if store.get(typed) is not None:
        return {"username": typed}
    return {"username": audit.UNKNOWN_USER, "typed_tag": store.tag(typed)}


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.get("/login", include_in_schema=False)
async def login_page() -> FileResponse:
    return FileResponse(DASHBOARD_DIR / "login.html")


@router.post("/api/auth/login")
async def login(
    body: LoginIn, request: Request, response: Response, store: StoreDep
) -> dict[str, Any]:
    # JSON only: a cross-site HTML form cannot send it without a CORS preflight we refuse.
    throttle: LoginThrottle = request.app.state.login_throttle
    now = time.time()
    wait = throttle.blocked_for(body.username, now)
    if wait > 0:
        typed = await run_in_threadpool(_typed_name, store, body.username)
        audit_auth(request, audit.LOGIN_LOCKED, None, **typed)
        raise HTTPException(
            429, f"too many failed logins for {body.username!r}: try again in {wait:.0f} s"
        )
    # Counted as failed before the slow password check (no await in between): guesses sent
    # all at once cannot all pass the throttle while the first are still hashing. A success
    # clears the count.
    throttle.failed(body.username, now)
    staff = await run_in_threadpool(store.verify_password, body.username, body.password)
    if staff is None:
        typed = await run_in_threadpool(_typed_name, store, body.username)
        audit_auth(request, audit.LOGIN_FAILED, None, **typed)
        raise HTTPException(401, "wrong username or password")
    throttle.succeeded(body.username)
    sid, csrf = await run_in_threadpool(store.create_session, staff, time.time())
    audit_auth(request, audit.LOGIN, staff.username, role=staff.role)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, sid, max_age=SESSION_S, httponly=True, samesite="strict", secure=secure
    )
    # Readable by the page's script, which echoes it in X-CSRF-Token (double submit).
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=SESSION_S, httponly=False, samesite="strict", secure=secure
    )
    return {"username": staff.username, "role": staff.role}


@router.post("/api/auth/logout")
async def logout(
    request: Request, response: Response, user: Viewer, store: StoreDep
) -> dict[str, str]:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        await run_in_threadpool(store.end_session, sid)
    audit_auth(request, audit.LOGOUT, user.username)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return {"status": "logged out"}


@router.get("/api/auth/me")
async def me(user: Viewer, vigil: VigilDep) -> dict[str, str]:
    # The clinic's time zone: the page shows every clock time in it, labelled.
    return {"username": user.username, "role": user.role, "timezone": vigil.settings.timezone}
