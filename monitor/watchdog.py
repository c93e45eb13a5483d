"""systemd's notify protocol (deploy/vigil.service is `Type=notify` with `WatchdogSec`):
READY=1 once the server is serving, WATCHDOG=1 every half watchdog period, STOPPING=1 on a
stop. Sent through `sdnotify` (the protocol is one datagram; the library does the socket),
and only when systemd asked for it (NOTIFY_SOCKET set): elsewhere this does nothing.

The pings come from a task on Vigil's event loop, not from a thread: a loop that is stuck
(a blocking call, a busy loop) stops pinging, and systemd restarts the service after
`WatchdogSec`, which is the point of the watchdog. With each ping goes STATUS= when it has
changed, so `systemctl status vigil` names a failed part ("error: driver-A-ox failed ...").
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

import sdnotify


def ping_interval_s(env: Mapping[str, str]) -> float | None:
    """Half of systemd's watchdog period (its own advice), or None when there is none or it
    is meant for another process (WATCHDOG_PID)."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


class SystemdNotify:
    def __init__(self, status: Callable[[], str] | None = None) -> None:
        self.status = status  # one line for `systemctl status`
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self.interval_s = ping_interval_s(os.environ) if self.enabled else None
        # SystemdNotifier reads NOTIFY_SOCKET from the environment itself (abstract "@"
        # names included).
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None
        self._pinger: asyncio.Task[None] | None = None

    def notify(self, state: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(state)

    def started(self) -> None:
        """The server is serving (call on the event loop): READY, then the watchdog pings."""
        self.notify("READY=1\nSTATUS=serving")
        if self.interval_s is not None and self._pinger is None:
            self._pinger = asyncio.get_running_loop().create_task(
                self.ping_forever(self.interval_s), name="systemd-watchdog"
            )

    async def ping_forever(self, interval_s: float) -> None:
        said = "serving"
        while True:
            message = "WATCHDOG=1"
            now = self.status() if self.status is not None else said
            if now != said:
                said = now
                message += f"\nSTATUS={now}"
            self.notify(message)
            await asyncio.sleep(interval_s)

    async def stopping(self) -> None:
        self.notify("STOPPING=1")
        if self._pinger is not None:
            self._pinger.cancel()
            # Waits for it without taking its end as ours: a `suppress(CancelledError)`
            # around `await pinger` would also swallow a cancellation of the stop itself.
            await asyncio.wait([self._pinger])
            self._pinger = None
