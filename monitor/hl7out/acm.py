"""IHE PCD ACM "Report Alert" (PCD-04): alarm transitions as HL7 v2.6 ORU^R40. Pure.

One message per transition of an alarm, in the facets the ACM profile lays out, each an OBX
whose OBX-4 is the source's containment plus the facet number:
  1 event identification: MDC_EVT_LO / MDC_EVT_HI for a value beyond a limit, MDC_EVT_ALARM
    for a technical alarm; OBX-5 the alarm's text; OBX-8 abnormality (L/H, physiological
    only) ~ priority (PH/PM/PL) ~ source type (SP physiological, ST technical): the profile
    gives priority and source here and nowhere else;
  2 source: the metric with its value, unit and limit (OBX-7), or MDC_ATTR_ALERT_SOURCE with
    the condition's name for a technical alarm;
  3 MDC_ATTR_EVENT_PHASE, 4 MDC_ATTR_ALARM_STATE, 5 MDC_ATTR_ALARM_INACTIVATION_STATE.
OBR-2/OBR-3 hold the alarm's identifier (room, condition and the episode's start), the same
for every message of one episode, so the alarm manager ties start, updates and end together.

Vigil's transitions map onto phase / state / inactivation state as:
  active        start     / active   / enabled
  escalated     escalate  / active   / enabled (alert-acknowledged once acknowledged)
  acknowledged  update    / active   / alert-acknowledged
  resolved      update    / latched  / enabled (a latched alarm whose condition is over)
  cleared       end       / inactive / enabled, or alert-acknowledged when it was
"""

from __future__ import annotations

from typing import Any

from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority
from monitor.hl7out import mdc
from monitor.hl7out.segments import SEGMENT_END, VIGIL, Endpoints, dtm, esc, msh, num, pid, pv1

_PRIORITY = {Priority.HIGH: "PH", Priority.MEDIUM: "PM", Priority.LOW: "PL"}
_PHASE = {
    AlarmState.ACTIVE: ("start", "active"),
    AlarmState.ESCALATED: ("escalate", "active"),
    AlarmState.ACKNOWLEDGED: ("update", "active"),
    AlarmState.RESOLVED: ("update", "latched"),
    AlarmState.CLEARED: ("end", "inactive"),
}
_LOW_WORDS = ("low", "drop")  # conditions about a value below its limit (spo2_low, bp_low ...)


def alarm_of(payload: dict[str, Any]) -> AlarmEvent | None:
    """The AlarmEvent a journal `alarm` row holds (`AlarmEvent.to_dict`); None if it is not one."""
    try:
        fields = {f: payload[f] for f in AlarmEvent.__dataclass_fields__ if f in payload}
        fields["kind"] = AlarmKind(fields["kind"])
        fields["priority"] = Priority(fields["priority"])
        fields["state"] = AlarmState(fields["state"])
        return AlarmEvent(**fields)
    except (KeyError, TypeError, ValueError):
        return None


def alert_id(event: AlarmEvent) -> str:
    """One identifier per alarm episode: room, condition and when it became active (ms)."""
    since = event.since if event.since is not None else event.t
    return f"{event.room}.{event.condition}.{round(since * 1000)}"


def encode_oru_r40(
    event: AlarmEvent,
    *,
    pseudonym: str,
    control_id: str,
    now: float,
    label: str,
    acknowledged: bool = False,
    endpoints: Endpoints = VIGIL,
) -> str:
    """The whole message for one alarm transition (segments joined by CR). `label` is the
    alarm's words (alerts.message.CONDITION_LABELS); `acknowledged`: someone acknowledged
    this episode already (its inactivation state stays alert-acknowledged)."""
    phase, state = _PHASE[event.state]
    inactivation = (
        "alert-acknowledged"
        if acknowledged or event.state == AlarmState.ACKNOWLEDGED
        else "enabled"
    )
    metric = mdc.METRICS.get(event.channel or "")
    physiological = event.kind == AlarmKind.PHYSIOLOGICAL and metric is not None
    at = dtm(event.t)
    aid = f"{esc(alert_id(event))}^VIGIL"
    segments = [
        msh(endpoints, now=now, message_type="ORU^R40^ORU_R40", control_id=control_id,
            profile=mdc.PROFILE_ACM),
        pid(pseudonym),
        pv1(event.room),
        f"OBR|1|{aid}|{aid}|{mdc.EVT_ALARM}|||{at}",
    ]  # fmt: skip
    text = esc(label)
    if physiological:
        assert metric is not None
        low = any(w in event.condition for w in _LOW_WORDS)
        evt = mdc.EVT_LO if low else mdc.EVT_HI
        flags = f"{'L' if low else 'H'}~{_PRIORITY[event.priority]}~SP"
        base = f"1.{metric.vmd}.1.{metric.metric}"
        value = "" if event.value is None else num(event.value)
        limit = "" if event.limit is None else f"{'>' if low else '<'}{num(event.limit)}"
        segments += [
            f"OBX|1|ST|{evt}|{base}.1|{text}|||{flags}|||F|||{at}",
            f"OBX|2|NM|{metric.identifier}|{base}.2|{value}|{metric.units}|{limit}||||"
            f"{'F' if value else 'X'}|||{at}",
        ]
    else:
        base = "1.0.0.0"
        flags = f"{_PRIORITY[event.priority]}~ST"
        segments += [
            f"OBX|1|ST|{mdc.EVT_ALARM}|{base}.1|{text}|||{flags}|||F|||{at}",
            f"OBX|2|ST|{mdc.ATTR_ALERT_SOURCE}|{base}.2|{esc(event.condition)}||||||F",
        ]
    segments += [
        f"OBX|3|ST|{mdc.ATTR_EVENT_PHASE}|{base}.3|{phase}||||||F",
        f"OBX|4|ST|{mdc.ATTR_ALARM_STATE}|{base}.4|{state}||||||F",
        f"OBX|5|ST|{mdc.ATTR_ALARM_INACTIVATION_STATE}|{base}.5|{inactivation}||||||F",
    ]
    return SEGMENT_END.join(segments)
