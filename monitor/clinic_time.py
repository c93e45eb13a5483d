"""The clinic's time zone: one IANA zone (`timezone` in the config) in which every report, the
CLI and the dashboard show clock times, always labelled (issue #13: the dashboard showed
browser-local time with no zone, the reports UTC). Pure: callers pass the instant.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"  # a clinic that sets none sees UTC, labelled as such


@lru_cache(maxsize=16)
def zone(name: str) -> tzinfo:
    """The zone of an IANA name (`Europe/Berlin`); ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin, "
            "America/New_York or UTC"
        ) from None


def local(t: float, name: str) -> datetime:
    return datetime.fromtimestamp(t, zone(name))


def clock(t: float | None, name: str, *, date: bool = True) -> str:
    """'2026-11-03 14:05:09 CET' (with `date=False`: '14:05:09 CET'); '—' for no time."""
    if t is None:
        return "—"
    return local(t, name).strftime("%Y-%m-%d %H:%M:%S %Z" if date else "%H:%M:%S %Z")


def iso(t: float, name: str) -> str:
    """ISO 8601 with the zone's offset: '2026-11-03T14:05:09.120+01:00'."""
    return local(t, name).isoformat(timespec="milliseconds")


def label(name: str, t: float) -> str:
    """'Europe/Berlin (CET, UTC+01:00)' at instant `t` (the abbreviation follows DST)."""
    d = local(t, name)
    off = d.strftime("%z")
    return f"{name} ({d.tzname()}, UTC{off[:3]}:{off[3:]})"
