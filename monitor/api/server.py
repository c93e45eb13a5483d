"""uvicorn's server, ending the live streams as soon as a stop is asked for.

uvicorn waits (timeout_graceful_shutdown) for open responses to finish, then cancels them,
printing "Cancel N running task(s)" and a traceback per open dashboard. A live stream never
finishes by itself, so a Ctrl-C with a dashboard open always ended that way. Closing the hub
when the signal arrives ends each stream at once, so the stop is quick and quiet.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType

import uvicorn
from uvicorn.server import HANDLED_SIGNALS

from monitor import task_dump
from monitor.hub import Hub
from monitor.watchdog import SystemdNotify


class StreamEndingServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, hub: Hub, systemd: SystemdNotify | None = None
    ) -> None:
        super().__init__(config)
        self.hub = hub
        self.systemd = systemd  # READY / WATCHDOG / STOPPING (monitor/watchdog.py)
        self._loop: asyncio.AbstractEventLoop | None = None

    def catch_stop_signals(self) -> None:
        """SIGINT and SIGTERM stop Vigil cleanly from now on, also while it is starting.

        uvicorn takes them only once `serve` runs. Until then a SIGTERM killed Vigil
        mid-start, and a SIGINT was lost when the parent had it ignored, as a shell does for
        a job started with `&`: Vigil then ran on as if never asked to stop. Caught here,
        the stop waits for the start-up to finish and then runs as usual."""
        for sig in HANDLED_SIGNALS:
            signal.signal(sig, self.handle_exit)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        task_dump.install(self._loop)  # kill -USR1: threads and tasks (monitor/task_dump.py)
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # Vigil started (lifespan), then listening
        if self.started and self.systemd is not None:
            self.systemd.started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.systemd is not None:
            await self.systemd.stopping()
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal handler runs between bytecodes: hand the close to the loop.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.hub.close)
