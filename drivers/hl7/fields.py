"""Reading fields out of a python-hl7 message without raising. Pure."""

from __future__ import annotations

from typing import Any


def text(container: Any, *path: int) -> str:
    """A field / component as text, '' when the message does not have it."""
    try:
        for index in path:
            if isinstance(container, str):
                # A plain value is its own first repetition / component.
                if index != 1:
                    return ""
                continue
            container = container(index)
        return str(container).strip()
    except (IndexError, KeyError, TypeError, AttributeError):
        return ""


def segments(msg: Any, name: str) -> list[Any]:
    """The message's segments called `name`, in order ([] when there is none)."""
    try:
        return list(msg.segments(name))
    except KeyError:
        return []


#: Flag-valued OBX-5 words (an apnea event, a mapped device condition).
TRUE_WORDS = frozenset({"1", "Y", "YES", "T", "TRUE", "ON", "APNEA"})
FALSE_WORDS = frozenset({"0", "N", "NO", "F", "FALSE", "OFF"})
