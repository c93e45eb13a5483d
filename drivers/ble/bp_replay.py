"""Which Blood Pressure Measurements (0x2A35) are the patient's BP now, and which are replayed
from the cuff's memory. Pure: every time is passed in; no clock, no I/O.

The problem. BPS has no "stored" bit (PLXS has one, decoded as Flag.STORED). Yet cuffs keep
measurements they could not deliver, and many send them on the next connection: TI's BLE
stack sample sensor (`blood_pressure.c`) queues every final measurement in a ring buffer
and, when a known central re-enables indications, sends the queue oldest first, one indication
per confirmation (back to back, milliseconds apart). It
does the same right after a new measurement, so the fresh result comes LAST, after any
backlog. Consumer apps report the same shapes: some cuffs send every record in memory on
each connect (Silvercrest SBM69, Medisana BU5xx, "the app imports the oldest"), some only
the latest one (Omron X4); A&D cuffs connect after a measurement and send all unsent records;
an ANT+ SDK user saw the latest measurement arrive last. Device clocks are often wrong
(Omron records dated 2017-01-01, local time with no zone, TI's sample hard-codes the year
2011), and several people share one cuff. Stamped with the receive time, such a record
could raise a false bp_severe, or enter the next patient's pre-dose baseline.

The rule (each case is a row of the table in tests/drivers/ble/test_bp_replay.py):

1. Burst. Records whose indications arrive less than `burst_gap_s` (2 s) apart form one
   burst (a replay is back to back; two real cuff cycles are 30 s or more apart). Every
   record is held until its burst ends (2 s of quiet), so a BP reading is delayed by 2 s
   and is never released as current only to be contradicted by the record after it.
   A cuff-pressure notification (0x2A36) also ends a burst: a new measurement has begun.
   A burst is held at most `max_hold_s` (10 s); a longer replay is judged in parts, each
   part still counting as "right after connecting" (rule 6) when the unbroken stream of
   records it belongs to began then.
2. The newest of a burst is its candidate; the others are stored. Newest = the latest
   device time when every record of the burst has a complete one (some cuffs replay newest
   first), else the last to arrive (the reference order).
3. A record identical to one already released from this device (values AND complete device
   time) is a re-send: stored, whatever else holds (a duplicate must not count as a second,
   confirming reading).
4. Inflation seen: Intermediate Cuff Pressure (0x2A36) arrived on this link within
   `inflation_window_s` before the burst, and none after it began: the cuff was measuring
   and has finished, so the candidate is its result and live; its device time then teaches
   the cuff's clock offset (device time − receive time). This is the strongest evidence,
   and the only one that teaches the clock: a clock learned from weaker evidence could
   vouch for a replay. A burst ended by more cuff pressure came while the cuff was still
   measuring (a replay on connect, mid-cycle): it is not that measurement's result.
5. Clock. A candidate with a complete device time is compared with its receive time using
   the learned offset, or, before one is learned, the host's local UTC offset (cuffs show
   local wall-clock time and have no zone): within `clock_tolerance_s` (10 min) it is live;
   further away it is stored when the clock is learned or the record came in the connect
   window (below). An unlearned clock far off outside that window proves little (unset
   clocks are common) and does not override rule 7.
6. Connect window. A candidate whose stream of records began within `connect_window_s` of
   the link coming up, with no inflation seen and no agreeing clock, is stored: it is exactly what
   a replay looks like, and its age is unknown. The cost of this error is one BP to repeat
   (the reading is still recorded and shown, flagged `stored`, and the BP schedule still
   asks for one); the cost of the opposite error is a false alarm or a wrong baseline.
7. Otherwise (an established link, no evidence against it) the candidate is live: a
   connected cuff sends each measurement as it completes.

Stored records are released too (the driver emits them with Flag.STORED and their device
time): the core records them and never lets them alarm, enter a baseline or satisfy the BP
schedule.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from drivers.ble.bps import BloodPressureMeasurement
from drivers.ieee11073 import DateTime

BURST_GAP_S = 2.0
CONNECT_WINDOW_S = 10.0
MAX_HOLD_S = 10.0
INFLATION_WINDOW_S = 60.0
CLOCK_TOLERANCE_S = 600.0
REMEMBERED = 256  # released records kept to recognise re-sends (a cuff's memory is ~100-200)

P = TypeVar("P")


def device_seconds(ts: DateTime | None) -> float | None:
    """The device's wall-clock time as seconds, read as if it were UTC (the offset to the
    true time is learned or assumed separately); None unless year to minute are known and
    form a real date."""
    if ts is None or None in (ts.year, ts.month, ts.day, ts.hours, ts.minutes):
        return None
    try:
        wall = datetime(
            ts.year,  # type: ignore[arg-type]
            ts.month,  # type: ignore[arg-type]
            ts.day,  # type: ignore[arg-type]
            ts.hours,  # type: ignore[arg-type]
            ts.minutes,  # type: ignore[arg-type]
            ts.seconds or 0,
            tzinfo=UTC,
        )
    except ValueError:  # 31 February and the like: no time at all
        return None
    return wall.timestamp()


@dataclass(frozen=True, slots=True)
class Verdict(Generic[P]):
    """One released record: `stored` True when it is not the patient's BP now, and why."""

    record: BloodPressureMeasurement
    t: float  # receive time
    payload: P  # what the caller attached (the driver: the decoded Readings)
    stored: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Held(Generic[P]):
    record: BloodPressureMeasurement
    t: float
    payload: P
    stream_t: float  # receive time of the first record of its unbroken stream


class BpReplayClassifier(Generic[P]):
    """The per-device state machine of the module docstring.

    Calls, in receive order: `link_up(t)` when a connection is made (before subscribing),
    `cuff_pressure(t)` for each 0x2A36 and `measurement(record, t, payload)` for each
    decoded 0x2A35 (both return the verdicts of a burst they end), and `flush()` when `due`
    has passed or the link dropped (returns the held burst's verdicts).
    """

    def __init__(
        self,
        *,
        utc_offset: Callable[[float], float] = lambda _t: 0.0,
        burst_gap_s: float = BURST_GAP_S,
        max_hold_s: float = MAX_HOLD_S,
        connect_window_s: float = CONNECT_WINDOW_S,
        inflation_window_s: float = INFLATION_WINDOW_S,
        clock_tolerance_s: float = CLOCK_TOLERANCE_S,
    ) -> None:
        self.utc_offset = utc_offset  # the host's local UTC offset at a POSIX time
        self.burst_gap_s = burst_gap_s
        self.max_hold_s = max_hold_s
        self.connect_window_s = connect_window_s
        self.inflation_window_s = inflation_window_s
        self.clock_tolerance_s = clock_tolerance_s
        self.clock_offset: float | None = None  # device wall time − receive time, learned
        self.stored: Counter[str] = Counter()  # stored records by reason
        self._link_t: float | None = None
        self._inflation_t: float | None = None
        self._held: list[_Held[P]] = []
        self._last_t: float | None = None  # the last record's receive time, in this stream
        self._stream_t = 0.0
        self._released: deque[BloodPressureMeasurement] = deque(maxlen=REMEMBERED)

    # -- inputs -----------------------------------------------------------------------------
    def link_up(self, t: float) -> None:
        self._link_t = t
        self._inflation_t = None  # inflation seen on an earlier link says nothing now
        self._last_t = None

    def cuff_pressure(self, t: float) -> list[Verdict[P]]:
        # The records held before it are a finished burst; if their burst had not yet ended
        # (the caller's timer was not late), they came while the cuff was measuring.
        due = self.due
        out = self._release(still_measuring=due is not None and t < due)
        self._inflation_t = t
        self._last_t = None
        return out

    def measurement(
        self, record: BloodPressureMeasurement, t: float, payload: P
    ) -> list[Verdict[P]]:
        due = self.due
        # The caller's timer was late: the gap or the hold limit already ended the burst.
        out = self.flush() if due is not None and t >= due else []
        if self._last_t is None or t - self._last_t >= self.burst_gap_s:
            self._stream_t = t
        self._last_t = t
        self._held.append(_Held(record, t, payload, self._stream_t))
        return out

    @property
    def due(self) -> float | None:
        """Receive time at which the held burst is over: `burst_gap_s` after its last record
        or `max_hold_s` after its first (None when nothing is held)."""
        if not self._held:
            return None
        return min(self._held[-1].t + self.burst_gap_s, self._held[0].t + self.max_hold_s)

    def flush(self) -> list[Verdict[P]]:
        """Classify and release the held burst, in arrival order."""
        return self._release(still_measuring=False)

    def _release(self, still_measuring: bool) -> list[Verdict[P]]:
        burst, self._held = self._held, []
        if not burst:
            return []
        candidate = self._newest(burst)
        verdicts: list[Verdict[P]] = []
        for held in burst:
            if held is candidate:
                stored, reason = self._judge(held, burst[0], still_measuring)
            else:
                stored, reason = True, "an older record of a burst (replayed from memory)"
            if self._seen(held.record):
                stored, reason = True, "the same record again (re-sent)"
            verdicts.append(Verdict(held.record, held.t, held.payload, stored, reason))
        for v in verdicts:
            if device_seconds(v.record.timestamp) is not None:
                self._released.append(v.record)
            if v.stored:
                self.stored[v.reason] += 1
        if self._inflation_t is not None and self._inflation_t <= burst[0].t:
            self._inflation_t = None  # one inflation vouches for one burst
        return verdicts

    # -- the rule ---------------------------------------------------------------------------
    @staticmethod
    def _newest(burst: list[_Held[P]]) -> _Held[P]:
        times = [device_seconds(h.record.timestamp) for h in burst]
        if None in times:
            return burst[-1]
        # Of equal device times, the last to arrive.
        return burst[max(range(len(burst)), key=lambda i: (times[i], i))]

    def _judge(self, held: _Held[P], first: _Held[P], still_measuring: bool) -> tuple[bool, str]:
        device_t = device_seconds(held.record.timestamp)
        inflation = self._inflation_t
        if (
            not still_measuring
            and inflation is not None
            and 0 <= first.t - inflation <= self.inflation_window_s
        ):
            if device_t is not None:
                self.clock_offset = device_t - held.t
            return False, "cuff inflation seen on this link"
        in_window = (
            self._link_t is not None and first.stream_t - self._link_t <= self.connect_window_s
        )
        if device_t is not None:
            learned = self.clock_offset is not None
            offset = self.clock_offset if learned else self.utc_offset(held.t)
            assert offset is not None
            off_by = device_t - offset - held.t
            if abs(off_by) <= self.clock_tolerance_s:
                return False, "device time agrees with the receive time"
            if learned or in_window:
                return True, f"device time {off_by / 60:+.0f} min from the receive time"
        if in_window:
            return True, "right after connecting, with no evidence it was measured now"
        return False, "sent on an established link"

    def _seen(self, record: BloodPressureMeasurement) -> bool:
        return device_seconds(record.timestamp) is not None and record in self._released
