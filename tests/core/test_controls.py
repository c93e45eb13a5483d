"""Typed controls (monitor/core/controls.py): the wire form reads into one dataclass per
command and writes back unchanged, so journals and recordings replay as before."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from monitor.core.controls import (
    Ack,
    BaselineEntry,
    DischargeReview,
    Dose,
    Resumed,
    SessionStart,
    TechnicalAlarm,
    UnknownControl,
    control_from_dict,
)
from monitor.core.discharge import ReviewOutcome
from monitor.core.models import Priority
from monitor.core.pipeline import RoomPipeline

RECORDINGS = Path(__file__).parent.parent / "recordings"
_RESERVED = {"t", "room", "type", "event", "by"}


def _recorded_controls() -> list[dict[str, Any]]:
    out = []
    for path in sorted(RECORDINGS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d.get("type") == "event":
                args = {k: v for k, v in d.items() if k not in _RESERVED}
                out.append({"t": d["t"], "event": d["event"], "args": args, "by": d.get("by")})
    return out


ODD: list[dict[str, Any]] = [
    {"t": 1.0, "event": "session_start", "args": {"pseudonym": "K-1", "age": 70}, "by": "n"},
    {"t": 1.0, "event": "session_start", "args": {"pseudonym": "", "age": True}, "by": None},
    {"t": 2.0, "event": "baseline", "args": {"spo2": 97, "sbp": "high", "x": 1}, "by": "dr"},
    {"t": 3.0, "event": "dose", "args": {"route": 5, "amount_mg": "lots"}, "by": "dr"},
    {"t": 3.0, "event": "dose", "args": {"route": None}, "by": "dr"},
    {"t": 4.0, "event": "ack", "args": {"condition": "spo2_low", "since": "then"}, "by": "n"},
    {"t": 4.0, "event": "ack", "args": {}, "by": "n"},
    {"t": 5.0, "event": "note", "args": {"text": None}, "by": "n"},
    {"t": 6.0, "event": "discharge_review", "args": {"outcome": "maybe", "ready": 1}, "by": "dr"},
    {
        "t": 7.0,
        "event": "technical_alarm",
        "args": {
            "condition": "notify_failed",
            "priority": "urgent",
            "state": "cleared",
            "reason": 3,
        },
        "by": "notifier",
    },  # fmt: skip
    {"t": 8.0, "event": "resumed", "args": {"gap_s": 12, "sources": "ox"}, "by": "vigil"},
    {"t": 9.0, "event": "teleport", "args": {"to": "B"}, "by": "n"},
]


@pytest.mark.parametrize("wire", _recorded_controls() + ODD)
def test_the_wire_form_comes_back_unchanged(wire: dict[str, Any]) -> None:
    assert control_from_dict(wire).to_dict() == wire


def test_values_become_typed_fields() -> None:
    start = control_from_dict({"t": 1, "event": "session_start", "args": ODD[0]["args"]})
    assert start == SessionStart(1.0, "K-1", 70.0, extra={"age": 70})
    review = control_from_dict(
        {"t": 2, "event": "discharge_review", "args": {"outcome": "override", "text": "escort"}}
    )
    assert isinstance(review, DischargeReview)
    assert (review.decided, review.why) == (ReviewOutcome.OVERRIDE, "escort")
    alarm = control_from_dict({"t": 3, "event": "technical_alarm", "args": ODD[9]["args"]})
    assert isinstance(alarm, TechnicalAlarm)
    assert (alarm.priority, alarm.problem) == (None, "ignored: unknown priority")
    paged = control_from_dict({"t": 4, "event": "ack", "args": ODD[5]["args"]})
    assert isinstance(paged, Ack) and paged.since is not None and math.isnan(paged.since)
    resumed = control_from_dict({"t": 5, "event": "resumed", "args": {"sources": ["ox"]}})
    assert resumed == Resumed(5.0, sources=("ox",))
    assert isinstance(control_from_dict(ODD[-1]), UnknownControl)


@pytest.mark.parametrize(
    ("wire_args", "outcome"),
    [
        ({"spo2": 500, "sbp": "high"}, "rejected: spo2 500 outside 1–100"),
        ({"spo2": 97, "sbp": "high"}, "rejected: sbp is not a number"),
        ({}, "rejected: no baseline values given"),
    ],
)
def test_a_baseline_is_judged_in_channel_order(wire_args: dict[str, Any], outcome: str) -> None:
    p = RoomPipeline("A")
    p.control(SessionStart(0, by="n"))
    entry = control_from_dict({"t": 1, "event": "baseline", "args": wire_args, "by": "dr"})
    assert isinstance(entry, BaselineEntry)
    p.control(entry)
    assert p.log[-1]["outcome"] == outcome


_ROUTES = "is not one of IV, IM, SL, IN, PO"
_MG = "is not a dose in mg (0–1000)"


@pytest.mark.parametrize(
    ("wire_args", "outcome"),
    [
        ({"route": 5, "amount_mg": "lots"}, f"rejected: route 5 {_ROUTES}"),
        ({"route": "XX", "amount_mg": "lots"}, f"rejected: route 'XX' {_ROUTES}"),
        ({"route": "IM", "amount_mg": "lots"}, f"rejected: amount_mg 'lots' {_MG}"),
        ({"amount_mg": 5000}, f"rejected: amount_mg 5000 {_MG}"),
        (
            {"route": "IM", "amount_mg": 25},
            "ok: no baseline data; enter a baseline for relative limits",
        ),
    ],
)  # fmt: skip
def test_a_dose_is_judged_as_before(wire_args: dict[str, Any], outcome: str) -> None:
    p = RoomPipeline("A")
    p.control(SessionStart(0, by="n"))
    p.control(control_from_dict({"t": 1, "event": "dose", "args": wire_args, "by": "dr"}))
    assert p.log[-1]["outcome"] == outcome


def test_an_unknown_event_is_logged_and_ignored() -> None:
    p = RoomPipeline("A")
    assert p.control(control_from_dict(ODD[-1])) == []
    assert p.log[-1] == {**ODD[-1], "outcome": "ignored: unknown event"}


def test_a_typed_dose_writes_the_wire_form() -> None:
    assert Dose(3, "IM", 25, by="dr").to_dict() == {
        "t": 3, "event": "dose", "args": {"route": "IM", "amount_mg": 25}, "by": "dr"
    }  # fmt: skip
    assert TechnicalAlarm(1, "notify_failed", "active", Priority.HIGH, "x", by="n").args == {
        "condition": "notify_failed", "priority": "high", "state": "active", "reason": "x"
    }  # fmt: skip
