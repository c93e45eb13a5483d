"""Refuse request bodies larger than any Vigil endpoint needs, before they are read.

The biggest legitimate body is a note (4,000 characters) or a login; without a limit one
request (the login endpoint takes no authentication) could make the server hold any amount
of memory, on the machine that also runs every room's monitoring.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.errors import BodyTooLarge as BodyTooLarge  # its home: monitor/errors.py

MAX_BODY_BYTES = 64 * 1024


async def _nothing() -> None:
    """What a send answers once the 413 is out: the app's own response is dropped."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope["headers"]:
            if k.lower() == b"content-length" and v.isdigit() and int(v) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            # Chunked bodies carry no length: count them as they arrive, and answer 413 at
            # once (the app may turn the exception below into its own error; that is dropped).
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started and not refused:
                        refused = True
                        await self._refuse(send)
                    raise BodyTooLarge
            return message

        # Plain, handing on `send`'s awaitable (as SecurityHeadersMiddleware's): every chunk
        # of every live stream passes here.
        def tracking_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if refused:
                return _nothing()
            started = started or message["type"] == "http.response.start"
            return send(message)

        # Answered in limited_receive (or the response had begun: nothing to add).
        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, tracking_send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
