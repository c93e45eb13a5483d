"""The values that cross layers: readings in, events out. Frozen, canonical units.

Drivers produce `Reading`s and `DeviceState`s; room pipelines turn them into `AlarmEvent`s and
`PhaseEvent`s; storage, the API and the notifier consume those. Times are POSIX seconds
(float) taken from the reading, never from a clock inside the core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import msgspec


class Channel(StrEnum):
    """Measured quantities, named as `vigil decode` and recordings name them."""

    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    PERFUSION_INDEX = "perfusion_index"
    SBP = "sbp"
    DBP = "dbp"
    MAP = "map"
    CUFF_PRESSURE = "cuff_pressure"
    HEART_RATE = "heart_rate"
    RESP_RATE = "resp_rate"  # breaths/min, from a capnograph or a multiparameter monitor
    ETCO2 = "etco2"  # end-tidal CO2, mmHg
    APNEA = "apnea"  # the source's own no-breath detection: 1 apnea, 0 breathing


#: Canonical unit of each channel (kPa from a cuff is converted; the original unit is kept).
CANONICAL_UNIT: dict[str, str] = {
    Channel.SPO2: "%",
    Channel.PULSE_RATE: "bpm",
    Channel.PERFUSION_INDEX: "%",
    Channel.SBP: "mmHg",
    Channel.DBP: "mmHg",
    Channel.MAP: "mmHg",
    Channel.CUFF_PRESSURE: "mmHg",
    Channel.HEART_RATE: "bpm",
    Channel.RESP_RATE: "/min",
    Channel.ETCO2: "mmHg",
    Channel.APNEA: "",
}
# Keyed by plain strings: looked up with every reading's channel, and a dict whose keys are
# all exact str is the fast kind (a lookup costs half).
CANONICAL_UNIT = {str(channel): unit for channel, unit in CANONICAL_UNIT.items()}


class Flag(StrEnum):
    """Device status flags, in one vocabulary for every protocol."""

    PROBE_OFF = "probe_off"  # no sensor, sensor off the patient, cable unplugged
    SEARCHING = "searching"  # pulse search: the device has no lock yet
    LOW_PERFUSION = "low_perfusion"
    LOW_SIGNAL_QUALITY = "low_signal_quality"
    MOTION = "motion"  # motion artefact / interference
    INTERFERENCE = "interference"
    SENSOR_FAULT = "sensor_fault"  # defective / unrecognised sensor or cable
    # The capnograph's sampling line is blocked (occluded, water trap full, sampling error):
    # its CO2-derived values are not the patient's (`co2_line_blocked`).
    LINE_BLOCKED = "line_blocked"
    IRREGULAR_PULSE = "irregular_pulse"
    CUFF_ERROR = "cuff_error"  # the cuff reports a failed measurement
    CUFF_LOOSE = "cuff_loose"
    IMPROPER_POSITION = "improper_position"
    QUESTIONABLE = "questionable"
    INVALID = "invalid"  # the device says the value is not valid
    IMPLAUSIBLE = "implausible"  # outside what a patient can produce (core/plausibility.py)
    GARBLED = "garbled"  # the byte stream is noise that happens to frame (drivers/quality.py)
    UNVERIFIED = "unverified"  # a new stream not yet clean long enough to trust
    DEMO = "demo"  # demonstration / test data: never a physiological alarm
    STORED = "stored"  # replayed from the device's memory, not measured now: record only
    DEVICE_ALARM = "device_alarm"  # the bedside device itself is alarming
    ALARM_SILENCED = "alarm_silenced"  # the bedside device's own alarm is silenced
    LOW_BATTERY = "low_battery"


#: Flags that make a continuous sample unusable for smoothing, baseline and physiological rules.
EXCLUDING_FLAGS: frozenset[str] = frozenset(
    {
        Flag.PROBE_OFF,
        Flag.SEARCHING,
        Flag.LOW_PERFUSION,
        Flag.LOW_SIGNAL_QUALITY,
        Flag.MOTION,
        Flag.INTERFERENCE,
        Flag.SENSOR_FAULT,
        Flag.LINE_BLOCKED,
        Flag.CUFF_ERROR,
        Flag.INVALID,
        Flag.IMPLAUSIBLE,
        Flag.GARBLED,
        Flag.UNVERIFIED,
        Flag.QUESTIONABLE,
        Flag.DEMO,
        Flag.STORED,
    }
)


class Reading(msgspec.Struct, frozen=True, gc=False):
    """One value of one channel from one device.

    `value` is None when the device says there is no valid value; `status` then says why.
    `t` is the receive time; `device_time` is the device's own (unsynchronised) clock, kept
    as metadata only.

    Frozen like the other values here, but a msgspec Struct rather than a dataclass: one is
    built for every device frame, live and in replay, and a frozen dataclass sets each field
    through `object.__setattr__`; a Struct is built in C, at a third of the cost (a
    `vigil replay` spent a tenth of its time here). `with_status` makes a changed copy.
    Not tracked by the garbage collector: its fields are plain
    values, so it can be in no reference cycle.
    """

    t: float
    channel: str
    value: float | None
    unit: str
    status: frozenset[str] = frozenset()
    source: str = ""
    device_time: str | None = None
    original_unit: str | None = None

    @property
    def usable(self) -> bool:
        """True when the value may feed smoothing, baselines and physiological rules."""
        return self.value is not None and not (self.status & EXCLUDING_FLAGS)

    def with_status(self, status: frozenset[str]) -> Reading:
        """The same reading with other status flags (a driver marks a value it holds back)."""
        return msgspec.structs.replace(self, status=status)

    def to_dict(self) -> dict[str, Any]:
        # Spelled out, not dataclasses.asdict: this runs for every reading (the stream, the
        # journal, every snapshot), and asdict's deep copy of plain values was a third of
        # the event loop's time at 300 rooms.
        return {
            "t": self.t,
            "channel": self.channel,
            "value": self.value,
            "unit": self.unit,
            "status": sorted(self.status),
            "source": self.source,
            "device_time": self.device_time,
            "original_unit": self.original_unit,
        }


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    GARBLED = "garbled"  # connected, but the bytes are noise: wrong baud rate, bad cable
    # The driver itself stopped with an unexpected error (a bug, not the device): the
    # supervisor restarts it; until it has recovered the device is `failed`.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A transport's connection state changed (port opened/closed, BLE connect/disconnect)."""

    t: float
    source: str
    state: LinkState
    detail: str = ""


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlarmKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


class AlarmState(StrEnum):
    """Transitions of one alarm condition.

    active: the condition is present (after its delay) and not acknowledged.
    acknowledged: a person acknowledged it; repeats and escalation stop.
    escalated: still unacknowledged after its timeout; the next tier is paged.
    resolved: the condition is gone but the alarm latched (high priority) until acknowledged.
    cleared: the alarm is over; nothing remains to do.
    """

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLEARED = "cleared"


# How an alarm ended (AlarmEvent.ended): its condition went away by itself; a latched alarm
# whose condition had gone was acknowledged; the session ended with the alarm still on.
ENDED_RESOLVED = "resolved"
ENDED_ACKNOWLEDGED = "acknowledged"
ENDED_SESSION_END = "session_end"
ENDINGS = (ENDED_RESOLVED, ENDED_ACKNOWLEDGED, ENDED_SESSION_END)


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """A transition of one alarm condition in one room."""

    t: float
    room: str
    condition: str
    kind: AlarmKind
    channel: str | None
    priority: Priority
    state: AlarmState
    value: float | None = None
    limit: float | None = None
    baseline: float | None = None
    reason: str = ""
    # Who made *this* transition (an acknowledgement, a session end); None when it happened by
    # itself (onset, escalation, the condition going away). Issue #13: "cleared — by X" for an
    # alarm that went away by itself after X acknowledged it misled the audit.
    by: str | None = None
    tier: int = 1  # escalation tier to page: 1 room nurse, 2 charge nurse, 3 physician
    since: float | None = None  # when this episode of the condition became active
    # The value furthest beyond the limit so far in this episode (transitions only carry the
    # value at that moment; pages and reports about a resolved alarm need the nadir/peak).
    worst: float | None = None
    # Who acknowledged this episode and when, kept on its later transitions (reset when it
    # worsens: the worse alarm needs its own acknowledgement).
    acknowledged_by: str | None = None
    acknowledged_t: float | None = None
    # How the alarm ended, on `cleared` transitions only (see ENDINGS).
    ended: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "alarm"}
        d.update(asdict(self))
        return d


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """The room's session moved to another phase (idle, pre_dose, dosed, ...)."""

    t: float
    room: str
    phase: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "phase"}
        d.update(asdict(self))
        return d


Event = AlarmEvent | PhaseEvent
