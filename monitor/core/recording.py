"""The recording format: JSONL, one input per line, so any room session can be replayed.

    {"t": 0, "room": "A", "type": "event", "event": "session_start", "by": "dr_k"}
    {"t": 12.0, "room": "A", "type": "reading", "channel": "spo2", "value": 97, "status": []}
    {"t": 30.0, "room": "A", "type": "device", "source": "A-ox", "state": "disconnected"}

`t` is in seconds since an arbitrary origin. An event's other keys are its arguments
(`{"event": "ack", "condition": "bp_rise"}`). `parse_line` / `parse_recording` read it,
`to_record_line` writes it (the inverse, for exporting a live session). Output lines of a
replay are written by `event_line`. Pure: text in, objects out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from monitor.core.controls import Control, control_from_dict
from monitor.core.errors import RecordingError as RecordingError  # its home: monitor/core/errors.py
from monitor.core.models import (
    CANONICAL_UNIT,
    AlarmEvent,
    AlarmState,
    DeviceState,
    LinkState,
    PhaseEvent,
    Reading,
)

RecordItem = Reading | Control | DeviceState
_RESERVED = frozenset({"t", "room", "type", "event", "by"})


class Record(msgspec.Struct, frozen=True, gc=False):
    """One input of a recording: a Struct like `Reading` (one is built per line). Not
    tracked by the garbage collector: an input never refers back to its record."""

    room: str
    item: RecordItem


def _number(obj: dict[str, Any], key: str, line_no: int, *, optional: bool = False) -> float | None:
    v = obj.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise RecordingError(line_no, f"{key!r} must be a finite number, got {v!r}")
    return float(v)


def _string(obj: dict[str, Any], key: str, line_no: int) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not v:
        raise RecordingError(line_no, f"{key!r} must be a non-empty string, got {v!r}")
    return v


#: Decodes one line that the fast path did not take. `vigil replay` passes orjson's; where
#: it refuses a line, the standard library decides, so NaN is still refused by field name and
#: a broken line gets the standard library's message.
Loads = Callable[[str | bytes], Any]


def _decode(line: str | bytes, line_no: int, loads: Loads) -> Any:
    try:
        return loads(line)
    except ValueError:
        pass
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordingError(line_no, f"not JSON: {exc.msg}") from None


def parse_line(line: str | bytes, line_no: int = 1, loads: Loads = json.loads) -> Record:
    """One JSONL line → (room, Reading | Control | DeviceState)."""
    obj = _decode(line, line_no, loads)
    if not isinstance(obj, dict):
        raise RecordingError(line_no, "not a JSON object")
    t = _number(obj, "t", line_no)
    assert t is not None
    room = _string(obj, "room", line_no)
    kind = obj.get("type")
    if kind == "reading":
        channel = _string(obj, "channel", line_no)
        value = _number(obj, "value", line_no, optional=True)
        status = obj.get("status", [])
        if not isinstance(status, list) or not all(isinstance(s, str) for s in status):
            raise RecordingError(line_no, f"'status' must be a list of strings, got {status!r}")
        unit = obj.get("unit", CANONICAL_UNIT.get(channel, ""))
        source = obj.get("source", "")
        if not isinstance(unit, str) or not isinstance(source, str):
            raise RecordingError(line_no, "'unit' and 'source' must be strings")
        return Record(room, Reading(t, channel, value, unit, frozenset(status), source))
    if kind == "event":
        event = _string(obj, "event", line_no)
        by = obj.get("by")
        if by is not None and not isinstance(by, str):
            raise RecordingError(line_no, f"'by' must be a string, got {by!r}")
        args = {k: v for k, v in obj.items() if k not in _RESERVED}
        return Record(room, control_from_dict({"t": t, "event": event, "args": args, "by": by}))
    if kind == "device":
        source = _string(obj, "source", line_no)
        try:
            state = LinkState(str(obj.get("state")))
        except ValueError:
            known = ", ".join(s.value for s in LinkState)
            raise RecordingError(line_no, f"'state' must be one of {known}") from None
        detail = obj.get("detail", "")
        return Record(room, DeviceState(t, source, state, str(detail)))
    raise RecordingError(line_no, f"'type' must be reading, event or device, got {kind!r}")


#: A decoder that takes the common lines whole: their Record, or None for a line it leaves
#: to `parse_line` (which reads or names it).
FastLine = Callable[[str | bytes], Record | None]


def iter_recording(
    lines: Iterable[str | bytes], loads: Loads = json.loads, fast: FastLine | None = None
) -> Iterator[Record]:
    """Every non-blank line, as it is read; raises RecordingError for the first bad one or
    time reversal (after yielding the good lines before it). `fast` takes the lines it can
    (`vigil replay`: monitor/replay_lines.py); `parse_line` reads the rest."""
    last_t = -math.inf
    for no, line in enumerate(lines, 1):
        rec = None if fast is None else fast(line)
        if rec is None:
            if not line.strip():
                continue
            rec = parse_line(line, no, loads)
        t = rec.item.t
        if t < last_t:
            raise RecordingError(no, f"'t' goes back in time ({t} < {last_t})")
        last_t = t
        yield rec


def parse_recording(
    lines: Iterable[str | bytes], loads: Loads = json.loads, fast: FastLine | None = None
) -> list[Record]:
    """Every non-blank line; raises RecordingError for the first bad one or time reversal."""
    return list(iter_recording(lines, loads, fast))


def to_record_line(room: str, item: RecordItem) -> str:
    """The inverse of `parse_line`: one input as a recording line (for session export)."""
    d: dict[str, Any]
    if isinstance(item, Reading):
        d = {
            "t": item.t,
            "room": room,
            "type": "reading",
            "channel": item.channel,
            "value": item.value,
            "status": sorted(item.status),
        }
        if item.unit != CANONICAL_UNIT.get(item.channel, ""):
            d["unit"] = item.unit
        if item.source:
            d["source"] = item.source
    elif isinstance(item, Control):
        d = {"t": item.t, "room": room, "type": "event", "event": item.event}
        d.update({k: v for k, v in item.args.items() if k not in _RESERVED})
        if item.by is not None:
            d["by"] = item.by
    else:
        d = {
            "t": item.t,
            "room": room,
            "type": "device",
            "source": item.source,
            "state": item.state.value,
        }
        if item.detail:
            d["detail"] = item.detail
    return json.dumps(d, ensure_ascii=False)


def _num(v: float | None) -> float | int | None:
    """Whole numbers print as integers (97, not 97.0), as recordings write them."""
    if v is None:
        return None
    v = round(float(v), 3)  # derived limits (1.2 × MAP) need no float noise in the output
    return int(v) if v.is_integer() else v


def event_line(event: AlarmEvent | PhaseEvent) -> str:
    """One replay output line: an alarm transition or a phase change.

    Alarm lines carry t, room, type, condition, kind, channel, priority, state, value, limit,
    baseline; escalated transitions add `tier`, and transitions made by a person add `by`.
    Once acknowledged, an episode's lines add `acknowledged_by` and `acknowledged_t`; a
    cleared line adds `ended` (resolved, acknowledged or session_end): who acknowledged and
    how it ended are separate facts.
    """
    if isinstance(event, PhaseEvent):
        return json.dumps(
            {"t": float(event.t), "room": event.room, "type": "phase", "phase": event.phase}
        )
    d: dict[str, Any] = {
        "t": float(event.t),
        "room": event.room,
        "type": "alarm",
        "condition": event.condition,
        "kind": event.kind.value,
        "channel": event.channel,
        "priority": event.priority.value,
        "state": event.state.value,
        "value": _num(event.value),
        "limit": _num(event.limit),
        "baseline": _num(event.baseline),
    }
    if event.state == AlarmState.ESCALATED or (
        event.state == AlarmState.RESOLVED and event.tier > 1
    ):  # a latched alarm that resolved escalates on, keeping its state
        d["tier"] = event.tier
    if event.by is not None:
        d["by"] = event.by
    if event.acknowledged_by is not None:
        d["acknowledged_by"] = event.acknowledged_by
        d["acknowledged_t"] = _num(event.acknowledged_t)
    if event.ended:
        d["ended"] = event.ended
    return json.dumps(d, ensure_ascii=False)
