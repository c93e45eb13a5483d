"""`vigil replay`'s fast path for the common recording line, a plain reading (issue #12 item
5: replay at the parse floor).

msgspec decodes the line straight into a typed struct, checking the types in C with no dict
built: a quarter of what orjson and checks in Python cost. Anything else (an event, a device
line, a null where a string belongs, a bool for a number, not JSON) fails to decode here and
`monitor.core.recording.parse_line` reads it or names what is wrong, so both paths give the
same records and the same errors (tests/core/test_recordings.py compares them).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from monitor.core.models import CANONICAL_UNIT
from monitor.core.recording import Record, plain_record

_NO_FLAGS: frozenset[str] = frozenset()


class _PlainReading(msgspec.Struct, gc=False):
    t: float  # a JSON integer becomes a float, as in parse_line
    room: str
    type: Literal["reading"]
    channel: str
    value: float | None = None
    status: list[str] = []
    source: str = ""
    unit: str | msgspec.UnsetType = msgspec.UNSET  # absent: the channel's canonical unit


_decode = msgspec.json.Decoder(_PlainReading).decode
_DecodeError = msgspec.DecodeError  # and its subclass ValidationError
_UNSET = msgspec.UNSET


def plain_reading(line: str | bytes) -> Record | None:
    """The line's Record when it is a plain, valid reading; None for any other line."""
    try:
        p = _decode(line)
    except _DecodeError:
        return None
    t, value, room, channel, status = p.t, p.value, p.room, p.channel, p.status
    if not (
        t - t == 0.0  # finite: inf - inf and nan - nan are nan
        and (value is None or value - value == 0.0)
        and room
        and channel
    ):
        return None
    unit = p.unit
    if unit is _UNSET:
        unit = CANONICAL_UNIT.get(channel, "")
    flags = frozenset(status) if status else _NO_FLAGS
    return plain_record(room, t, channel, value, unit, flags, p.source)
