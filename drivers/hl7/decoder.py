"""One HL7 v2 message in, readings and the acknowledgements the sender expects out. Pure.

ORU^R01 carries observations (IHE PCD-01); ORU^R40 an alert (IHE PCD-04), of which Vigil
takes the device-reported conditions (drivers/hl7/alerts.py: a blocked CO2 sampling line).

`Hl7Decoder.handle(block, t)` takes the bytes of one MLLP block (python-hl7's
`MLLPStreamReader.readblock()` gives them) and the receive time, and never raises on device
input. What is answered (HL7 v2.x chapter 2, tables 0008 and 0155):

- original mode (MSH-15 and MSH-16 empty): one ACK with MSA-1 `AA` accepted, `AE` error in
  the content (an OBX we could not read; the good OBXs are still used), `AR` rejected (not
  an ORU^R01 or ORU^R40, unsupported version, no message control id);
- enhanced mode: a commit ACK `CA`/`CE`/`CR` as MSH-15 asks (AL always, ER on error, SU on
  success, NE never) and an application ACK `AA`/`AE`/`AR` as MSH-16 asks.
A refusal carries its reason in MSA-3 and in an ERR segment (ERR-3 code from table 0357,
ERR-4 severity, ERR-8 text) and is counted in `dropped`. An ACK is never answered.

The patient identity in PID is never kept: at most a keyed pseudonym (HMAC-SHA256 of PID-3)
when the device has a `pseudonym_key`, so staff can see that the monitor's patient changed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hl7

from drivers.hl7 import PROTOCOL_ID
from drivers.hl7.alerts import device_conditions
from drivers.hl7.codes import (
    CHANNEL_UNIT_FAMILY,
    CONDITIONS,
    IGNORE,
    LOINC,
    LOINC_SYSTEMS,
    MDC,
    MDC_SYSTEMS,
    TARGETS,
    UNITS,
    VENDOR_LOCAL,
    Target,
)
from drivers.hl7.fields import FALSE_WORDS, TRUE_WORDS
from drivers.hl7.fields import segments as _segments
from drivers.hl7.fields import text as _text
from monitor.core.models import CANONICAL_UNIT, Channel, Flag, Reading

START_BLOCK, END_BLOCK = b"\x0b", b"\x1c\r"
OBSERVATIONS, ALERT = ("ORU", "R01"), ("ORU", "R40")  # PCD-01 readings, PCD-04 alerts
SUPPORTED_TYPES = frozenset({OBSERVATIONS, ALERT})
# HL7 table 0357 message error condition codes used in ERR-3.
ERR_SEGMENT_SEQUENCE, ERR_REQUIRED_FIELD, ERR_DATA_TYPE = "100", "101", "102"
ERR_TABLE_VALUE, ERR_UNSUPPORTED_TYPE, ERR_UNSUPPORTED_VERSION = "103", "200", "203"
_ERR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "203": "Unsupported version id",
}
#: OBX-11 result status: X = the value cannot be obtained (a visible "no value").
_NO_VALUE_STATUS = frozenset({"X"})
_WITHDRAWN_STATUS = frozenset({"D", "W"})  # deleted / wrong: not a measurement
#: OBX-8 abnormal flags meaning the monitor itself is alarming on this value.
_ABNORMAL = frozenset({"L", "H", "LL", "HH", "A", "AA", "<", ">"})
NIBP_SUFFIX = "/nibp"


@dataclass(frozen=True, slots=True)
class Hl7Result:
    """What one message gave: readings, the ACK texts to send back in order, and the
    application-level verdict (AA / AE / AR) with its reason."""

    readings: tuple[Reading, ...] = ()
    replies: tuple[str, ...] = ()
    code: str = "AA"
    reason: str = ""


@dataclass
class _Problem:
    code: str  # AE or AR
    err: str  # table 0357
    text: str
    problems: list[str] = field(default_factory=list)


def _hl7_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d%H%M%S+0000")


class Hl7Decoder:
    """Decoder for one HL7 device (a StreamDecoder, plus `handle` for one MLLP block)."""

    protocol_id = PROTOCOL_ID

    def __init__(
        self,
        source: str,
        *,
        vendor: str | None = None,
        mapping: Mapping[str, str] | None = None,
        pseudonym_key: str | None = None,
        application: str = "VIGIL",
    ) -> None:
        self.source = source
        self.local: Mapping[str, Target] = VENDOR_LOCAL.get(vendor or "", {})
        self.mapping = {k.strip(): v for k, v in (mapping or {}).items()}
        for key, name in self.mapping.items():
            if name != IGNORE and name not in TARGETS and name not in CONDITIONS:
                raise ValueError(f"mapping.{key}: unknown channel {name!r}")
        self._key = pseudonym_key.encode() if pseudonym_key else None
        self.application = application
        self.dropped: Counter[str] = Counter()
        self.frames = 0  # messages accepted (AA or AE)
        self.patient: str | None = None  # keyed pseudonym of PID-3, never the id itself
        self._acks = 0
        self._buffer = b""
        # The NIBP cycle last passed on: monitors repeat the last NIBP in every message.
        self._last_nibp: tuple[tuple[str, float | None, str | None], ...] = ()
        self.nibp_repeats = 0  # messages whose NIBP was the cycle already passed on
        # The monitor says its CO2 sampling line is blocked (drivers/hl7/alerts.py): its
        # CO2-derived values carry Flag.LINE_BLOCKED until it says the alert ended.
        self.co2_blocked = False

    # -- StreamDecoder: an MLLP byte stream (`vigil decode`); live I/O uses `handle` -------
    def feed(self, data: bytes, t: float) -> list[Reading]:
        self._buffer += data
        out: list[Reading] = []
        while (end := self._buffer.find(END_BLOCK)) >= 0:
            block, self._buffer = self._buffer[:end], self._buffer[end + len(END_BLOCK) :]
            start = block.find(START_BLOCK)
            if start < 0:
                self.dropped["framing"] += 1
                continue
            if start > 0:
                self.dropped["framing"] += 1  # bytes before the start block
            out += self.handle(block[start + 1 :], t).readings
        return out

    # -- one message ------------------------------------------------------------------------
    def handle(self, block: bytes, t: float) -> Hl7Result:
        text = _decode_text(block)
        try:
            msg = hl7.parse(text)
            msh = msg.segment("MSH")
        except Exception as exc:  # python-hl7 raises several types on garbage
            self.dropped["unparsable"] += 1
            reason = f"not an HL7 v2 message: {exc}"[:200]
            return Hl7Result(code="AR", reason=reason, replies=(self._bare_reject(t, reason),))
        msg_type = (_text(msh, 9, 1, 1), _text(msh, 9, 1, 2))
        if msg_type[0] == "ACK":
            return Hl7Result()  # an acknowledgement is never acknowledged
        problem = self._check_header(msh, msg_type)
        readings: list[Reading] = []
        if problem is None:
            readings = self._conditions(msg, msh, t)
            problems: list[str] = []
            if msg_type == OBSERVATIONS:
                # An alert's OBX are facets of the alert (the source metric's value at the
                # time of the alarm among them), not readings.
                observed, problems = self._observations(msg, msh, t)
                readings += observed
            if problems:
                problem = _Problem("AE", ERR_DATA_TYPE, "; ".join(problems)[:400], problems)
            self._pseudonym(msg)
        if problem is None:
            self.frames += 1
            return Hl7Result(tuple(readings), self._acks_for(msg, msh, t, "AA", None), "AA")
        if problem.code == "AE":
            self.frames += 1  # the message was used, only some OBX were not
        else:
            self.dropped[f"rejected_{problem.err}"] += 1
        replies = self._acks_for(msg, msh, t, problem.code, problem)
        return Hl7Result(tuple(readings), replies, problem.code, problem.text)

    def _check_header(self, msh: Any, msg_type: tuple[str, str]) -> _Problem | None:
        if not _text(msh, 10):
            return _Problem("AR", ERR_REQUIRED_FIELD, "MSH-10 message control id missing")
        if msg_type not in SUPPORTED_TYPES:
            got = "^".join(p for p in msg_type if p) or "(none)"
            return _Problem("AR", ERR_UNSUPPORTED_TYPE, f"message type {got} not supported")
        version = _text(msh, 12, 1, 1)
        if not version.startswith("2."):
            return _Problem("AR", ERR_UNSUPPORTED_VERSION, f"HL7 version {version!r}")
        return None

    def _observations(self, msg: Any, msh: Any, t: float) -> tuple[list[Reading], list[str]]:
        base_status: set[str] = set()
        if _text(msh, 11, 1, 1) in ("T", "D"):
            base_status.add(Flag.DEMO)  # training / debugging messages: never an alarm
        msg_time = _text(msh, 7, 1, 1) or None
        readings: list[Reading] = []
        problems: list[str] = []
        for index, obx in enumerate(_segments(msg, "OBX"), 1):
            target, label = self._target(obx)
            if target is None:
                self.dropped["unmapped_obx"] += 1
                continue
            where = f"OBX {_text(obx, 1) or index} ({label} -> {target.channel})"
            result_status = _text(obx, 11).upper()
            if result_status in _WITHDRAWN_STATUS:
                self.dropped["withdrawn"] += 1
                continue
            status = set(base_status)
            if target.co2 and self.co2_blocked:
                status.add(Flag.LINE_BLOCKED)
            if _text(obx, 8) in _ABNORMAL:
                status.add(Flag.DEVICE_ALARM)
            raw = _text(obx, 5)
            value: float | None
            factor, unit_problem = self._unit(obx, target)
            if unit_problem:
                self.dropped["unit"] += 1
                problems.append(f"{where}: {unit_problem}")
                continue
            if result_status in _NO_VALUE_STATUS or raw == "":
                value = None
                status.add(Flag.INVALID)
            else:
                value = _number(raw, target.channel)
                if value is None:
                    self.dropped["value"] += 1
                    problems.append(f"{where}: value {raw[:20]!r} is not a number")
                    continue
                value = round(value * factor, 2)
            readings.append(
                Reading(
                    t=t,
                    channel=target.channel,
                    value=value,
                    unit=CANONICAL_UNIT[target.channel],
                    status=frozenset(status),
                    source=self.source + NIBP_SUFFIX if target.nibp else self.source,
                    device_time=_text(obx, 14, 1, 1) or msg_time,
                    original_unit="kPa" if factor != 1.0 else None,
                )
            )
        return self._new_nibp_only(readings), problems

    def _conditions(self, msg: Any, msh: Any, t: float) -> list[Reading]:
        """The device-reported conditions this message starts or ends, as one EtCO2 reading
        each: flagged LINE_BLOCKED when the line blocks, a value-less INVALID one when the
        device says it is clear again (the core raises and clears `co2_line_blocked` on
        them). Training / debugging messages (MSH-11 T/D) change nothing."""
        if _text(msh, 11, 1, 1) in ("T", "D"):
            return []
        out = []
        for found in device_conditions(msg, self.mapping):
            if found.active == self.co2_blocked:
                continue  # a repeat or an update of the alert: no change
            self.co2_blocked = found.active
            flag = Flag.LINE_BLOCKED if found.active else Flag.INVALID
            etco2 = Channel.ETCO2
            out.append(
                Reading(t, etco2, None, CANONICAL_UNIT[etco2], frozenset({flag}), self.source)
            )
        return out

    def _new_nibp_only(self, readings: list[Reading]) -> list[Reading]:
        """Pass a message's NIBP values on only when they are a new cuff cycle.

        A monitor repeats its last NIBP result in every periodic ORU; passed on each time, one
        measurement would count as many (a confirmation of bp_severe, a scheduled reading
        done). A cycle is new when its values or its observation time (OBX-14) differ from
        the last one passed on. Without OBX-14 an identical new measurement is taken for a
        repeat: the BP schedule then shows the reading overdue, the safe side."""
        nibp = [r for r in readings if r.source.endswith(NIBP_SUFFIX)]
        if not nibp:
            return readings
        key = tuple(sorted((str(r.channel), r.value, r.device_time) for r in nibp))
        if key == self._last_nibp:
            self.nibp_repeats += 1
            return [r for r in readings if not r.source.endswith(NIBP_SUFFIX)]
        self._last_nibp = key
        return readings

    def _target(self, obx: Any) -> tuple[Target | None, str]:
        """The channel an OBX-3 identifier names (config mapping first), and its label."""
        pairs = [
            (_text(obx, 3, 1, i), _text(obx, 3, 1, i + 1), _text(obx, 3, 1, i + 2).upper())
            for i in (1, 4)
        ]
        label = "^".join(p for p in pairs[0][:2] if p) or "(no id)"
        for code, name, system in pairs:
            for key in (f"{system}:{code}", code, name):
                if key and key in self.mapping:
                    chosen = self.mapping[key]
                    return TARGETS.get(chosen), label  # None: ignored, or a condition
        for code, name, system in pairs:
            if system in MDC_SYSTEMS or not system:
                hit = MDC.get(code) or MDC.get(name)
                if hit is not None:
                    return hit, label
            if system in LOINC_SYSTEMS and code in LOINC:
                return LOINC[code], label
            if not system or system not in MDC_SYSTEMS | LOINC_SYSTEMS:
                hit = self.local.get(code)
                if hit is not None:
                    return hit, label
        return None, label

    def _unit(self, obx: Any, target: Target) -> tuple[float, str]:
        """The factor to the channel's canonical unit, or a problem naming the unit."""
        family = CHANNEL_UNIT_FAMILY.get(Channel(target.channel))
        if family is None:
            return 1.0, ""  # apnea: a flag, no unit
        names = [_text(obx, 6, 1, 1), _text(obx, 6, 1, 2), _text(obx, 6, 1, 4)]
        names = [n for n in names if n]
        if not names and target.unit_required:
            return 1.0, f"no unit: the code's quantity is not {family}"
        if not names:
            return 1.0, ""  # many monitors omit units: the canonical one is meant
        for name in names:
            known = UNITS.get(name)
            if known is not None:
                if known[0] != family:
                    return 1.0, f"unit {name!r} is not {family}"
                return known[1], ""
        return 1.0, f"unknown unit {names[0]!r}"

    def _pseudonym(self, msg: Any) -> None:
        pid = next(iter(_segments(msg, "PID")), None)
        patient = _text(pid, 3, 1, 1) if pid is not None else ""
        if patient and self._key is not None:
            digest = hmac.new(self._key, patient.encode(), hashlib.sha256).hexdigest()
            self.patient = "p-" + digest[:16]

    # -- acknowledgements -------------------------------------------------------------------
    def _acks_for(
        self, msg: Any, msh: Any, t: float, code: str, problem: _Problem | None
    ) -> tuple[str, ...]:
        accept, app = _text(msh, 15).upper(), _text(msh, 16).upper()
        if not accept and not app:
            return (self._ack(msg, t, code, problem),)
        replies = []
        commit = {"AA": "CA", "AE": "CE", "AR": "CR"}[code]
        if _wanted(accept, ok=commit == "CA"):
            replies.append(self._ack(msg, t, commit, problem))
        if _wanted(app, ok=code == "AA"):
            replies.append(self._ack(msg, t, code, problem))
        return tuple(replies)

    def _next_id(self) -> str:
        self._acks += 1
        return f"{self.application}-{self._acks}"

    def _ack(self, msg: Any, t: float, code: str, problem: _Problem | None) -> str:
        ack_id = self._next_id()
        try:
            ack = msg.create_ack(code, message_id=ack_id, application=self.application)
        except Exception:  # an MSH too short for the library to echo: answer with our own
            control = _clean(_text(msg.segment("MSH"), 10))[:64]
            return self._bare_ack(t, ack_id, code, control, problem)
        ack.segment("MSH").assign_field(_hl7_time(t), 7)  # our time, not the library's clock
        if problem is not None:
            _add_error(ack, problem)
        return str(ack)

    def _bare_reject(self, t: float, reason: str) -> str:
        """An AR when the message has no usable MSH (nothing to echo but our own header)."""
        problem = _Problem("AR", ERR_SEGMENT_SEQUENCE, reason)
        return self._bare_ack(t, self._next_id(), "AR", "", problem)

    def _bare_ack(
        self, t: float, ack_id: str, code: str, control: str, problem: _Problem | None
    ) -> str:
        header = f"MSH|^~\\&|{self.application}||||{_hl7_time(t)}||ACK|{ack_id}|P|2.5"
        ack = hl7.parse(f"{header}\rMSA|{code}|{control}\r")
        if problem is not None:
            _add_error(ack, problem)
        return str(ack)


def _add_error(ack: Any, problem: _Problem) -> None:
    text = _clean(problem.text)
    msa = ack.segment("MSA")
    msa.assign_field(text[:80], 3)  # MSA-3 text message (read by v2.3/2.4 senders)
    err = ack.create_segment([ack.create_field(["ERR"])])
    err.assign_field(problem.err, 3, 1, 1)
    err.assign_field(_ERR_TEXT.get(problem.err, ""), 3, 1, 2)
    err.assign_field("HL70357", 3, 1, 3)
    err.assign_field("E", 4)
    err.assign_field(text, 8)
    ack.append(err)


def _clean(text: str) -> str:
    """Text safe inside an HL7 field: no delimiters or segment breaks."""
    return "".join(" " if c in "|^~\\&\r\n" else c for c in text)


def _wanted(setting: str, *, ok: bool) -> bool:
    """Table 0155: AL always, NE never, ER only on error, SU only on success."""
    return setting == "AL" or (setting == "ER" and not ok) or (setting == "SU" and ok)


def _decode_text(block: bytes) -> str:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")  # HL7's common 8-bit charset; never fails
    # Segments end with CR; some senders use LF or CRLF.
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r") + "\r"


def _number(raw: str, channel: str) -> float | None:
    if channel == Channel.APNEA:
        word = raw.upper()
        if word in TRUE_WORDS:
            return 1.0
        if word in FALSE_WORDS:
            return 0.0
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
