"""`hl7_out_down`: the PCD-01 receiver unreachable for a while. Pure, as StorageAlarms."""

from __future__ import annotations

from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority
from monitor.store.health import SYSTEM_ROOM

HL7_OUT_DOWN = "hl7_out_down"


class LinkAlarm:
    def __init__(self, *, down_after_s: float) -> None:
        self.down_after_s = down_after_s
        self.down_since: float | None = None
        self.raised_at: float | None = None

    def update(self, t: float, ok: bool, detail: str = "") -> list[AlarmEvent]:
        """Feed each attempt's outcome; the alarm transitions to publish."""
        if ok:
            self.down_since = None
            if self.raised_at is None:
                return []
            since, self.raised_at = self.raised_at, None
            return [self._event(t, AlarmState.CLEARED, "HL7 receiver reachable again", since)]
        if self.down_since is None:
            self.down_since = t
        down_s = t - self.down_since
        if self.raised_at is not None or down_s < self.down_after_s:
            return []
        self.raised_at = t
        reason = (
            f"HL7 receiver unreachable for {down_s:.0f} s (readings wait in the journal and "
            f"are sent when it is back): {detail}"
        )
        return [self._event(t, AlarmState.ACTIVE, reason, t)]

    @staticmethod
    def _event(t: float, state: AlarmState, reason: str, since: float) -> AlarmEvent:
        return AlarmEvent(
            t=t,
            room=SYSTEM_ROOM,
            condition=HL7_OUT_DOWN,
            kind=AlarmKind.TECHNICAL,
            channel=None,
            priority=Priority.LOW,
            state=state,
            reason=reason,
            since=since,
        )
