"""Real notification receivers on loopback: an HTTP server that records what ntfy and JSON
webhooks would receive, and an aiosmtpd mail server. Used by tests and benchmarks."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from aiosmtpd.controller import Controller

from tests.conftest import free_port


@dataclass(frozen=True)
class Received:
    t: float  # time.time() when the request arrived
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Title and message, as a phone would show them (ntfy and json:// both use these)."""
        return f"{self.body.get('title', '')}\n{self.body.get('message', '')}"


@dataclass
class HttpReceiver:
    """ThreadingHTTPServer on 127.0.0.1 that answers 200 and records every POST."""

    requests: list[Received] = field(default_factory=list)
    status: int = 200  # what to answer; a test may change it while running

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode(errors="replace")}
                recorder.requests.append(Received(time.time(), self.path, dict(self.headers), body))
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def to(self, path: str) -> list[Received]:
        """Requests for one ntfy topic ("/" + body topic) or one webhook path."""
        return [r for r in list(self.requests) if _target(r) == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _target(r: Received) -> str:
    # Apprise posts ntfy messages as JSON to "/" with the topic in the body.
    return f"/{r.body['topic']}" if r.path == "/" and "topic" in r.body else r.path


@dataclass(frozen=True)
class Mail:
    t: float
    mail_from: str
    to: list[str]
    content: str


class MailReceiver:
    """aiosmtpd on 127.0.0.1 recording every message."""

    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self.port = free_port()
        recorder = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                recorder.messages.append(
                    Mail(
                        time.time(),
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        envelope.content.decode(errors="replace"),
                    )
                )
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@dataclass
class PushoverMessage:
    t: float
    form: dict[str, str]
    receipt: str  # "" for a message below emergency priority: it has none
    acknowledged: bool = False
    acknowledged_at: float = 0.0
    device: str = ""
    cancelled_at: float | None = None
    polls: int = 0


@dataclass
class FakePushover:
    """Pushover's message and receipt API on 127.0.0.1, as documented at pushover.net/api and
    /api/receipts: form-encoded POSTs, JSON answers with `status`, a receipt for each
    emergency message, receipt polls, cancels, and the callback POST when a message is
    acknowledged. `acknowledge` plays the nurse tapping Acknowledge in the app."""

    app_token: str
    user_keys: tuple[str, ...]
    messages: list[PushoverMessage] = field(default_factory=list)
    refuse_all: bool = False  # answer every message with Pushover's invalid-token error

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, obj: dict[str, Any]) -> None:
                raw = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _form(self) -> dict[str, str]:
                n = int(self.headers.get("Content-Length", 0))
                return dict(parse_qsl(self.rfile.read(n).decode()))

            def do_POST(self) -> None:
                form = self._form()
                if form.get("token") != fake.app_token or fake.refuse_all:
                    self._answer(400, {"status": 0, "errors": ["application token is invalid"]})
                    return
                if self.path == "/1/messages.json":
                    self._answer(*fake._message(form))
                    return
                m = re.fullmatch(r"/1/receipts/(\w+)/cancel\.json", self.path)
                msg = fake.by_receipt(m[1]) if m else None
                if msg is None:
                    self._answer(404, {"status": 0, "errors": ["receipt not found"]})
                    return
                msg.cancelled_at = time.time()
                self._answer(200, {"status": 1, "request": "r"})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                m = re.fullmatch(r"/1/receipts/(\w+)\.json", url.path)
                msg = fake.by_receipt(m[1]) if m else None
                token = dict(parse_qsl(url.query)).get("token")
                if token != fake.app_token or fake.refuse_all or msg is None:
                    self._answer(400, {"status": 0, "errors": ["receipt or token invalid"]})
                    return
                msg.polls += 1
                self._answer(
                    200,
                    {
                        "status": 1,
                        "acknowledged": int(msg.acknowledged),
                        "acknowledged_at": int(msg.acknowledged_at),
                        "acknowledged_by": fake.user_keys[0] if msg.acknowledged else "",
                        "acknowledged_by_device": msg.device,
                        "expired": 0,
                        "called_back": 0,
                    },
                )

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _message(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("user") not in self.user_keys or not form.get("message"):
            return 400, {"status": 0, "errors": ["user identifier is invalid"]}
        if form.get("priority") != "2":
            self.messages.append(PushoverMessage(time.time(), form, ""))
            return 200, {"status": 1, "request": "r"}
        if int(form.get("retry", 0)) < 30 or not 0 < int(form.get("expire", 0)) <= 10800:
            return 400, {"status": 0, "errors": ["retry or expire out of range"]}
        receipt = secrets.token_hex(15)  # 30 characters, [a-z0-9], like Pushover's
        self.messages.append(PushoverMessage(time.time(), form, receipt))
        return 200, {"status": 1, "request": "r", "receipt": receipt}

    def by_receipt(self, receipt: str) -> PushoverMessage | None:
        return next((m for m in list(self.messages) if receipt and m.receipt == receipt), None)

    def acknowledge(self, msg: PushoverMessage, device: str, *, call_back: bool) -> int | None:
        """The nurse taps Acknowledge; with `call_back`, POST the callback the way Pushover
        does and return the HTTP status it got."""
        msg.acknowledged, msg.acknowledged_at, msg.device = True, time.time(), device
        callback = msg.form.get("callback")
        if not call_back or not callback:
            return None
        fields = {
            "receipt": msg.receipt,
            "acknowledged": "1",
            "acknowledged_at": str(int(msg.acknowledged_at)),
            "acknowledged_by": self.user_keys[0],
            "acknowledged_by_device": device,
        }
        return httpx.post(callback, data=fields, timeout=5).status_code

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_and_report() -> None:
    """`python -m tests.receivers`: an HttpReceiver in its own process (benchmarks use it so
    the receiver does not share Vigil's interpreter). Prints the port, then one JSON line
    {"t", "path"} per request."""
    import sys

    class Reporting(list[Received]):
        def append(self, r: Received) -> None:
            sys.stdout.write(json.dumps({"t": r.t, "path": _target(r), "text": r.text}) + "\n")
            sys.stdout.flush()

    http = HttpReceiver(requests=Reporting())
    print(http.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    http.close()


if __name__ == "__main__":
    serve_and_report()
