"""Respiration channels in the core: every default respiration rule as a timeline, the
"with RR present" condition, and the `resp_stale` technical alarm.

Episodes as in test_core_rules: the channel sits at `level` for t in [100, end) at 1 Hz and
is normal otherwise; the 5-s median turns at start + 2 and end + 2, so a rule with delay d
becomes active at 102 + d and clears (high: resolves) at end + 2 + d.
"""

from __future__ import annotations

import pytest

from monitor.core.models import AlarmEvent, Control, DeviceState, LinkState, Reading
from monitor.core.pipeline import RoomPipeline
from tests.core_helpers import dosed, pr, run, spo2, transitions

NORMAL = {"resp_rate": 14.0, "etco2": 38.0, "apnea": 0.0}
UNITS = {"resp_rate": "/min", "etco2": "mmHg", "apnea": ""}


def resp(t: float, channel: str, v: float | None, *flags: str, source: str = "mon") -> Reading:
    return Reading(t, channel, v, UNITS[channel], frozenset(flags), source)


def episode(channel: str, level: float, end: int, normal: dict[str, float], total: int = 300,
            step: int = 1) -> list[Reading]:  # fmt: skip
    items = []
    for t in range(2, total, step):
        for ch, usual in normal.items():
            items.append(resp(t, ch, level if ch == channel and 100 <= t < end else usual))
    return items


RESPIRATION = [
    # id, channel, level, end, baseline (None: idle room), expected
    ("apnea flag as reported", "apnea", 1, 130, None,
     [(102, "apnea", "active"), (132, "apnea", "resolved")]),
    ("apnea from RR 0 for 20 s", "resp_rate", 0, 160, None,
     [(122, "apnea", "active"), (132, "resp_rate_low", "active"),
      (182, "apnea", "resolved"), (192, "resp_rate_low", "cleared")]),
    ("resp_rate_low", "resp_rate", 6, 200, None,
     [(132, "resp_rate_low", "active"), (232, "resp_rate_low", "cleared")]),
    ("resp_rate_high", "resp_rate", 35, 200, None,
     [(162, "resp_rate_high", "active"), (262, "resp_rate_high", "cleared")]),
    ("etco2_high", "etco2", 55, 200, None,
     [(132, "etco2_high", "active"), (232, "etco2_high", "cleared")]),
    ("etco2_rise baseline + 10", "etco2", 46, 200, {"etco2": 35},
     [(162, "etco2_rise", "active"), (262, "etco2_rise", "cleared")]),
    ("etco2_low with RR present", "etco2", 15, 200, None,
     [(162, "etco2_low", "active"), (262, "etco2_low", "cleared")]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "channel", "level", "end", "baseline", "expected"), RESPIRATION)
def test_respiration_rule_timeline(
    name: str, channel: str, level: float, end: int, baseline: dict[str, float] | None,
    expected: list[tuple[float, str, str]],
) -> None:  # fmt: skip
    no_escalation: dict[str, list[float]] = {}
    p = (
        dosed(baseline, escalation_after_s=no_escalation)
        if baseline
        else RoomPipeline("A", escalation_after_s=no_escalation)
    )
    normal = {**NORMAL, **(baseline or {})}
    events = run(p, episode(channel, level, end, normal))
    physiological = [e for e in events if isinstance(e, AlarmEvent) and e.kind == "physiological"]
    assert transitions(physiological) == expected


def test_etco2_low_needs_breathing() -> None:
    """A low EtCO2 without a respiration rate (or with RR 0) is not a displaced cannula."""
    no_rr = {"etco2": 38.0}
    assert transitions(run(RoomPipeline("A"), episode("etco2", 15, 250, no_rr))) == []
    # RR stops while EtCO2 is low: etco2_low ends (apnea takes over).
    p = RoomPipeline("A", escalation_after_s={})
    items = [r for t in range(2, 300) for r in (
        resp(t, "etco2", 15 if t >= 100 else 38),
        resp(t, "resp_rate", 0 if t >= 200 else 14))]  # fmt: skip
    assert transitions(run(p, items)) == [
        (162, "etco2_low", "active"),
        (203, "etco2_low", "cleared"),  # RR 0 is in the median at 202, after that EtCO2
        (222, "apnea", "active"),
        (232, "resp_rate_low", "active"),
    ]


def test_sparse_monitor_reports_still_alarm() -> None:
    """HL7 monitors often report every 5-15 s: the 30-s dwell must not restart each time."""
    p = RoomPipeline("A")
    events = run(p, episode("resp_rate", 6, 400, NORMAL, total=400, step=10))
    assert transitions(events)[:1] == [(132, "resp_rate_low", "active")]


def session(p: RoomPipeline, t: float = 0) -> None:
    run(p, [Control(t, "session_start", by="n")])


def oximeter(t: float) -> list[Reading]:
    return [spo2(t, 97), pr(t, 72)]


def test_resp_stale_from_a_configured_source() -> None:
    p = RoomPipeline("A", resp_sources=["mon"])
    session(p)
    items: list[Reading | float] = []
    for t in range(1, 60):
        items += oximeter(t)
        if t >= 45:
            items.append(resp(t, "resp_rate", 14))
    assert [x for x in transitions(run(p, items)) if x[1] == "resp_stale"] == [
        (30, "resp_stale", "active"),
        (46, "resp_stale", "cleared"),
    ]
    assert p.history[0].reason == "no respiration value from mon for 30 s"


def test_resp_stale_when_a_heard_source_goes_silent() -> None:
    p = RoomPipeline("A")  # nothing configured: the source joins when it is heard
    session(p)
    items: list[Reading | float] = [r for t in range(1, 100) for r in oximeter(t)]
    items += [resp(t, "etco2", 38) for t in range(1, 20)]
    items.sort(key=lambda r: r.t if isinstance(r, Reading) else r)
    assert [x for x in transitions(run(p, items)) if x[1] == "resp_stale"] == [
        (49, "resp_stale", "active")
    ]


def test_no_resp_stale_without_a_source_or_with_its_link_down() -> None:
    p = RoomPipeline("A")
    session(p)
    assert transitions(run(p, [r for t in range(1, 120) for r in oximeter(t)])) == []
    q = RoomPipeline("A", resp_sources=["mon"])
    session(q)
    items: list[Reading | DeviceState] = [DeviceState(0.5, "mon", LinkState.DISCONNECTED)]
    items += [r for t in range(1, 120) for r in oximeter(t)]
    got = {c for _, c, _ in transitions(run(q, items))}
    assert got == {"device_disconnected"}


def test_resp_flags_are_not_probe_off() -> None:
    p = RoomPipeline("A")
    session(p)
    items = [r for t in range(1, 40) for r in oximeter(t)]
    items += [resp(t, "etco2", None, "sensor_fault") for t in range(1, 40)]
    items.sort(key=lambda r: r.t)
    conditions = {c for _, c, _ in transitions(run(p, items))}
    assert "probe_off" not in conditions
    assert "resp_stale" in conditions


def test_etco2_baseline_is_derived_before_the_dose() -> None:
    p = RoomPipeline("A")
    session(p)
    run(p, [resp(t, "etco2", 36 + (t % 2)) for t in range(10, 310, 5)])
    run(p, [Control(310, "dose", by="dr")])
    assert p.baseline.etco2 == pytest.approx(36.5, abs=0.5)


def test_a_rate_the_source_cannot_count_is_no_breath() -> None:
    """A capnograph shows "---" when no breath comes: with no apnea flag of its own, an RR
    with no value (flagged only invalid) for 20 s is apnea; a sensor fault is not."""
    p = RoomPipeline("A", escalation_after_s={})
    session(p)
    items: list[Reading] = []
    for t in range(1, 140):
        items += oximeter(t)
        items.append(resp(t, "resp_rate", None, "invalid") if t >= 50 else resp(t, "resp_rate", 14))
    got = [x for x in transitions(run(p, items)) if x[1] in ("apnea", "resp_stale")]
    assert got == [(72, "apnea", "active")]
    q = RoomPipeline("A", escalation_after_s={})
    session(q)
    items = []
    for t in range(1, 140):
        items += oximeter(t)
        flags = ("invalid", "sensor_fault") if t >= 50 else ()
        items.append(resp(t, "resp_rate", None if flags else 14, *flags))
    got = [x for x in transitions(run(q, items)) if x[1] in ("apnea", "resp_stale")]
    assert got == [(79, "resp_stale", "active")]


def test_a_blocked_co2_line_is_a_technical_alarm_and_its_values_never_alarm() -> None:
    """The monitor says its CO2 sampling line is blocked (Flag.LINE_BLOCKED, from an HL7
    alert): `co2_line_blocked` at once, low outside a session and medium in one; RR 0 and
    EtCO2 0 meanwhile are no apnea, no resp_rate_low and no resp_stale; the source's first
    unflagged EtCO2 clears it (not its impedance RR, which goes on unflagged meanwhile)."""
    p = RoomPipeline("A", escalation_after_s={}, resp_sources=["mon"])
    items: list[Reading | Control] = []
    for t in range(1, 200):
        items += oximeter(t)
        if t == 20:
            items.append(Control(t, "session_start", by="n"))
        blocked = 10 <= t < 150
        flags = ("line_blocked",) if blocked else ()
        items += [resp(t, "resp_rate", 0 if blocked else 14, *flags),
                  resp(t, "etco2", 0 if blocked else 38, *flags),
                  resp(t, "resp_rate", 14)]  # fmt: skip
    events = run(p, items)
    alarms = [e for e in events if isinstance(e, AlarmEvent)]
    assert [(e.t, e.condition, e.state, e.priority) for e in alarms] == [
        (10, "co2_line_blocked", "active", "low"),
        (20, "co2_line_blocked", "active", "medium"),  # worsened: the session started
        (150, "co2_line_blocked", "cleared", "medium"),
    ]
    assert alarms[0].kind == "technical" and alarms[0].channel == "etco2"
    assert alarms[1].reason == (
        "worsened to medium: mon reports its CO2 sampling line blocked (check the line and "
        "water trap): EtCO2 and breathing are not watched meanwhile"
    )
    # A second source clear while the first is blocked changes nothing; a flagged value
    # from another source adds to it.
    q = RoomPipeline("A")
    got = run(q, [resp(1, "etco2", None, "line_blocked"), resp(2, "etco2", 38, source="cap"),
                  resp(3, "etco2", 30, "line_blocked", source="cap"), resp(4, "etco2", 38),
                  resp(5, "etco2", 38, source="cap")])  # fmt: skip
    assert transitions(got) == [
        (1, "co2_line_blocked", "active"),
        (5, "co2_line_blocked", "cleared"),
    ]


def test_respiration_values_do_not_end_the_oximeters_probe_off() -> None:
    """A capnograph's breaths say nothing about the oximeter's sensor: probe_off holds until
    the oximeter sends a value again (it flapped with every RR value before)."""
    p = RoomPipeline("A", escalation_after_s={})
    session(p)
    items: list[Reading] = []
    for t in range(1, 60):
        off = 10 <= t < 30
        items += [spo2(t, None, "probe_off") if off else spo2(t, 97), pr(t, None if off else 72)]
        items.append(resp(t, "resp_rate", 14))
    got = [x for x in transitions(run(p, items)) if x[1] == "probe_off"]
    assert got == [(10, "probe_off", "active"), (30, "probe_off", "cleared")]
