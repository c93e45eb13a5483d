"""One room's pipeline: condition ▶ baseline ▶ rules ▶ alarms. Pure: no I/O, no clock.

Walking-skeleton scope: smoothed SpO2, a pre-dose SpO2/pulse-rate baseline and one rule
(`spo2_low`: smoothed SpO2 < 90 % for 15 s → medium alarm, cleared after 15 s at ≥ 91 %).
The full rule set and alarm engine grow behind this same interface.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from monitor.core.models import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    Channel,
    Control,
    DeviceState,
    Event,
    PhaseEvent,
    Priority,
    Reading,
)

SMOOTHING_WINDOW_S = 5.0  # median of the last few seconds rejects single-sample artefacts
BASELINE_WINDOW_S = 300.0  # clinical-defaults.md: last 5 min before the dose mark
BASELINE_MIN_SPAN_S = 120.0  # ... with at least 2 min of data
DEFAULT_ESCALATION_S = {"high": [60.0, 120.0], "medium": [120.0, 240.0]}
AUDIO_PAUSE_S = 120.0  # IEC 60601-1-8 practice: audio paused 2 min, a higher alarm breaks through


@dataclass(frozen=True, slots=True)
class Baseline:
    spo2: float | None
    pulse_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"spo2": self.spo2, "pulse_rate": self.pulse_rate}


class _Smoother:
    """Median over a trailing time window of usable samples."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def update(self, t: float, value: float) -> float:
        self._samples.append((t, value))
        # Half-open window (t - w, t]: at 1 Hz a 5-s window holds exactly 5 samples.
        while self._samples and self._samples[0][0] <= t - self._window_s:
            self._samples.popleft()
        return float(statistics.median(v for _, v in self._samples))


class RoomPipeline:
    """Feed readings, device states, controls and ticks; get events back."""

    def __init__(
        self,
        room: str,
        *,
        spo2_low_limit: float = 90.0,
        delay_s: float = 15.0,
        escalation_after_s: dict[str, list[float]] | None = None,
    ) -> None:
        self.room = room
        self.phase = "idle"
        self.dose_t: float | None = None
        self.baseline = Baseline(None, None)
        self.latest: dict[str, Reading] = {}
        self.smoothed: dict[str, float] = {}
        self._spo2_limit = spo2_low_limit
        self._delay_s = delay_s
        self._smoothers = {
            Channel.SPO2: _Smoother(SMOOTHING_WINDOW_S),
            Channel.PULSE_RATE: _Smoother(SMOOTHING_WINDOW_S),
        }
        self._history: dict[str, deque[tuple[float, float]]] = {
            Channel.SPO2: deque(),
            Channel.PULSE_RATE: deque(),
        }
        self._low_since: float | None = None
        self._ok_since: float | None = None
        self.active: dict[str, AlarmEvent] = {}
        self.devices: dict[str, DeviceState] = {}
        self.audio_paused_until: float | None = None
        self._escalation = escalation_after_s or DEFAULT_ESCALATION_S

    # -- inputs ---------------------------------------------------------------------------
    def feed(self, reading: Reading) -> list[Event]:
        self.latest[reading.channel] = reading
        smoother = self._smoothers.get(reading.channel)
        if smoother is None or not reading.usable or reading.value is None:
            return []
        self.smoothed[reading.channel] = smoother.update(reading.t, reading.value)
        hist = self._history[reading.channel]
        hist.append((reading.t, reading.value))
        while hist and hist[0][0] < reading.t - BASELINE_WINDOW_S:
            hist.popleft()
        if reading.channel == Channel.SPO2:
            return self._evaluate_spo2(reading.t, self.smoothed[reading.channel])
        return []

    def device_state(self, state: DeviceState) -> list[Event]:
        self.devices[state.source] = state
        return []

    def control(self, control: Control) -> list[Event]:
        if control.event == "session_start":
            return self._set_phase(control.t, "pre_dose")
        if control.event == "dose":
            self.dose_t = control.t
            self.baseline = Baseline(
                self._baseline_of(Channel.SPO2), self._baseline_of(Channel.PULSE_RATE)
            )
            return self._set_phase(control.t, "dosed")
        if control.event == "session_end":
            return self._set_phase(control.t, "ended")
        if control.event == "ack":
            current = self.active.get(str(control.args.get("condition")))
            if current is None or current.state == AlarmState.ACKNOWLEDGED:
                return []
            acked = replace(
                current,
                t=control.t,
                state=AlarmState.ACKNOWLEDGED,
                by=control.by,
                reason=f"acknowledged by {control.by or 'unknown'}",
            )
            self.active[current.condition] = acked
            return [acked]
        if control.event == "audio_pause":
            self.audio_paused_until = control.t + AUDIO_PAUSE_S
            return []
        return []

    def tick(self, now: float) -> list[Event]:
        """Escalate unacknowledged alarms whose tier timeout has passed."""
        out: list[Event] = []
        for condition, alarm in list(self.active.items()):
            if alarm.state not in (AlarmState.ACTIVE, AlarmState.ESCALATED) or alarm.since is None:
                continue
            timeouts = self._escalation.get(alarm.priority.value, [])
            if alarm.tier <= len(timeouts) and now - alarm.since >= timeouts[alarm.tier - 1]:
                escalated = replace(
                    alarm,
                    t=now,
                    state=AlarmState.ESCALATED,
                    tier=alarm.tier + 1,
                    reason=f"unacknowledged for {now - alarm.since:.0f} s: tier {alarm.tier + 1}",
                )
                self.active[condition] = escalated
                out.append(escalated)
        return out

    # -- internals ------------------------------------------------------------------------
    def _baseline_of(self, channel: str) -> float | None:
        hist = self._history[channel]
        if not hist or hist[-1][0] - hist[0][0] < BASELINE_MIN_SPAN_S:
            return None
        return float(statistics.median(v for _, v in hist))

    def _set_phase(self, t: float, phase: str) -> list[Event]:
        if phase == self.phase:
            return []
        self.phase = phase
        return [PhaseEvent(t=t, room=self.room, phase=phase)]

    def _evaluate_spo2(self, t: float, spo2: float) -> list[Event]:
        condition = "spo2_low"
        if spo2 < self._spo2_limit:
            self._ok_since = None
            if self._low_since is None:
                self._low_since = t
            if condition not in self.active and t - self._low_since >= self._delay_s:
                return [self._transition(t, condition, AlarmState.ACTIVE, spo2)]
        elif spo2 >= self._spo2_limit + 1:  # hysteresis: 1 point back inside the limit
            self._low_since = None
            if self._ok_since is None:
                self._ok_since = t
            if condition in self.active and t - self._ok_since >= self._delay_s:
                return [self._transition(t, condition, AlarmState.CLEARED, spo2)]
        return []

    def _transition(self, t: float, condition: str, state: AlarmState, value: float) -> AlarmEvent:
        event = AlarmEvent(
            t=t,
            room=self.room,
            condition=condition,
            kind=AlarmKind.PHYSIOLOGICAL,
            channel=Channel.SPO2,
            priority=Priority.MEDIUM,
            state=state,
            value=value,
            limit=self._spo2_limit,
            baseline=self.baseline.spo2,
            reason=f"SpO2 {value:g} % {'<' if state == AlarmState.ACTIVE else '≥'} "
            f"{self._spo2_limit:g} % for {self._delay_s:g} s",
            since=t if condition not in self.active else self.active[condition].since,
        )
        if state == AlarmState.CLEARED:
            self.active.pop(condition, None)
        else:
            self.active[condition] = event
        return event

    def snapshot(self) -> dict[str, Any]:
        """The room's live state for the API and the dashboard."""
        return {
            "room": self.room,
            "phase": self.phase,
            "dose_t": self.dose_t,
            "latest": {ch: r.to_dict() for ch, r in self.latest.items()},
            "smoothed": dict(self.smoothed),
            "baseline": self.baseline.to_dict(),
            "alarms": [a.to_dict() for a in self.active.values()],
            "audio_paused_until": self.audio_paused_until,
            "devices": {
                s: {"state": d.state.value, "t": d.t, "detail": d.detail}
                for s, d in self.devices.items()
            },
        }
