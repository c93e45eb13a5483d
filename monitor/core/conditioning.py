"""Signal conditioning: a time-window median for continuous channels, plausibility limits,
and the assembly of one blood-pressure reading per cuff cycle.

SpO2 and pulse rate arrive about once a second and carry artefacts, so they are smoothed by
the median of the last few seconds (a single bad sample cannot move a median of five).
NIBP is episodic: SBP, DBP, MAP (and the cuff's pulse rate) of one cycle arrive together and
become one `BpReading`; they are never smoothed across cycles.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from dataclasses import dataclass

from monitor.core import plausibility
from monitor.core.models import Flag

#: Values outside these ranges cannot be physiological: rejected, counted, never smoothed
#: (one table for decoders and core; NIBP cycles use the SBP range for all three pressures,
#: clinical-defaults.md's "outside 40–300 mmHg").
PLAUSIBLE = plausibility.PLAUSIBLE

#: Cuff flags that make a cycle a failed measurement (a technical event, not a reading).
CUFF_FAILURE_FLAGS: frozenset[str] = frozenset(
    {Flag.CUFF_ERROR, Flag.CUFF_LOOSE, Flag.IMPROPER_POSITION, Flag.INVALID, Flag.SENSOR_FAULT}
)


class TimeRollingMedian:
    """Median of the values seen in the trailing time window (t − window_s, t].

    Irregular sampling is fine: the window is in seconds, not samples (river's
    `TimeRolling` shape: `update` returns self, `get` returns the statistic).

    >>> m = TimeRollingMedian(5.0)
    >>> m.update(0.0, 97).update(1.0, 80).update(2.0, 96).get()
    96
    >>> m.update(6.5, 90).get()  # samples at t ≤ 1.5 have left the window
    93.0
    """

    __slots__ = ("window_s", "_times", "_values", "_sorted")

    def __init__(self, window_s: float) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s!r}")
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._values: deque[float] = deque()
        self._sorted: list[float] = []

    def update(self, t: float, x: float) -> TimeRollingMedian:
        self.push(t, x)
        return self

    def push(self, t: float, x: float) -> float:
        """`update(t, x).get()` in one call: the pipeline does this for every reading."""
        times, values, ordered = self._times, self._values, self._sorted
        horizon = t - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
            # The window holds a few samples: one C scan beats bisecting and deleting.
            ordered.remove(values.popleft())
        times.append(t)
        values.append(x)
        insort(ordered, x)
        n = len(ordered)
        mid = n >> 1
        if n & 1:
            return ordered[mid]
        return (ordered[mid - 1] + ordered[mid]) / 2.0

    def get(self) -> float | None:
        ordered = self._sorted
        n = len(ordered)
        if n == 0:
            return None
        mid = n >> 1
        if n & 1:
            return ordered[mid]
        return (ordered[mid - 1] + ordered[mid]) / 2.0

    def __len__(self) -> int:
        return len(self._times)


@dataclass(frozen=True, slots=True)
class BpReading:
    """One cuff cycle. MAP is computed (DBP + (SBP − DBP) / 3) when the cuff gives none."""

    t: float
    sbp: float
    dbp: float
    map: float
    pulse_rate: float | None = None
    source: str = ""
    map_measured: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "t": self.t,
            "sbp": self.sbp,
            "dbp": self.dbp,
            "map": self.map,
            "pulse_rate": self.pulse_rate,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class CuffFailure:
    """A cuff cycle that is not a reading: an error flag or an implausible value."""

    t: float
    reason: str
    source: str = ""


class BpAssembler:
    """Groups the channels of one cuff cycle (same source, within `group_s`) into one result.

    `add` returns a finished cycle as soon as SBP, DBP and MAP are all in; `flush(now)` ends
    a cycle whose MAP never came once `group_s` has passed.
    """

    __slots__ = ("group_s", "_t", "_source", "_values", "_flags")

    def __init__(self, group_s: float = 1.0) -> None:
        self.group_s = group_s
        self._t: float | None = None
        self._source = ""
        self._values: dict[str, float | None] = {}
        self._flags: set[str] = set()

    @property
    def pending(self) -> bool:
        return self._t is not None

    def add(
        self, t: float, channel: str, value: float | None, status: frozenset[str], source: str
    ) -> list[BpReading | CuffFailure]:
        out: list[BpReading | CuffFailure] = []
        if self._t is not None and (
            t - self._t > self.group_s or source != self._source or channel in self._values
        ):
            out += self._finish()
        if self._t is None:
            self._t, self._source = t, source
        self._values[channel] = value
        self._flags |= status
        if all(c in self._values for c in ("sbp", "dbp", "map")):
            out += self._finish()
        return out

    def flush(self, now: float) -> list[BpReading | CuffFailure]:
        if self._t is not None and now - self._t > self.group_s:
            return self._finish()
        return []

    def _finish(self) -> list[BpReading | CuffFailure]:
        t, source, values, flags = self._t, self._source, self._values, self._flags
        assert t is not None
        self._t, self._source, self._values, self._flags = None, "", {}, set()
        failed = sorted(flags & CUFF_FAILURE_FLAGS)
        if failed:
            return [CuffFailure(t, f"cuff reports {', '.join(failed)}", source)]
        sbp, dbp, mean = values.get("sbp"), values.get("dbp"), values.get("map")
        if sbp is None or dbp is None:
            if sbp is None and dbp is None and mean is None:
                return []  # a lone cuff pulse rate: nothing to assemble
            return [CuffFailure(t, "incomplete cycle: SBP or DBP missing", source)]
        lo, hi = PLAUSIBLE["sbp"]
        if not (lo <= sbp <= hi and lo <= dbp <= hi) or (mean is not None and not lo <= mean <= hi):
            return [CuffFailure(t, f"implausible {sbp:g}/{dbp:g} mmHg (outside 40–300)", source)]
        if sbp <= dbp:
            return [CuffFailure(t, f"implausible {sbp:g}/{dbp:g} mmHg (SBP ≤ DBP)", source)]
        measured = mean is not None
        if mean is None:
            mean = dbp + (sbp - dbp) / 3.0
        return [BpReading(t, sbp, dbp, mean, values.get("pulse_rate"), source, measured)]
