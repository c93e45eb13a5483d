"""Open-file limit for many serial devices: each needs a file descriptor (a simulated one
two more, for its pty), and so does every dashboard connection.

Many systems start processes with a soft limit of 1,024, which 500 rooms of an oximeter and
a cuff exceed; the hard limit is usually far higher. `vigil run` raises the soft limit at
start-up and says so on the console when it cannot raise it far enough.
"""

from __future__ import annotations

import resource

from monitor.config import Settings

BASE_FILES = 512  # the journal, InfluxDB and paging connections, dashboards' streams


def files_needed(settings: Settings) -> int:
    n = 0
    for room in settings.rooms:
        for dev in room.devices:
            n += 3 if dev.simulate is not None else 1
    return BASE_FILES + n


def raise_open_files(needed: int) -> str | None:
    """Raise the soft RLIMIT_NOFILE to `needed` if lower; a console line when it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        target = soft
        why = str(exc)
    else:
        why = f"the hard limit is {hard}"
    if target >= needed:
        return None
    return (
        f"open files: the configured devices need about {needed} but the limit is {target} "
        f"({why}); some devices will fail to open. Raise it (ulimit -n, or LimitNOFILE= in "
        "the systemd unit)"
    )
