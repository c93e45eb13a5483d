"""The segments PCD-01 and ACM messages share (MSH, PID, PV1), HL7 time stamps and escaping.
Pure: the sending time is an argument.

Patient identity: PID carries the session's pseudonym (initials or a code staff chose, at
most 16 characters) as an identifier assigned by Vigil, never a name or a birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
import hl7.util

SEGMENT_END = "\r"
# An empty message whose separators python-hl7's escape() reads (the defaults: |^~\&).
_SEPARATORS = hl7.parse("MSH|^~\\&|\r")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """MSH-3..6: who sends to whom. Vigil names itself; the receiver side is optional."""

    sending_application: str = "VIGIL"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""


VIGIL = Endpoints()  # the default: Vigil to whoever listens


def esc(text: str) -> str:
    """Escape a free-text value for one component (|, ^, ~, \\ and & are delimiters)."""
    return str(hl7.util.escape(_SEPARATORS, text))


def dtm(t: float) -> str:
    """HL7 DTM in UTC with its offset, to the millisecond: 20261202221000.123+0000."""
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y%m%d%H%M%S") + f".{d.microsecond // 1000:03d}+0000"


def num(v: float) -> str:
    """A value as sent in OBX-5 (NM): at most one decimal, no trailing zeros."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def msh(ep: Endpoints, *, now: float, message_type: str, control_id: str, profile: str) -> str:
    # MSH-15 AL: the receiver always sends an accept ACK (the outbox advances on it);
    # MSH-16 NE: no application ACK. MSH-18 UTF-8. MSH-21 the IHE message profile.
    return (
        f"MSH|^~\\&|{esc(ep.sending_application)}|{esc(ep.sending_facility)}|"
        f"{esc(ep.receiving_application)}|{esc(ep.receiving_facility)}|{dtm(now)}||"
        f"{message_type}|{esc(control_id)}|P|2.6|||AL|NE||UNICODE UTF-8|||{profile}"
    )


def pid(pseudonym: str) -> str:
    """PID-3 = the pseudonym, assigned by VIGIL, type PI; empty outside a session."""
    return f"PID|||{esc(pseudonym)}^^^VIGIL^PI" if pseudonym else "PID|||"


def pv1(room: str) -> str:
    """PV1-2 I (the profiles' patient class), PV1-3 the room as the point of care."""
    return f"PV1||I|{esc(room)}"
