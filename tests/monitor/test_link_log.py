"""Device trouble on the console: one line per change, never one per reconnect attempt."""

from __future__ import annotations

import logging

from monitor.core.models import DeviceState, LinkState
from monitor.link_log import LinkLog, RepeatFilter

C, OK, DOWN = LinkState.CONNECTING, LinkState.CONNECTED, LinkState.DISCONNECTED
GONE = "open failed: [Errno 2] No such file or directory: '/dev/ttyUSB9'"
W = logging.WARNING


def _lines(changes: list[tuple[str, LinkState, str]]) -> list[tuple[int, str]]:
    log = LinkLog()
    out = []
    for i, (source, state, detail) in enumerate(changes):
        entry = log.entry("A", DeviceState(t=float(i), source=source, state=state, detail=detail))
        if entry is not None:
            out.append(entry)
    return out


def test_an_unplugged_device_retrying_is_said_once() -> None:
    retries = [("ox", C, "/dev/ttyUSB9"), ("ox", DOWN, GONE)] * 5
    assert _lines(retries) == [(W, f"room A: device ox disconnected: {GONE}")]


def test_normal_start_is_quiet_recovery_and_new_reasons_are_said() -> None:
    changes = [
        ("ox", C, "/dev/ttyUSB0"),
        ("ox", OK, "/dev/ttyUSB0"),  # normal start: nothing
        ("ox", DOWN, "read failed: device reports readiness but no data"),
        ("ox", C, "/dev/ttyUSB0"),
        ("ox", DOWN, GONE),  # a new reason
        ("ox", C, "/dev/ttyUSB0"),
        ("ox", DOWN, GONE),  # same again: nothing
        ("cuff", DOWN, GONE),  # another device is its own story
        ("ox", OK, "/dev/ttyUSB0"),
        ("ox", C, "/dev/ttyUSB0"),
        ("ox", DOWN, GONE),  # after a recovery the same reason is news again
    ]
    assert _lines(changes) == [
        (W, "room A: device ox disconnected: read failed: device reports readiness but no data"),
        (W, f"room A: device ox disconnected: {GONE}"),
        (W, f"room A: device cuff disconnected: {GONE}"),
        (W, "room A: device ox connected again"),
        (W, f"room A: device ox disconnected: {GONE}"),
    ]


def test_repeat_filter_says_a_failure_once_until_it_changes_or_works() -> None:
    f = RepeatFilter()
    not_open = "start_measurement failed: A-cuff: port /dev/ttyUSB8 is not open"
    steps = [
        ("fail", not_open),
        ("fail", not_open),
        ("fail", "reported cuff error 3"),
        ("fail", not_open),
        ("ok", ""),
        ("fail", not_open),
        ("fail", not_open),
    ]
    said = []
    for kind, message in steps:
        if kind == "ok":
            f.succeeded("A-cuff")
        else:
            said.append(f.failed("A-cuff", message))
    assert said == [True, False, True, True, True, False]
