"""Which pages to send, and when. Pure: no clock, no I/O; time arrives with events and ticks.

The core owns alarm state and escalation timing: it says when an alarm is active, escalated
(with its new tier), acknowledged or over. This policy only turns those transitions into
pages, plus the repeats while nobody has acknowledged:

- active (new episode) → page its tier at once (`first`);
- escalated → page the new tier (`escalation`); repeats then go to every tier paged so far;
  a latched alarm whose condition resolved escalates too: the core sends it `resolved` with
  the next tier (it is still unacknowledged), and that tier is paged the same way;
- unacknowledged → repeat every `repeat_s[priority]` (`repeat`); resolved-but-latched
  alarms still need an acknowledgement, so they keep repeating;
- acknowledged / cleared → silence for that condition;
- active again after an acknowledgement → a page only when the priority is worse than the
  acknowledged one (`worsened`): the core signals worsening, the policy does not judge it;
- low priority → dashboard only, never paged;
- `notify_failed` (paging itself failed) → one page to every tier, never repeated: its
  repeats would go through the channels that just failed, and it is on the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from monitor.core.controls import TechnicalAlarm
from monitor.core.models import AlarmEvent, AlarmState, Event, Priority

NOTIFY_FAILED = "notify_failed"
ALL_TIERS = (1, 2, 3)
_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2}


class PageKind(StrEnum):
    FIRST = "first"
    REPEAT = "repeat"
    ESCALATION = "escalation"
    WORSENED = "worsened"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Page:
    """One page to send: to the contacts of `tiers`, about `alarm` (its latest transition)."""

    t: float
    kind: PageKind
    tiers: tuple[int, ...]
    alarm: AlarmEvent

    @property
    def room(self) -> str:
        return self.alarm.room

    @property
    def condition(self) -> str:
        return self.alarm.condition

    @property
    def priority(self) -> Priority:
        return self.alarm.priority


@dataclass(frozen=True, slots=True)
class _Tracked:
    alarm: AlarmEvent  # latest transition
    tier: int  # highest tier paged so far
    acknowledged: bool
    next_repeat: float | None  # None: no repeats (acknowledged, or not repeated at all)


class EscalationPolicy:
    """Feed alarm events and ticks; get pages back."""

    def __init__(self, repeat_s: Mapping[str, float]) -> None:
        self._repeat_s = dict(repeat_s)
        self._tracked: dict[tuple[str, str], _Tracked] = {}

    def on_event(self, event: Event) -> list[Page]:
        if not isinstance(event, AlarmEvent):
            return []
        key = (event.room, event.condition)
        cur = self._tracked.get(key)
        state = event.state
        if state == AlarmState.CLEARED:
            self._tracked.pop(key, None)
            return []
        if state == AlarmState.ACKNOWLEDGED:
            if cur is not None:
                self._tracked[key] = replace(cur, alarm=event, acknowledged=True, next_repeat=None)
            return []
        if event.priority == Priority.LOW:
            return []  # dashboard only
        if event.condition == NOTIFY_FAILED:
            if cur is not None and not cur.acknowledged:
                return []
            self._tracked[key] = _Tracked(event, max(ALL_TIERS), False, None)
            return [Page(event.t, PageKind.FIRST, ALL_TIERS, event)]
        if state == AlarmState.ESCALATED:
            if cur is not None and cur.acknowledged:
                return []  # the core should not escalate an acknowledged alarm; stay quiet
            tier = max(event.tier, cur.tier if cur else 1)
            self._tracked[key] = _Tracked(event, tier, False, self._first_repeat(event, cur))
            return [Page(event.t, PageKind.ESCALATION, (event.tier,), event)]
        # active or resolved (latched, still unacknowledged)
        new_episode = cur is None or (
            event.since is not None
            and cur.alarm.since is not None
            and event.since != cur.alarm.since
        )
        if new_episode:
            self._tracked[key] = _Tracked(
                event, event.tier, False, self._next(event.t, event.priority)
            )
            if state == AlarmState.RESOLVED:
                return []  # never paged as active: nothing to call anyone for
            return [Page(event.t, PageKind.FIRST, tuple(range(1, event.tier + 1)), event)]
        assert cur is not None
        if cur.acknowledged:
            if state == AlarmState.ACTIVE and _RANK[event.priority] > _RANK[cur.alarm.priority]:
                tiers = tuple(range(1, cur.tier + 1))
                self._tracked[key] = _Tracked(
                    event, cur.tier, False, self._next(event.t, event.priority)
                )
                return [Page(event.t, PageKind.WORSENED, tiers, event)]
            self._tracked[key] = replace(cur, alarm=event)
            return []
        # Same episode, still unacknowledged: keep the newest values for the repeats.
        next_repeat = cur.next_repeat
        if event.priority != cur.alarm.priority:
            next_repeat = self._next(event.t, event.priority)
        self._tracked[key] = replace(
            cur, alarm=event, tier=max(cur.tier, event.tier), next_repeat=next_repeat
        )
        if _RANK[event.priority] > _RANK[cur.alarm.priority]:
            return [Page(event.t, PageKind.WORSENED, tuple(range(1, cur.tier + 1)), event)]
        if state == AlarmState.RESOLVED and event.tier > cur.tier:
            # A resolved, unacknowledged alarm reached its next tier's timeout.
            return [Page(event.t, PageKind.ESCALATION, (event.tier,), event)]
        return []

    def tick(self, now: float) -> list[Page]:
        pages: list[Page] = []
        for key, cur in list(self._tracked.items()):
            if cur.next_repeat is None or now < cur.next_repeat:
                continue
            interval = self._repeat_s.get(cur.alarm.priority.value)
            if interval is None:
                continue
            # Catch up without a burst after a stall: one repeat, the next one interval away.
            following = cur.next_repeat + interval
            if following <= now:
                following = now + interval
            self._tracked[key] = replace(cur, next_repeat=following)
            pages.append(Page(now, PageKind.REPEAT, tuple(range(1, cur.tier + 1)), cur.alarm))
        return pages

    def pending(self) -> dict[tuple[str, str], float | None]:
        """(room, condition) → next repeat time: what the policy is still chasing."""
        return {k: v.next_repeat for k, v in self._tracked.items() if not v.acknowledged}

    def wants(self, room: str, condition: str) -> bool:
        """True while the condition is still unacknowledged and not over: a page queued or
        being retried for it is still worth sending."""
        cur = self._tracked.get((room, condition))
        return cur is not None and not cur.acknowledged

    def _next(self, t: float, priority: Priority) -> float | None:
        interval = self._repeat_s.get(priority.value)
        return None if interval is None else t + interval

    def _first_repeat(self, event: AlarmEvent, cur: _Tracked | None) -> float | None:
        if cur is not None and cur.next_repeat is not None:
            return cur.next_repeat
        return self._next(event.t, event.priority)


def technical_control(t: float, state: AlarmState, reason: str, by: str) -> TechnicalAlarm:
    """The control that raises (or clears) `notify_failed` in a room's core, which owns it."""
    return TechnicalAlarm(t, NOTIFY_FAILED, state.value, Priority.HIGH, reason, by=by)
