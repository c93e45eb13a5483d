"""Storage technical alarms (clinical-defaults.md): `journal_failed`, `storage_degraded`. Pure.

Fed with the outcome of each journal write and InfluxDB write and the time; returns the
alarm transitions to publish. They belong to no room: `room` is SYSTEM_ROOM.
"""

from __future__ import annotations

from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority

SYSTEM_ROOM = "system"
STORAGE_DEGRADED_AFTER_S = 60.0  # clinical-defaults.md: InfluxDB unreachable for 60 s


class StorageAlarms:
    def __init__(self, *, degraded_after_s: float = STORAGE_DEGRADED_AFTER_S) -> None:
        self.degraded_after_s = degraded_after_s
        self.influx_down_since: float | None = None
        self.active: dict[str, AlarmEvent] = {}

    def _event(
        self, t: float, condition: str, priority: Priority, state: AlarmState, reason: str
    ) -> AlarmEvent:
        since = t if state == AlarmState.ACTIVE else self.active[condition].since
        event = AlarmEvent(
            t=t,
            room=SYSTEM_ROOM,
            condition=condition,
            kind=AlarmKind.TECHNICAL,
            channel=None,
            priority=priority,
            state=state,
            reason=reason,
            since=since,
        )
        if state == AlarmState.CLEARED:
            self.active.pop(condition, None)
        else:
            self.active[condition] = event
        return event

    def journal(self, t: float, ok: bool, detail: str = "") -> list[AlarmEvent]:
        condition = "journal_failed"
        if not ok and condition not in self.active:
            return [
                self._event(
                    t,
                    condition,
                    Priority.HIGH,
                    AlarmState.ACTIVE,
                    f"journal write failed: {detail}",
                )
            ]
        if ok and condition in self.active:
            return [
                self._event(t, condition, Priority.HIGH, AlarmState.CLEARED, "journal writes again")
            ]
        return []

    def influx(self, t: float, ok: bool, detail: str = "") -> list[AlarmEvent]:
        condition = "storage_degraded"
        if ok:
            self.influx_down_since = None
            if condition in self.active:
                return [
                    self._event(
                        t, condition, Priority.LOW, AlarmState.CLEARED, "InfluxDB reachable again"
                    )
                ]
            return []
        if self.influx_down_since is None:
            self.influx_down_since = t
        down_s = t - self.influx_down_since
        if condition not in self.active and down_s >= self.degraded_after_s:
            return [
                self._event(
                    t,
                    condition,
                    Priority.LOW,
                    AlarmState.ACTIVE,
                    f"InfluxDB unreachable for {down_s:.0f} s (the journal holds everything): "
                    f"{detail}",
                )
            ]
        return []
