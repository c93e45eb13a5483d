"""The words on the phone. Pure.

A page carries no patient identity (clinical-defaults.md): room, condition, value against
baseline and limit, time since the dose when known, priority, time and the acknowledge link.
Nothing from the session's patient record is available here, by construction: the inputs are
an `AlarmEvent` (room id, condition, numbers) and the room's configured display name.

A latched alarm whose condition has resolved is still paged (repeats, and escalation to the
next tiers) until someone acknowledges it. Its page says so in the title and first thing in
the body, and gives the value the condition resolved with (the event carries no other) as
"back to", never "now" (it may be minutes old), so a charge nurse or physician reading it on
a lock screen is not sent running to an emergency that is over, nor led to ignore that it
happened.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from alerts.policy import Page, PageKind
from monitor.core.models import CANONICAL_UNIT, AlarmKind, AlarmState

SECONDARY = "Vigil is a secondary alarm: check the patient and the bedside monitor."

#: How conditions read, the one table of their words: on a phone, in reports and HL7, and on
#: the live page (served by GET /api/vocabulary, with `display_words`). Plain ASCII for SMS
#: and mail; unknown conditions (a clinic's own) fall back to their id (`condition_label`).
#: tests/monitor/test_vocabulary.py checks every condition the core can raise has its words here.
CONDITION_LABELS: dict[str, str] = {
    "spo2_low": "SpO2 low",
    "spo2_severe": "SpO2 very low",
    "spo2_drop": "SpO2 below baseline",
    "bp_severe": "BP severely high",
    "bp_rise": "BP rise over baseline",
    "bp_high": "BP high",
    "map_rise": "MAP rise",
    "bp_low": "BP low",
    "hr_high": "Pulse high",
    "hr_severe_high": "Pulse very high",
    "hr_low": "Pulse low",
    "hr_severe_low": "Pulse very low",
    "apnea": "Apnea",
    "resp_rate_low": "Resp. rate low",
    "resp_rate_high": "Resp. rate high",
    "etco2_high": "EtCO2 high",
    "etco2_rise": "EtCO2 rise over baseline",
    "etco2_low": "EtCO2 low",
    # Technical: Vigil's own conditions (monitor/rules_config.py TECHNICAL_CONDITIONS).
    "spo2_stale": "No SpO2 data",
    "pulse_rate_stale": "No pulse data",
    "resp_stale": "No respiration data",
    "co2_line_blocked": "CO2 sampling line blocked",
    "probe_off": "Probe off",
    "device_disconnected": "Device disconnected",
    "bp_overdue": "BP overdue",
    "cuff_error": "Cuff error",
    "storage_degraded": "Storage degraded",
    "journal_failed": "Journal failed: nothing is recorded",
    "notify_failed": "Paging failed",
    "monitoring_interrupted": "Vigil restarted: monitoring was interrupted",
    "device_failed": "Device driver failed",
    "device_garbled": "Device sends noise: check cable / baud rate",
    "hl7_out_down": "HL7 receiver down",
}

#: How measured quantities read (short: a tile's column, a plot's legend).
CHANNEL_LABELS: dict[str, str] = {
    "spo2": "SpO2",
    "pulse_rate": "Pulse",
    "perfusion_index": "PI",
    "sbp": "SBP",
    "dbp": "DBP",
    "map": "MAP",
    "cuff_pressure": "Cuff",
    "heart_rate": "HR",
    "resp_rate": "RR",
    "etco2": "EtCO2",
    "apnea": "Apnea",
}


def condition_label(condition: str) -> str:
    """A condition's words; a clinic's own condition reads as its id with spaces."""
    return CONDITION_LABELS.get(condition, condition.replace("_", " "))


_SUBSCRIPT_O2 = re.compile(r"O2\b")


def display_words(text: str) -> str:
    """The screen's form of ASCII words: SpO2 -> SpO₂, EtCO2 -> EtCO₂ (a phone keeps ASCII)."""
    return _SUBSCRIPT_O2.sub("O₂", text)


#: Apprise schemes as staff know the channels ("acknowledged by Nurse A via Pushover").
CHANNEL_NAMES: dict[str, str] = {
    "pover": "Pushover",
    "pushover": "Pushover",
    "ntfy": "ntfy",
    "ntfys": "ntfy",
    "json": "webhook",
    "jsons": "webhook",
    "mailto": "mail",
    "mailtos": "mail",
}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


_KIND_PREFIX = {
    PageKind.FIRST: "",
    PageKind.REPEAT: "REPEAT ",
    PageKind.ESCALATION: "ESCALATED ",
    PageKind.WORSENED: "WORSE ",
    PageKind.TEST: "TEST ",
}


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def render(
    page: Page,
    *,
    room_name: str,
    ack_url: str | None,
    dose_t: float | None = None,
    utc_offset_s: float | None = None,
) -> Message:
    """Title and body for one page. `utc_offset_s` None: the host's local time zone."""
    a = page.alarm
    label = condition_label(a.condition)
    resolved = a.state == AlarmState.RESOLVED
    what = f"{label} (resolved)" if resolved else label
    title = f"{_KIND_PREFIX[page.kind]}{a.priority.value.upper()}: {what}, {room_name}"
    lines = [f"{label} in {room_name} ({a.priority.value} priority)"]
    if resolved:
        lines.append(
            "RESOLVED, not acknowledged: the condition is over but nobody has acknowledged "
            "it. The alarm stays latched until acknowledged."
        )
    unit = CANONICAL_UNIT.get(a.channel or "", "")
    sep = "" if unit in ("%", "") else " "
    if a.value is not None:
        parts = [f"{'back to' if resolved else 'now'} {_num(a.value)}{sep}{unit}"]
        if a.worst is not None and _num(a.worst) != _num(a.value):
            parts.append(f"worst {_num(a.worst)}{sep}{unit}")
        if a.limit is not None:
            parts.append(f"limit {_num(a.limit)}{sep}{unit}")
        if a.baseline is not None:
            parts.append(f"baseline {_num(a.baseline)}{sep}{unit}")
        lines.append(", ".join(parts))
    if a.kind == AlarmKind.TECHNICAL and a.reason:
        lines.append(a.reason)
    if a.since is not None:
        lines.append(f"Alarm since {_clock(a.since, utc_offset_s)}")
    if dose_t is not None:
        minutes = max(0.0, page.t - dose_t) / 60  # at sending: repeats carry old events
        lines.append(f"{minutes:.0f} min since dose")
    if page.kind == PageKind.ESCALATION:
        lines.append(f"Escalated to tier {a.tier}: not acknowledged yet.")
    lines.append(f"Sent {_clock(page.t, utc_offset_s)}")
    if ack_url:
        lines.append(f"Acknowledge: {ack_url}")
    lines.append(SECONDARY)
    return Message(title=title, body="\n".join(lines))


def _clock(t: float, utc_offset_s: float | None) -> str:
    if utc_offset_s is None:
        return time.strftime("%H:%M:%S", time.localtime(t))
    return time.strftime("%H:%M:%S", time.gmtime(t + utc_offset_s))
