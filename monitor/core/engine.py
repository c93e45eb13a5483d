"""The alarm engine: one state machine per alarm condition, in IEC 60601-1-8 vocabulary.

States (`AlarmState`) and the transitions this engine makes, each recorded with a reason:

    (none) ──condition present──▶ active ──unacknowledged past a tier timeout──▶ escalated
    active / escalated ──ack──▶ acknowledged ──condition gone──▶ cleared
    active / escalated ──condition gone, low/medium──▶ cleared
    active / escalated ──condition gone, high (latching)──▶ resolved ──ack──▶ cleared
    resolved ──unacknowledged past a tier timeout──▶ resolved (next tier)
    resolved ──condition back──▶ active
    acknowledged ──priority worsens (e.g. probe_off low → medium)──▶ active (re-notified)

- High-priority alarms latch: a high alarm whose condition went away stays `resolved` until a
  person acknowledges it, so nobody misses that it happened.
- Acknowledgement is per condition and stops repeats and escalation for that condition; it
  re-notifies only if the condition worsens in priority.
- Escalation: an alarm unacknowledged for `escalation_after_s[priority][tier-1]` seconds
  since it became active goes to the next tier (the notifier pages that tier). A latched
  alarm escalates while `resolved` too: the condition going away is not an acknowledgement,
  nobody has yet taken in that the patient, e.g., desaturated below the severe limit. Its
  escalation transition keeps the state `resolved` (with the next tier) so that every
  consumer still sees that the condition is over; only an acknowledgement (which clears
  it) or the session end (`clear_all`) stops it.
- One unacknowledged alarm, one clock: the escalation timer runs from the onset of the
  unacknowledged alarm (`since`), and a re-occurrence (resolved → active) neither restarts
  it nor resets the tier. IEC 60601-1-8 treats a latched alarm as one alarm condition until
  the operator deactivates it; restarting would hold tier 2/3 back for as long as the patient
  keeps dipping in and out of the limit. After an acknowledgement has cleared it, the next
  occurrence is a new alarm with its own onset.
- Audio pause lasts `audio_pause_s`; a new alarm of higher priority than what was sounding
  when the pause began (medium when nothing was) breaks through and ends it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitor.core.models import (
    ENDED_ACKNOWLEDGED,
    ENDED_RESOLVED,
    ENDED_SESSION_END,
    AlarmEvent,
    AlarmKind,
    AlarmState,
    Priority,
)

RANK: dict[str, int] = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}
DEFAULT_ESCALATION_S: dict[str, list[float]] = {"high": [60.0, 120.0], "medium": [120.0, 240.0]}
_UNACKED = (AlarmState.ACTIVE, AlarmState.ESCALATED)
#: States that still escalate: unacknowledged, including latched after the condition went.
_ESCALATING = (AlarmState.ACTIVE, AlarmState.ESCALATED, AlarmState.RESOLVED)


class AlarmEngine:
    """Per-room alarm state: current alarms, history of every transition, audio pause."""

    def __init__(
        self,
        room: str,
        *,
        escalation_after_s: dict[str, list[float]] | None = None,
        audio_pause_s: float = 120.0,
    ) -> None:
        self.room = room
        self.escalation_after_s = dict(
            DEFAULT_ESCALATION_S if escalation_after_s is None else escalation_after_s
        )
        self.audio_pause_s = audio_pause_s
        self.current: dict[str, AlarmEvent] = {}  # the last transition of each live alarm
        self.present: dict[str, bool] = {}  # is the condition itself present right now
        self.history: list[AlarmEvent] = []
        self.notes: list[dict[str, Any]] = []  # audio pause and break-through, for the audit
        self.audio_paused_until: float | None = None
        self.audio_pause_rank = 0

    # -- condition changes ------------------------------------------------------------------
    def raise_(
        self,
        t: float,
        condition: str,
        *,
        kind: AlarmKind,
        channel: str | None,
        priority: Priority,
        value: float | None = None,
        limit: float | None = None,
        baseline: float | None = None,
        reason: str = "",
        lower_is_worse: bool | None = None,
    ) -> list[AlarmEvent]:
        """The condition is present (now or still). Returns the transitions this causes.
        `lower_is_worse` (a rule's direction) lets the alarm keep its episode's worst value;
        None: no worst value is kept (technical alarms)."""
        self.present[condition] = True
        cur = self.current.get(condition)
        worst = value if lower_is_worse is not None else None
        if cur is not None and cur.channel != channel:
            worst = cur.worst  # e.g. bp_severe on DBP after SBP: worst values do not mix
        elif cur is not None and cur.worst is not None:
            worst = _worse(cur.worst, value, lower_is_worse)
        if cur is None:
            event = AlarmEvent(
                t=t,
                room=self.room,
                condition=condition,
                kind=kind,
                channel=channel,
                priority=priority,
                state=AlarmState.ACTIVE,
                value=value,
                limit=limit,
                baseline=baseline,
                reason=reason,
                since=t,
                worst=worst,
            )
            return self._record(event, new_rank=RANK[priority])
        if RANK[priority] > RANK[cur.priority]:
            # Worse: re-notify from tier 1 even if acknowledged; the escalation clock restarts.
            event = replace(
                cur,
                t=t,
                priority=priority,
                state=AlarmState.ACTIVE,
                value=value,
                limit=limit,
                baseline=baseline,
                reason=f"worsened to {priority.value}: {reason}",
                by=None,
                acknowledged_by=None,
                acknowledged_t=None,
                tier=1,
                since=t,
                worst=worst,
            )
            return self._record(event, new_rank=RANK[priority])
        if cur.state == AlarmState.RESOLVED:
            # The same unacknowledged alarm again: `since` and `tier` stay (one clock from
            # the onset, see the module docstring), so no tier is paged twice or late.
            event = replace(
                cur,
                t=t,
                state=AlarmState.ACTIVE,
                value=value,
                limit=limit,
                reason=f"present again before acknowledgement: {reason}",
                by=None,
                worst=worst,
            )
            return self._record(event)
        if worst != cur.worst:
            # No transition, nothing published: the next one carries the new worst value.
            self.current[condition] = replace(cur, worst=worst)
        return []

    def lower(
        self, t: float, condition: str, *, value: float | None = None, reason: str = ""
    ) -> list[AlarmEvent]:
        """The condition is gone. Latched (high, unacknowledged) alarms become resolved."""
        if not self.present.get(condition):
            return []
        self.present[condition] = False
        cur = self.current[condition]
        if cur.state in _UNACKED and cur.priority == Priority.HIGH:
            return self._record(
                replace(cur, t=t, state=AlarmState.RESOLVED, value=value, reason=reason, by=None)
            )
        if cur.state == AlarmState.RESOLVED:
            return []
        # Ended by itself: nobody cleared it (who acknowledged it earlier stays in its field).
        ended = replace(
            cur,
            t=t,
            state=AlarmState.CLEARED,
            value=value,
            reason=reason,
            by=None,
            ended=ENDED_RESOLVED,
        )
        return self._record(ended)

    # -- people -------------------------------------------------------------------------------
    def acknowledge(self, t: float, condition: str, by: str | None) -> list[AlarmEvent]:
        cur = self.current.get(condition)
        who = by or "unknown"
        if cur is None or cur.state == AlarmState.ACKNOWLEDGED:
            return []
        if cur.state == AlarmState.RESOLVED:
            return self._record(
                replace(
                    cur,
                    t=t,
                    state=AlarmState.CLEARED,
                    by=by,
                    acknowledged_by=by,
                    acknowledged_t=t,
                    ended=ENDED_ACKNOWLEDGED,
                    reason=f"acknowledged by {who} after the condition resolved",
                )
            )
        return self._record(
            replace(
                cur,
                t=t,
                state=AlarmState.ACKNOWLEDGED,
                by=by,
                acknowledged_by=by,
                acknowledged_t=t,
                reason=f"acknowledged by {who}",
            )
        )

    def audio_pause(self, t: float, by: str | None) -> None:
        sounding = [RANK[a.priority] for a in self.current.values() if a.state in _UNACKED]
        self.audio_paused_until = t + self.audio_pause_s
        self.audio_pause_rank = max(sounding, default=RANK[Priority.MEDIUM])
        self.notes.append({"t": t, "note": "audio paused", "by": by})

    def clear_all(self, t: float, reason: str, by: str | None) -> list[AlarmEvent]:
        """End every alarm (the session ended): cleared with the reason and who."""
        out = []
        for cur in list(self.current.values()):
            self.present[cur.condition] = False
            out += self._record(
                replace(
                    cur,
                    t=t,
                    state=AlarmState.CLEARED,
                    by=by,
                    reason=reason,
                    ended=ENDED_SESSION_END,
                )
            )
        self.audio_paused_until = None
        return out

    # -- time -------------------------------------------------------------------------------
    def tick(self, now: float) -> list[AlarmEvent]:
        """Escalate unacknowledged alarms whose tier timeout has passed; end audio pause."""
        if self.audio_paused_until is not None and now >= self.audio_paused_until:
            self.audio_paused_until = None
        out: list[AlarmEvent] = []
        if not self.current:
            return out
        for alarm in list(self.current.values()):
            if alarm.state not in _ESCALATING or alarm.since is None:
                continue
            timeouts = self.escalation_after_s.get(alarm.priority.value, [])
            if alarm.tier <= len(timeouts) and now - alarm.since >= timeouts[alarm.tier - 1]:
                latched = alarm.state == AlarmState.RESOLVED
                # A resolved alarm stays resolved at the next tier: the page must not read
                # as if the condition were still present.
                note = " (condition resolved, alarm latched)" if latched else ""
                out += self._record(
                    replace(
                        alarm,
                        t=now,
                        state=AlarmState.RESOLVED if latched else AlarmState.ESCALATED,
                        tier=alarm.tier + 1,
                        by=None,
                        reason=f"unacknowledged for {now - alarm.since:.0f} s{note}: "
                        f"tier {alarm.tier + 1}",
                    )
                )
        return out

    # -- internals ------------------------------------------------------------------------------
    def _record(self, event: AlarmEvent, new_rank: int = 0) -> list[AlarmEvent]:
        if event.state == AlarmState.CLEARED:
            self.current.pop(event.condition, None)
            self.present.pop(event.condition, None)
        else:
            self.current[event.condition] = event
        self.history.append(event)
        if new_rank and self.audio_paused_until is not None and new_rank > self.audio_pause_rank:
            self.audio_paused_until = None
            self.notes.append(
                {"t": event.t, "note": f"audio pause broken by {event.condition}", "by": None}
            )
        return [event]


def _worse(a: float, b: float | None, lower_is_worse: bool | None) -> float:
    if b is None or lower_is_worse is None:
        return a
    return min(a, b) if lower_is_worse else max(a, b)
