"""The pure rule that tells a cuff's replayed 0x2A35 records from its current one
(drivers.ble.bp_replay), one table row per case of the module docstring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from drivers.ble.bp_replay import BpReplayClassifier, device_seconds
from drivers.ble.bps import BloodPressureMeasurement, encode_bpm, parse_bpm
from drivers.ieee11073 import DateTime

T0 = 1_800_000_000.0  # receive times are T0 + seconds since the link came up
HOUR = 3600.0

OLDER = "an older record of a burst (replayed from memory)"
NO_EVIDENCE = "right after connecting, with no evidence it was measured now"
INFLATION = "cuff inflation seen on this link"
AGREES = "device time agrees with the receive time"
ESTABLISHED = "sent on an established link"
RESENT = "the same record again (re-sent)"


def wall(t: float, offset: float = 0.0, year: int | None = None) -> DateTime:
    """The device's Date Time for POSIX time `t` on a clock `offset` s ahead of UTC."""
    d = datetime.fromtimestamp(t + offset, UTC)
    return DateTime(year or d.year, d.month, d.day, d.hour, d.minute, d.second)


def rec(sbp: int, ts: DateTime | None = None) -> BloodPressureMeasurement:
    """A record as a cuff sends it (encoded, then decoded, as the driver sees it); an
    unknown field is written as 0."""
    return parse_bpm(encode_bpm(sbp, 80, 100, timestamp=ts))


@dataclass(frozen=True)
class Link:
    t: float


@dataclass(frozen=True)
class Icp:
    t: float


@dataclass(frozen=True)
class Bpm:
    t: float
    name: str
    record: BloodPressureMeasurement


@dataclass(frozen=True)
class Flush:
    pass


Step = Link | Icp | Bpm | Flush


def play(
    steps: list[Step], utc_offset: Callable[[float], float] = lambda _t: 0.0
) -> list[tuple[str, bool, str]]:
    c: BpReplayClassifier[str] = BpReplayClassifier(utc_offset=utc_offset)
    out = []
    for s in steps:
        if isinstance(s, Link):
            c.link_up(T0 + s.t)
        elif isinstance(s, Icp):
            out += c.cuff_pressure(T0 + s.t)
        elif isinstance(s, Bpm):
            out += c.measurement(s.record, T0 + s.t, s.name)
        else:
            out += c.flush()
    return [(v.payload, v.stored, v.reason) for v in out]


def now(t: float, offset: float = 0.0) -> DateTime:
    return wall(T0 + t, offset)


CASES: dict[str, tuple[list[Step], list[tuple[str, bool, str]]]] = {
    "burst after connect, no time stamps: all stored, the newest too (age unknown)": (
        [
            Link(0),
            Bpm(1.0, "a", rec(201)),
            Bpm(1.1, "b", rec(202)),
            Bpm(1.2, "c", rec(203)),
            Flush(),
        ],
        [("a", True, OLDER), ("b", True, OLDER), ("c", True, NO_EVIDENCE)],
    ),
    "burst after connect, newest measured just now": (
        [
            Link(0),
            Bpm(1.0, "a", rec(201, now(-3 * HOUR))),
            Bpm(1.1, "b", rec(202, now(-HOUR))),
            Bpm(1.2, "c", rec(120, now(-20))),
            Flush(),
        ],
        [("a", True, OLDER), ("b", True, OLDER), ("c", False, AGREES)],
    ),
    "burst sent newest first: device time decides": (
        [
            Link(0),
            Bpm(1.0, "c", rec(120, now(-20))),
            Bpm(1.1, "b", rec(202, now(-HOUR))),
            Bpm(1.2, "a", rec(201, now(-3 * HOUR))),
            Flush(),
        ],
        [("c", False, AGREES), ("b", True, OLDER), ("a", True, OLDER)],
    ),
    "burst after connect whose newest is itself hours old": (
        [
            Link(0),
            Bpm(1.0, "a", rec(201, now(-3 * HOUR))),
            Bpm(1.1, "b", rec(202, now(-HOUR))),
            Flush(),
        ],
        [("a", True, OLDER), ("b", True, "device time -60 min from the receive time")],
    ),
    "single record after connect, no time stamp": (
        [Link(0), Bpm(1.0, "a", rec(120)), Flush()],
        [("a", True, NO_EVIDENCE)],
    ),
    "single record after connect, time stamp now": (
        [Link(0), Bpm(1.0, "a", rec(120, now(-30))), Flush()],
        [("a", False, AGREES)],
    ),
    "single record after connect, time stamp 2 h old": (
        [Link(0), Bpm(1.0, "a", rec(120, now(-2 * HOUR))), Flush()],
        [("a", True, "device time -120 min from the receive time")],
    ),
    "single record after connect, year unknown: as if no time stamp": (
        [Link(0), Bpm(1.0, "a", rec(120, replace(now(-30), year=None))), Flush()],
        [("a", True, NO_EVIDENCE)],
    ),
    "live: cuff pressure notified before the result": (
        [Link(0), Icp(3), Icp(4), Bpm(5, "a", rec(120)), Flush()],
        [("a", False, INFLATION)],
    ),
    "live with a backlog after it (reference order: backlog, then the new result)": (
        [Link(0), Icp(3), Bpm(5, "a", rec(201)), Bpm(5.1, "b", rec(120)), Flush()],
        [("a", True, OLDER), ("b", False, INFLATION)],
    ),
    "inflation seen on an earlier link vouches for nothing": (
        [Link(0), Icp(3), Link(50), Bpm(51, "a", rec(120)), Flush()],
        [("a", True, NO_EVIDENCE)],
    ),
    "one inflation vouches for one burst": (
        [Link(0), Icp(3), Bpm(5, "a", rec(120)), Flush(), Bpm(6, "b", rec(200)), Flush()],
        [("a", False, INFLATION), ("b", True, NO_EVIDENCE)],
    ),
    "established link, no time stamp: live": (
        [Link(0), Bpm(100, "a", rec(120)), Flush()],
        [("a", False, ESTABLISHED)],
    ),
    "established link, unverified clock far off: live (unset clocks are common)": (
        [Link(0), Bpm(100, "a", rec(120, wall(T0 - 300 * 86400))), Flush()],
        [("a", False, ESTABLISHED)],
    ),
    "a clock learned from a live cycle convicts an old record later": (
        [
            Link(0),
            Icp(3),
            Bpm(5, "a", rec(120, now(5, 2 * HOUR))),
            Flush(),
            Bpm(400, "b", rec(125, now(400, 2 * HOUR))),
            Flush(),
            Bpm(1500, "c", rec(200, now(500, 2 * HOUR))),
            Flush(),
        ],
        [
            ("a", False, INFLATION),
            ("b", False, AGREES),
            ("c", True, "device time -17 min from the receive time"),
        ],
    ),
    "a learned clock makes a skewed device time current after a reconnect": (
        [
            Link(0),
            Icp(3),
            Bpm(5, "a", rec(120, now(5, -5 * HOUR))),
            Flush(),
            Link(900),
            Bpm(901, "b", rec(130, now(880, -5 * HOUR))),
            Flush(),
        ],
        [("a", False, INFLATION), ("b", False, AGREES)],
    ),
    "a record already delivered, sent again after a reconnect": (
        [
            Link(0),
            Icp(3),
            Bpm(5, "a", rec(120, now(5))),
            Flush(),
            Link(60),
            Bpm(61, "a again", rec(120, now(5))),
            Flush(),
        ],
        [("a", False, INFLATION), ("a again", True, RESENT)],
    ),
    "records 2 s or more apart are separate bursts (closed without a flush)": (
        [Link(0), Bpm(100, "a", rec(120)), Bpm(102, "b", rec(121)), Flush()],
        [("a", False, ESTABLISHED), ("b", False, ESTABLISHED)],
    ),
    "flush with nothing held releases nothing": ([Link(0), Flush()], []),
    "each cycle vouched for by its own inflation (no timer: cuff pressure ends the burst)": (
        [Link(0), Icp(40), Bpm(45, "a", rec(120)), Icp(48), Bpm(55, "b", rec(121)), Flush()],
        [("a", False, INFLATION), ("b", False, INFLATION)],
    ),
    "a replay while the cuff is still measuring is not its result; the result after is": (
        [
            Link(0),
            Icp(0.5),
            Bpm(1.0, "a", rec(201)),
            Bpm(1.1, "b", rec(202)),
            Icp(1.5),
            Icp(2),
            Bpm(8, "c", rec(120)),
            Flush(),
        ],
        [("a", True, OLDER), ("b", True, NO_EVIDENCE), ("c", False, INFLATION)],
    ),
    # Records every 0.5 s for 14 s: held at most 10 s, so judged in two parts; the second
    # starts after the connect window but continues the replay that began in it.
    "a replay longer than the hold limit is all stored": (
        [Link(0), *(Bpm(1 + i / 2, f"r{i}", rec(150 + i)) for i in range(29)), Flush()],
        [(f"r{i}", True, NO_EVIDENCE if i in (19, 28) else OLDER) for i in range(29)],
    ),
}


@pytest.mark.parametrize("steps, expected", CASES.values(), ids=list(CASES))
def test_rule(steps: list[Step], expected: list[tuple[str, bool, str]]) -> None:
    assert play(steps) == expected


def test_local_wall_clock_is_assumed_before_a_clock_is_learned() -> None:
    steps: list[Step] = [Link(0), Bpm(1, "a", rec(120, now(-30, offset=HOUR))), Flush()]
    assert play(steps, utc_offset=lambda _t: HOUR) == [("a", False, AGREES)]
    assert play(steps) == [("a", True, "device time +59 min from the receive time")]


def test_reasons_are_counted_and_the_due_time_follows_the_last_record() -> None:
    c: BpReplayClassifier[None] = BpReplayClassifier()
    c.link_up(T0)
    assert c.due is None
    c.measurement(rec(200), T0 + 1, None)
    c.measurement(rec(201), T0 + 1.5, None)
    assert c.due == T0 + 3.5
    assert [v.stored for v in c.flush()] == [True, True]
    assert (c.due, c.stored) == (None, {OLDER: 1, NO_EVIDENCE: 1})


@pytest.mark.parametrize(
    "ts, expected",
    [
        (None, None),
        (DateTime(2027, 1, 15, 8, 0, None), datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),
        (DateTime(2027, 2, 30, 8, 0, 0), None),  # no such day
        (DateTime(2027, None, 15, 8, 0, 0), None),
        (DateTime(2027, 1, 15, 8, None, 0), None),
    ],
)
def test_device_seconds(ts: DateTime | None, expected: float | None) -> None:
    assert device_seconds(ts) == expected
