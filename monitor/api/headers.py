"""Security headers on every response, the auth middleware's refusals included.

The dashboard loads its scripts and styles from /static (no inline script), talks only to
its own origin, and must never be framed (a framed "Acknowledge" button could be clicked
through). Inline <style> stays allowed for the phone acknowledge page and the HTML report;
`data:` images for the report's embedded plots. FastAPI's API docs pages (behind login, no
patient data) need an inline script and a CDN, so they get every header but the CSP.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Acknowledge links carry their token in the path: never hand it on as a referrer.
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
)


#: FastAPI's interactive API docs (swagger-ui / redoc from a CDN, inline bootstrap script).
NO_CSP_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = SECURITY_HEADERS
        if scope["path"] in NO_CSP_PATHS:
            wanted = tuple(h for h in SECURITY_HEADERS if h[0] != b"content-security-policy")

        # A plain function handing on `send`'s awaitable, not a coroutine of its own: every
        # chunk of every live stream passes here (200 dashboards at 1,000 rooms).
        def send_with_headers(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in wanted if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            return send(message)

        await self.app(scope, receive, send_with_headers)
