"""What the live page needs to know about Vigil's words and timings, served, never copied.

The page (dashboards/live/) keeps no table of its own: condition labels, which conditions are
technical, the priorities in rank order, the session phases (which are "in session", which
come after the dose), channel names and units, and every clinic-set timing it uses come from
here (GET /api/vocabulary), each from its one home:

- labels: `alerts.message` (CONDITION_LABELS, CHANNEL_LABELS), shown with `display_words`;
- conditions: the configured rules (`[rules.conditions]`) and Vigil's technical conditions
  (`monitor.rules_config.TECHNICAL_CONDITIONS`);
- phases: `monitor.core.session`; roles: `monitor.auth.store.ROLES`;
  units: `monitor.core.models.CANONICAL_UNIT`;
- timings: the running settings (`[rules]`, `[rules.technical]`, `stream_interval_s`) and the
  runtime's heartbeat (`monitor.room_loop.TICK_S`).
"""

from __future__ import annotations

from typing import Any

from alerts.message import CHANNEL_LABELS, condition_label, display_words
from monitor.auth.store import ROLES
from monitor.config import Settings
from monitor.core.models import CANONICAL_UNIT, AlarmKind, Channel, Priority
from monitor.core.pipeline import EXTERNAL_TECHNICAL
from monitor.core.session import IN_SESSION, POST_DOSE, Phase
from monitor.room_loop import TICK_S
from monitor.rules_config import TECHNICAL_CONDITIONS

#: Lowest first: a priority's rank is its index + 1 (the page draws ▲ per rank).
PRIORITY_RANK: tuple[Priority, ...] = (Priority.LOW, Priority.MEDIUM, Priority.HIGH)

#: How a control that does not apply names the room's phase ("does not apply: before the dose").
PHASE_WORDS: dict[str, str] = {
    Phase.IDLE: "no session",
    Phase.PRE_DOSE: "before the dose",
    Phase.DOSED: "dosed",
    Phase.RECOVERY: "recovery",
    Phase.DISCHARGE_READY: "ready for discharge review",
    Phase.ENDED: "the session has ended",
}

#: Heartbeats come every TICK_S; the page calls the link dead after missing about three.
LINK_STALE_HEARTBEATS = 3


def vocabulary(settings: Settings) -> dict[str, Any]:
    """The page's vocabulary for the running settings (rules may change live: built per call)."""
    rules = settings.rules
    conditions: dict[str, dict[str, Any]] = {}
    for cid, cond in rules.conditions.items():
        conditions[cid] = {
            "label": display_words(condition_label(cid)),
            "kind": AlarmKind.PHYSIOLOGICAL.value,
            "priority": cond.priority,
            "channels": sorted({lim.channel for lim in cond.limits}),
        }
    for cid in sorted(TECHNICAL_CONDITIONS):
        prio = EXTERNAL_TECHNICAL.get(cid)
        conditions[cid] = {
            "label": display_words(condition_label(cid)),
            "kind": AlarmKind.TECHNICAL.value,
            # Most technical alarms take their priority from what happened (probe off: low,
            # then medium): the alarm message carries it.
            "priority": prio,
            "channels": [],
        }
    tech = rules.technical
    return {
        "conditions": conditions,
        "priorities": [p.value for p in PRIORITY_RANK],
        "roles": list(ROLES),  # fewest rights first: a role may what every earlier one may
        "phases": {
            "all": [p.value for p in Phase],
            "in_session": [p.value for p in Phase if p in IN_SESSION],
            "post_dose": [p.value for p in Phase if p in POST_DOSE],
            "words": {str(k): v for k, v in PHASE_WORDS.items()},
        },
        "channels": {
            ch.value: {
                "label": display_words(CHANNEL_LABELS.get(ch.value, ch.value)),
                "unit": CANONICAL_UNIT.get(ch.value, ""),
            }
            for ch in Channel
        },
        "timing": {
            "heartbeat_s": TICK_S,
            "link_stale_s": LINK_STALE_HEARTBEATS * TICK_S,
            "stream_interval_s": settings.stream_interval_s,
            "audio_pause_s": rules.audio_pause_s,
            "stale_after_s": tech.stale_after_s,
            "resp_stale_after_s": tech.resp_stale_after_s,
            "probe_off_medium_after_s": tech.probe_off_medium_after_s,
            "disconnected_after_s": tech.disconnected_after_s,
            "recovery_after_s": rules.recovery_after_s,
        },
    }
