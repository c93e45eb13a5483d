"""Technical conditions a monitor reports over HL7: a capnograph's blocked sampling line. Pure.

Where monitors say it:
- IHE PCD-04 "Report Alert" (ORU^R40; IHE PCD TF-2 and the ACM supplement): one alert per
  OBR, its facets in OBX told apart by OBX-3: the event identification (a partition-3 MDC
  event code, e.g. 196616 MDC_EVT_ALARM for a technical alert, with the device's own alert
  text in OBX-5), the source (68480 MDC_ATTR_ALERT_SOURCE, or the metric itself, e.g. 151708
  MDC_AWAY_CO2_ET), the event phase (68481 MDC_ATTR_EVENT_PHASE: start, continue, update,
  escalate ... end) and the alarm state (68482 MDC_ATTR_ALARM_STATE: active, latched,
  inactive). Vigil's own ACM output (monitor/hl7out/acm.py) writes the same facets.
- Some vendors put the same facets, or a flag-valued OBX under a code of their own, into
  ORU^R01; a clinic maps such a code with the device's `mapping` (`"<code>" =
  "co2_line_blocked"`, value 1/0 or Y/N, or the phase facets beside it).

No IEEE 11073-10101 event term for a blocked CO2 sampling line could be verified: HL7's
published MDC partition-3 list (terminology.hl7.org ValueSet devicealert-condition, MDC
nomenclature 2024-12-05) has base events such as 196616 MDC_EVT_ALARM and 196638 MDC_EVT_ERR
but no verified "occlusion" term, and public samples that give one contradict that list (one
gives 196616, which is MDC_EVT_ALARM). So a CO2 alert is recognised by what monitors write
for it, the words their manuals list for this technical alarm:
- Philips Efficia CM IFU (CO2 module): "CO2 Purging", then "CO2 Occlusion"; a FilterLine
  "blockage is indicated by the device";
- Schiller DEFIGARD/PHYSIOGARD Touch 7 manual, T.ETCO207: "Sampling line clogged";
- Welch Allyn Duet CO2 OEM manual: "inlet occlusion" from a kinked or occluded sample line
  or a saturated water trap.
An alert is the line's when its text names an occlusion and it concerns CO2 (its text, or
its source is the EtCO2 metric).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers.hl7 import mdc
from drivers.hl7.codes import CO2_LINE_BLOCKED, MDC
from drivers.hl7.fields import FALSE_WORDS, text
from monitor.core.models import Channel

# (code, reference id) of each facet.
_SOURCE, _PHASE, _STATE = (
    tuple(f.split("^")[:2])
    for f in (mdc.ATTR_ALERT_SOURCE, mdc.ATTR_EVENT_PHASE, mdc.ATTR_ALARM_STATE)
)
_EVT_PARTITION = range(3 * 65536, 4 * 65536)  # MDC partition 3: events
#: Phases and states that end an alert (IHE PCD ACM event phase / alarm state).
_ENDED_PHASES = frozenset({"end", "reset"})
_ENDED_STATES = frozenset({"inactive"})
_BLOCKED_WORDS = re.compile(
    r"occlu|block|clog|obstruct|kink|purg|water\s*trap|filter\s*line|sampl\w*\s*(?:line|error)",
    re.IGNORECASE,
)
_CO2_WORDS = re.compile(r"co2|capno|filter\s*line|sampl\w*\s*line", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeviceCondition:
    """One alert about a device-reported condition: started (active) or ended."""

    condition: str
    active: bool
    text: str


def device_conditions(msg: Any, mapping: Mapping[str, str]) -> list[DeviceCondition]:
    """Every CO2-line alert in the message, in order (one per OBR group)."""
    out = []
    for group in _obr_groups(msg):
        found = _co2_line(group, mapping)
        if found is not None:
            out.append(found)
    return out


def _obr_groups(msg: Any) -> list[list[Any]]:
    """The OBX segments under each OBR (those before any OBR form a group of their own)."""
    groups: list[list[Any]] = [[]]
    for segment in msg:
        name = str(segment[0]) if len(segment) else ""
        if name == "OBR":
            groups.append([])
        elif name == "OBX":
            groups[-1].append(segment)
    return [g for g in groups if g]


def _co2_line(group: list[Any], mapping: Mapping[str, str]) -> DeviceCondition | None:
    events: list[str] = []
    sources: list[str] = []
    phase = state = ""
    mapped: str | None = None
    co2_source = False
    for obx in group:
        code, name = text(obx, 3, 1, 1), text(obx, 3, 1, 2)
        system, value = text(obx, 3, 1, 3).upper(), text(obx, 5)
        if any(k and mapping.get(k) == CO2_LINE_BLOCKED for k in (f"{system}:{code}", code, name)):
            mapped = value
        elif code in _PHASE or name in _PHASE:
            phase = value.lower()
        elif code in _STATE or name in _STATE:
            state = value.lower()
        elif code in _SOURCE or name in _SOURCE:
            sources.append(value)
            source = MDC.get(text(obx, 5, 1, 1))
            co2_source = co2_source or (source is not None and source.channel == Channel.ETCO2)
        elif (target := MDC.get(code) or MDC.get(name)) is not None:
            co2_source = co2_source or target.channel == Channel.ETCO2
        elif _is_event(code, name):
            events.append(f"{name} {value}".strip())
    active = phase not in _ENDED_PHASES and state not in _ENDED_STATES
    if mapped is not None:
        if not phase and not state and mapped.upper() in FALSE_WORDS:
            active = False
        return DeviceCondition(CO2_LINE_BLOCKED, active, mapped[:120])
    words = " ".join(events + sources)
    if not events or not _BLOCKED_WORDS.search(words):
        return None
    if not (co2_source or _CO2_WORDS.search(words)):
        return None
    return DeviceCondition(CO2_LINE_BLOCKED, active, words[:120])


def _is_event(code: str, name: str) -> bool:
    return name.startswith("MDC_EVT") or (code.isdigit() and int(code) in _EVT_PARTITION)
