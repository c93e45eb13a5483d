"""Real notification receivers on loopback: an HTTP server that records what ntfy and JSON
webhooks would receive, and an aiosmtpd mail server. Used by tests and benchmarks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def serve_and_report() -> None:
    """`python -m tests.receivers`: an HttpReceiver in its own process (benchmarks use it so
    the receiver does not share Vigil's interpreter). Prints the port, then one JSON line
    {"t", "path"} per request."""
    import sys

    class Reporting(list[Received]):
        def append(self, r: Received) -> None:
            sys.stdout.write(json.dumps({"t": r.t, "path": _target(r)}) + "\n")
            sys.stdout.flush()

    http = HttpReceiver(requests=Reporting())
    print(http.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    http.close()


if __name__ == "__main__":
    serve_and_report()
