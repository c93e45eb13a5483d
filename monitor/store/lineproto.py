"""InfluxDB line protocol for Vigil's readings and events. Pure.

Schema (documented in README.md):
  reading  tags room, channel, source          fields value (float, absent when invalid),
                                                      status (string), valid (bool)
  alarm    tags room, condition, kind, priority, state
                                               fields value, limit, baseline, worst (float),
                                                      reason, by, tier, acknowledged_by,
                                                      acknowledged_t (float), ended
  phase    tags room                           fields phase, detail
  device   tags room, source                   fields state, detail
Every point also carries the `site` tag of the Vigil that wrote it (`with_tag`, added where
points leave for InfluxDB), so several sites can share one store.
Timestamps are nanoseconds. The same event written twice lands on the same point, so a
re-send after a crash does no harm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from monitor.core.models import AlarmEvent, DeviceState, PhaseEvent, Reading


def _tag(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def _str_field(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def with_tag(line: str, key: str, value: str) -> str:
    """The line with one more tag, placed after the measurement's existing tags (the first
    unescaped space ends them: tag values escape their spaces)."""
    return _insert_tag(line, f",{key}={_tag(value)}")


def with_tag_all(lines: list[str], key: str, value: str) -> list[str]:
    """`with_tag` on every line, the tag escaped once (the forwarder tags 5,000 a batch)."""
    text = f",{key}={_tag(value)}"
    return [_insert_tag(line, text) for line in lines]


def _insert_tag(line: str, text: str) -> str:
    i = line.find(" ")
    while i > 0 and line[i - 1] == "\\":
        i = line.find(" ", i + 1)
    if i < 0:
        raise ValueError(f"not a line-protocol point: {line[:80]!r}")
    return line[:i] + text + line[i:]


def site_filter(site: str) -> str:
    """InfluxQL condition for one site's points; also points written before sites were
    tagged (a tag that is absent compares equal to '')."""
    s = site.replace("\\", "\\\\").replace("'", "\\'")
    return f"(site = '{s}' OR site = '')"


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | bool | str | None],
    t: float,
) -> str:
    tag_s = "".join(f",{k}={_tag(v)}" for k, v in sorted(tags.items()) if v)
    parts = []
    for k, v in fields.items():
        if v is None:
            continue
        if isinstance(v, bool):
            parts.append(f"{k}={'true' if v else 'false'}")
        elif isinstance(v, (int, float)):
            if not math.isfinite(v):
                continue  # never write NaN/inf: InfluxDB rejects them and they mean nothing
            parts.append(f"{k}={float(v)!r}")
        else:
            parts.append(f"{k}={_str_field(v)}")
    return f"{measurement}{tag_s} {','.join(parts)} {_ns(t)}"


def reading_line(room: str, r: Reading) -> str:
    return line(
        "reading",
        {"room": room, "channel": r.channel, "source": r.source},
        {"value": r.value, "status": ",".join(sorted(r.status)), "valid": r.usable},
        r.t,
    )


def alarm_line(e: AlarmEvent) -> str:
    return line(
        "alarm",
        {
            "room": e.room,
            "condition": e.condition,
            "kind": e.kind.value,
            "priority": e.priority.value,
            "state": e.state.value,
        },
        {
            "value": e.value,
            "limit": e.limit,
            "baseline": e.baseline,
            "reason": e.reason,
            "by": e.by or "",
            "tier": e.tier,
            "worst": e.worst,
            # Who acknowledged and how it ended are their own fields (issue #13): `by` is only
            # who made this transition.
            "acknowledged_by": e.acknowledged_by or "",
            "acknowledged_t": e.acknowledged_t,
            "ended": e.ended,
        },
        e.t,
    )


def phase_line(e: PhaseEvent) -> str:
    return line("phase", {"room": e.room}, {"phase": e.phase, "detail": e.detail}, e.t)


#: The fields of a notification record (alerts/notifier.py) kept as tags; the others are fields.
NOTIFICATION_TAGS = ("event", "room", "condition", "channel", "kind", "result")


def notification_line(message: Mapping[str, Any]) -> str:
    """A `{"type": "notification", "t": ..., "event": ...}` record as a `notification` point."""
    tags = {k: str(message[k]) for k in NOTIFICATION_TAGS if message.get(k) is not None}
    values = {
        k: v for k, v in message.items() if k not in NOTIFICATION_TAGS and k not in ("type", "t")
    }
    return line("notification", tags, values, float(message["t"]))


def device_line(room: str, s: DeviceState) -> str:
    return line(
        "device",
        {"room": room, "source": s.source},
        {"state": s.state.value, "detail": s.detail},
        s.t,
    )
