"""Authenticate every request except a short public list, and make cookie sessions CSRF-safe.

Applied to the whole app, so a route added later is protected without doing anything; the
role it needs is then declared with the `Viewer`/`Nurse`/`Clinician`/`Admin` aliases in
`monitor.api.deps`, which read the `Staff` put into `request.state.staff` here.

Two ways in: `Authorization: Bearer <token>` (integrations; no CSRF check, a browser never
sends it by itself) or the login session cookie (the dashboard). A cookie-authenticated
request that changes state must carry the session's CSRF token in `X-CSRF-Token`; the cookie
is also SameSite=Strict, so this is defence in depth.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.auth.store import Staff, UserStore

SESSION_COOKIE = "vigil_session"
CSRF_COOKIE = "vigil_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Reachable without logging in: health, the login page and endpoint, static assets (no data
#: in them) and the phone acknowledge-link confirm pages (they carry their own signed token).
PUBLIC_EXACT = frozenset(
    {"/api/health", "/api/health/live", "/login", "/api/auth/login", "/favicon.ico"}
)
PUBLIC_PREFIXES = ("/static/", "/ack/")


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


class AuthMiddleware:
    def __init__(
        self, app: ASGIApp, store: UserStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        staff: Staff | None = None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            # SQLite (and, once a minute, a last-used write): never on the event loop.
            check = await run_in_threadpool(self.store.check_token, auth[7:].strip(), self.clock())
            if check.staff is None:
                # Unknown, expired or revoked: the integration's log says which.
                await _refuse(scope, send, 401, check.reason)
                return
            staff = check.staff
        else:
            # Starlette's parser tolerates the odd cookies other apps on this host may set,
            # where http.cookies drops the whole header.
            sid = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, "")
            session = (
                await run_in_threadpool(self.store.session, sid, self.clock()) if sid else None
            )
            if session is not None:
                staff = session.staff
                if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
                    sent = headers.get(CSRF_HEADER, "")
                    if not (sent and hmac.compare_digest(sent, session.csrf)):
                        await _refuse(scope, send, 403, "CSRF token missing or wrong")
                        return
        if staff is None:
            await _refuse(scope, send, 401, "authentication required", headers)
            return
        scope.setdefault("state", {})["staff"] = staff
        await self.app(scope, receive, send)


async def _refuse(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4000 + status})
        return
    accept = (headers or {}).get("accept", "")
    if status == 401 and scope["method"] == "GET" and "text/html" in accept:
        # A person opening a page (a phone following a link too): log in, then come back.
        target = scope["path"] + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        location = "/login?next=" + quote(target, safe="")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    body = json.dumps({"detail": detail}).encode()
    out = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        out.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
