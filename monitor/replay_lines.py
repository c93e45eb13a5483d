"""`vigil replay`'s fast path for the common recording line, a plain reading (issue #12 item
5: replay at the parse floor).

msgspec decodes the line straight into a typed struct, checking the types in C with no dict
built: a quarter of what orjson and checks in Python cost. Anything else (an event, a device
line, a null where a string belongs, a bool for a number, not JSON) fails to decode here and
`monitor.core.recording.parse_line` reads it or names what is wrong, so both paths give the
same records and the same errors (tests/core/test_recordings.py compares them).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from monitor.core.models import CANONICAL_UNIT, Reading
from monitor.core.recording import Record

_NO_FLAGS: frozenset[str] = frozenset()
_Name = Annotated[str, msgspec.Meta(min_length=1)]


class _PlainReading(msgspec.Struct, gc=False):
    # Every check in C: msgspec refuses a number beyond a float's range (JSON has no NaN or
    # Infinity), so `t` and `value` are finite; the names are not empty.
    t: float  # a JSON integer becomes a float, as in parse_line
    room: _Name
    type: Literal["reading"]
    channel: _Name
    value: float | None = None
    status: frozenset[str] = _NO_FLAGS
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
    unit = p.unit
    if unit is _UNSET:
        unit = CANONICAL_UNIT.get(p.channel, "")
    return Record(p.room, Reading(p.t, p.channel, p.value, unit, p.status, p.source))
