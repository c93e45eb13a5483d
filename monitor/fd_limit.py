"""Open-files limit for many devices: a serial port takes 5 descriptors (the port and
pyserial's two abort pipes; a simulated one also its pty pair), so Debian's default soft
limit (1,024) stops at about 200 ports.

`vigil run` raises its soft limit as far as the hard limit allows (as servers do), and says
so on the console when even the hard limit is too low for the configured ports.
"""

from __future__ import annotations

import resource

PER_DEVICE = 8  # a serial port's 5, a simulator's pty pair, a margin
HEADROOM = 1024  # stream clients, InfluxDB and SQLite, BLE sockets, logs


def needed(devices: int) -> int:
    return devices * PER_DEVICE + HEADROOM


def raise_open_files_limit(devices: int) -> str | None:
    """Raise the soft RLIMIT_NOFILE to what `devices` need; a warning when impossible."""
    want = needed(devices)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return None
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < want:
        return (
            f"open files: the hard limit {hard} is below the {want} that {devices} devices "
            f"need; devices past it cannot be opened (raise it: ulimit -Hn, or "
            f"LimitNOFILE= in the systemd unit)"
        )
    return None
