"""`notify_failed`: raised when no contact of a tier could be reached, cleared once one is.

It goes into the room's pipeline as a `TechnicalAlarm` control, so the core stays
the owner of alarm state; one per room, however many tiers fail, and shared with the HL7
alarm manager (alerts/host.py `AlarmReports`): it stays while that is still unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alerts.host import AlarmReports, PagingHost
from alerts.policy import NOTIFY_FAILED, Page, technical_control
from alerts.records import Record
from monitor.core.controls import Control
from monitor.core.models import AlarmState, Priority

log = logging.getLogger("alerts.notifier")  # the logger these lines always came from


class PagingFailures:
    def __init__(
        self,
        *,
        host: PagingHost,
        clock: Callable[[], float],
        record: Record,
        alarm_manager: Callable[[], AlarmReports | None],  # set after the notifier is built
    ) -> None:
        self.host = host
        self.clock = clock
        self.record = record
        self.alarm_manager = alarm_manager
        self.failed_tiers: dict[str, set[int]] = {}  # room → tiers nobody could be reached in

    def tier_unreachable(self, page: Page, tier: int, why: str) -> None:
        room = page.room
        failed = self.failed_tiers.setdefault(room, set())
        if tier in failed:
            return
        failed.add(tier)
        reason = f"tier {tier} could not be paged about {page.condition}: {why}"
        log.warning("room %s: %s", room, reason)  # the console must show paging is broken
        self.record(
            "notify_failed",
            room=room,
            condition=page.condition,
            tier=tier,
            priority=Priority.HIGH.value,
            detail=reason,
            result="raised",
        )
        if len(failed) > 1:
            return  # the room's notify_failed is already raised
        now = self.clock()
        self.host.inject(room, _technical_control(now, AlarmState.ACTIVE, reason))

    def tier_reached(self, room: str, tier: int) -> None:
        failed = self.failed_tiers.get(room)
        if not failed or tier not in failed:
            return
        failed.discard(tier)
        if failed:
            return
        del self.failed_tiers[room]
        now = self.clock()
        reason = f"tier {tier} reached again"
        manager = self.alarm_manager()
        if manager is not None and room in manager.failing_rooms:
            # One notify_failed per room: it stays while the alarm manager cannot be reached.
            log.warning(
                "room %s: phones reached again (%s); alarm manager still down", room, reason
            )
            return
        log.warning("room %s: paging works again (%s)", room, reason)
        self.record(
            "notify_failed",
            room=room,
            condition=NOTIFY_FAILED,
            tier=tier,
            detail=reason,
            result="cleared",
        )
        self.host.inject(room, _technical_control(now, AlarmState.CLEARED, reason))


def _technical_control(t: float, state: AlarmState, reason: str) -> Control:
    return technical_control(t, state, reason, "notifier")
