"""Stream quality: is this byte stream a device talking, or noise that happens to frame?

BerryMed BCI and Contec CMS50 streams have no checksum: their only integrity check is the
sync bit of each byte, which half of all random bytes pass. Issue #11 found 1 MB of random
bytes decoded into 1,567 unflagged BerryMed SpO2 values and 6,420 Contec ones, most of them
at or below 85 % — a desaturation alarm from a loose cable or a wrong baud rate.

`StreamQuality` is a pure tracker (time comes from the feed's `t`): it counts framing errors
(the decoder's drop counters), implausible values and impossible jumps against good frames
over a trailing window and gives a verdict:

- `settling` — a new stream is not trusted until its trailing window has stayed clean
  (bad events at most `ok_bad_fraction` of all events) for `settle_s`, over at least
  `settle_frames` frames. Protocols whose frames carry a check (a checksum, a rigid text
  layout) settle at once.
- `clean` — values are used.
- `garbled` — within `window_s` at least `min_bad` bad events made up more than
  `max_bad_fraction` of all events. Back to `clean` once the window has stayed clean for
  `clean_after_s`.

`QualityGated` wraps a decoder with a tracker. While the stream is not clean, and for the
`suspect_frames` frames after any bad event (the first frames of a noise burst arrive
before the verdict can change), every reading
keeps its value (recorded, stored `valid=false`) but carries `Flag.GARBLED` or
`Flag.UNVERIFIED` instead of the device's status bits, which are noise too; both flags keep
it out of the core (`Reading.usable` is False). The serial driver turns `garbled` into
`LinkState.GARBLED`, which the room shows as the `device_garbled` technical alarm.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.base import DecoderWrapper
from monitor.core.models import Channel, Flag, Reading

GARBLED_ADVICE = "check cable / baud rate"


class Verdict(StrEnum):
    SETTLING = "settling"
    CLEAN = "clean"
    GARBLED = "garbled"


#: Largest change between two values of one channel less than `JUMP_WINDOW_S` apart that a
#: patient can produce: SpO2 and pulse rate move by a few units a second, never by tens.
MAX_STEP: dict[str, float] = {
    Channel.SPO2: 15.0,
    Channel.PULSE_RATE: 60.0,
    Channel.HEART_RATE: 60.0,
}
JUMP_WINDOW_S = 2.0
#: Flags a reading keeps while its stream is not trusted (they say the value itself is bad).
KEPT_FLAGS = frozenset({Flag.INVALID, Flag.IMPLAUSIBLE})


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    window_s: float = 5.0
    min_bad: int = 10  # a connect in mid-frame costs a few resync bytes: never garbled for it
    max_bad_fraction: float = 0.3
    #: A window whose bad share stays at or below this counts as clean: a line with an
    #: occasional glitch (one damaged packet a second at 100/s) is still trusted.
    ok_bad_fraction: float = 0.15
    settle_s: float = 2.0
    settle_frames: int = 3
    clean_after_s: float = 10.0
    #: Frames after a bad event whose values are held back even in a clean stream: the
    #: first frames of a noise burst come before the verdict can change.
    suspect_frames: int = 5

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.clean_after_s >= 0 and self.settle_s >= 0):
            raise ValueError("window_s must be > 0; settle_s and clean_after_s >= 0")
        if not 0 <= self.ok_bad_fraction < self.max_bad_fraction < 1:
            raise ValueError("need 0 <= ok_bad_fraction < max_bad_fraction < 1")
        if self.min_bad < 1 or self.settle_frames < 0 or self.suspect_frames < 0:
            raise ValueError("min_bad must be >= 1; settle_frames, suspect_frames >= 0")


#: For protocols whose frames carry a check: a frame that passed it is trusted at once.
CHECKED = QualityPolicy(settle_s=0.0, settle_frames=0, suspect_frames=0)


@dataclass
class StreamQuality:
    """Good frames and bad events over time → a `Verdict`. Pure: no clock, no I/O."""

    policy: QualityPolicy = field(default_factory=QualityPolicy)
    verdict: Verdict = Verdict.SETTLING
    detail: str = ""
    _window: deque[tuple[float, int, int]] = field(default_factory=deque)
    _good: int = 0
    _bad: int = 0
    _frames: int = 0
    _ok_since: float | None = None  # since when the window's bad share has stayed low

    def observe(self, t: float, good: int, bad: int) -> Verdict:
        """Count `good` frames and `bad` events seen at `t`; returns the verdict after them."""
        p = self.policy
        if good or bad:
            self._window.append((t, good, bad))
            self._good += good
            self._bad += bad
            self._frames += good
        while self._window and self._window[0][0] <= t - p.window_s:
            _, g, b = self._window.popleft()
            self._good -= g
            self._bad -= b
        events = self._bad + self._good
        if self._bad >= p.min_bad and self._bad > p.max_bad_fraction * events:
            self.verdict, self._ok_since = Verdict.GARBLED, None
            self.detail = (
                f"{self._bad} framing errors, implausible values or jumps against "
                f"{self._good} good frames in {p.window_s:g} s: {GARBLED_ADVICE}"
            )
            return self.verdict
        if self._bad > p.ok_bad_fraction * events:
            self._ok_since = None
        elif self._ok_since is None:
            self._ok_since = t
        ok_s = -1.0 if self._ok_since is None else t - self._ok_since
        if (self.verdict == Verdict.GARBLED and ok_s >= p.clean_after_s) or (
            self.verdict == Verdict.SETTLING
            and ok_s >= p.settle_s
            and self._frames >= p.settle_frames
        ):
            self.verdict, self.detail = Verdict.CLEAN, ""
        return self.verdict


def _total(c: Counter[str]) -> int:
    return sum(c.values())


@dataclass
class QualityGated(DecoderWrapper):
    """A StreamDecoder whose readings are only usable while its stream is clean."""

    policy: QualityPolicy = field(default_factory=QualityPolicy)
    quality: StreamQuality = field(init=False)
    #: Readings marked because the stream was not clean, by verdict.
    held: Counter[str] = field(default_factory=Counter)
    _last: dict[str, tuple[float, float]] = field(default_factory=dict)
    _framed: bool = False  # a frame has been decoded since the stream began
    _suspect: int = 0  # frames still to hold back after the last bad event

    def __post_init__(self) -> None:
        self.quality = StreamQuality(self.policy)

    @property
    def garbled(self) -> bool:
        return self.quality.verdict == Verdict.GARBLED

    def feed(self, data: bytes, t: float) -> list[Reading]:
        frames, dropped = self.inner.frames, _total(self.inner.dropped)
        readings = self.inner.feed(data, t)
        good = self.inner.frames - frames
        bad = _total(self.inner.dropped) - dropped
        if not self._framed:
            # Joining a stream mid-frame costs resync bytes (Nonin: up to a whole packet):
            # what the decoder drops before its first frame is start-up, not evidence.
            self._framed = good > 0
            bad = 0
        for r in readings:
            if Flag.IMPLAUSIBLE in r.status:
                bad += 1
            elif r.value is not None and r.channel in MAX_STEP:
                last = self._last.get(r.channel)
                if last is not None and r.t - last[0] < JUMP_WINDOW_S:
                    bad += abs(r.value - last[1]) > MAX_STEP[r.channel]
                self._last[r.channel] = (r.t, r.value)
        verdict = self.quality.observe(t, good, bad)
        suspect = self._suspect > 0 or bad > 0
        self._suspect = self.policy.suspect_frames if bad else max(0, self._suspect - good)
        if (verdict == Verdict.CLEAN and not suspect) or not readings:
            return readings
        self.held[verdict] += len(readings)
        flag = Flag.GARBLED if verdict == Verdict.GARBLED else Flag.UNVERIFIED
        return [r.with_status((r.status & KEPT_FLAGS) | {flag}) for r in readings]
