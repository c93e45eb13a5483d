"""The scenario library (tests/recordings/*.jsonl, made by tests/recordings/generate.py) with
the alarms each must and must not raise, the recording format, and `vigil replay`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.controls import Ack, Control, Dose, Note, SessionStart
from monitor.core.models import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    DeviceState,
    LinkState,
    PhaseEvent,
    Priority,
    Reading,
)
from monitor.core.recording import (
    Record,
    RecordingError,
    event_line,
    parse_line,
    parse_recording,
    to_record_line,
)
from monitor.core.replay import replay
from monitor.replay_lines import plain_reading

RECORDINGS = Path(__file__).parents[1] / "recordings"


def replay_file(name: str) -> list[AlarmEvent | PhaseEvent]:
    with (RECORDINGS / f"{name}.jsonl").open() as fh:
        return [e for e in replay(parse_recording(fh)) if isinstance(e, AlarmEvent | PhaseEvent)]


def alarm_states(events: list[AlarmEvent | PhaseEvent]) -> list[tuple[str, str, str]]:
    return [(e.condition, e.state.value, e.priority.value) for e in events
            if isinstance(e, AlarmEvent)]  # fmt: skip


SCENARIOS = [
    ("normal_rise", []),
    ("artefact_dip", []),
    ("desaturation", [("spo2_low", "active", "medium"), ("spo2_low", "cleared", "medium")]),
    ("probe_off", [("probe_off", "active", "low"), ("probe_off", "active", "medium"),
                   ("probe_off", "cleared", "medium")]),
    ("missing_40min_bp", [("bp_overdue", "active", "low"), ("bp_overdue", "cleared", "low")]),
    # Respiratory depression: EtCO2 and RR alarm minutes before SpO2 falls.
    ("hypoventilation", [
        ("etco2_high", "active", "medium"), ("etco2_rise", "active", "low"),
        ("resp_rate_low", "active", "medium"),
        ("etco2_high", "escalated", "medium"), ("resp_rate_low", "escalated", "medium"),
        ("spo2_low", "active", "medium"), ("spo2_drop", "active", "low"),
        ("etco2_high", "escalated", "medium"), ("resp_rate_low", "escalated", "medium"),
        ("spo2_low", "escalated", "medium"), ("spo2_low", "cleared", "medium"),
        ("resp_rate_low", "cleared", "medium"), ("etco2_high", "cleared", "medium"),
        ("etco2_rise", "cleared", "low"), ("spo2_drop", "cleared", "low")]),
    # The monitor's apnea flag raises a high alarm at once, before RR and SpO2 alarms.
    ("apnea", [
        ("apnea", "active", "high"), ("resp_rate_low", "active", "medium"),
        ("spo2_low", "active", "medium"), ("apnea", "acknowledged", "high"),
        ("apnea", "cleared", "high"), ("resp_rate_low", "cleared", "medium"),
        ("spo2_low", "cleared", "medium")]),
]  # fmt: skip


def test_hypoventilation_alarms_before_spo2_falls() -> None:
    events = [e for e in replay_file("hypoventilation") if isinstance(e, AlarmEvent)]
    first = {e.condition: e.t for e in reversed(events) if e.state == AlarmState.ACTIVE}
    assert first["spo2_low"] - max(first["etco2_high"], first["resp_rate_low"]) > 120


@pytest.mark.parametrize(("name", "expected"), SCENARIOS)
def test_scenario_raises_exactly_its_alarms(name: str, expected: list) -> None:
    assert alarm_states(replay_file(name)) == expected


def test_normal_rise_peaks_plus_13_over_9_at_40_min_without_alarm() -> None:
    with (RECORDINGS / "normal_rise.jsonl").open() as fh:
        records = parse_recording(fh)
    sbp = {r.item.t: r.item.value for r in records
           if isinstance(r.item, Reading) and r.item.channel == "sbp"}  # fmt: skip
    dbp = {r.item.t: r.item.value for r in records
           if isinstance(r.item, Reading) and r.item.channel == "dbp"}  # fmt: skip
    peak, before = 900 + 2400 + 0.5, 900 - 60 + 0.5
    assert (sbp[peak] - sbp[before], dbp[peak] - dbp[before]) == (13, 9)
    assert [(e.t, e.phase) for e in replay_file("normal_rise") if isinstance(e, PhaseEvent)] == [
        (0, "pre_dose"), (900, "dosed"), (4500, "recovery"),
    ]  # fmt: skip


def test_hypertensive_surge_gives_bp_rise_then_bp_severe_once_confirmed() -> None:
    events = [e for e in replay_file("hypertensive_surge") if isinstance(e, AlarmEvent)]
    onsets = [(e.t, e.condition) for e in events if e.state == "active"]
    assert onsets[0] == (1800.5, "bp_rise")
    # 185/112 at 2100.5 is not yet confirmed; the repeat at 2220.5 confirms bp_severe.
    assert (2100.5, "bp_high") in onsets and (2220.5, "bp_severe") in onsets
    assert not any(c == "bp_severe" for t, c in onsets if t < 2220.5)
    severe = next(e for e in events if e.condition == "bp_severe")
    assert (severe.priority, severe.value, severe.limit, severe.baseline) == ("high", 188, 180, 115)
    acked = [e for e in events if e.state == "acknowledged"]
    assert [(e.t, e.condition, e.by) for e in acked] == [(2250.0, "bp_severe", "nurse_a")]
    assert all(e.kind == "physiological" for e in events)


def test_no_scenario_raises_a_physiological_alarm_from_probe_off_or_artefact() -> None:
    for name in ("probe_off", "artefact_dip"):
        assert [e for e in replay_file(name) if isinstance(e, AlarmEvent)
                and e.kind == "physiological"] == []  # fmt: skip


ITEMS = [
    Reading(12.0, "spo2", 97.0, "%", frozenset({"motion", "low_perfusion"}), "A-ox"),
    Reading(13.5, "sbp", None, "mmHg", frozenset({"cuff_error"})),
    Reading(14.0, "sbp", 16.0, "kPa", frozenset(), "cuff"),
    Dose(900.0, by="dr_k"),
    Ack(1500.0, "bp_rise"),
    Note(1600.0, "calm, eyes closed", by="nurse"),
    DeviceState(30.0, "A-ox", LinkState.DISCONNECTED, "port closed"),
]


@pytest.mark.parametrize("item", ITEMS)
def test_record_line_round_trip(item: Reading | Control | DeviceState) -> None:
    rec = parse_line(to_record_line("A", item))
    assert (rec.room, rec.item) == ("A", item)


def test_issue_example_lines_parse() -> None:
    lines = [
        '{"t": 0, "room": "A", "type": "event", "event": "session_start"}',
        '{"t": 12.0, "room": "A", "type": "reading", "channel": "spo2", "value": 97, "status": []}',
        '{"t": 1500, "room": "A", "type": "event", "event": "ack", "condition": "bp_rise"}',
    ]
    assert [r.item for r in parse_recording(lines)] == [
        SessionStart(0.0),
        Reading(12.0, "spo2", 97.0, "%"),
        Ack(1500.0, "bp_rise"),
    ]


BAD_LINES = [
    ("{not json", "line 2: not JSON"),
    ('{"t": "soon", "room": "A", "type": "event", "event": "dose"}', "line 2: 't' must be"),
    ('{"t": NaN, "room": "A", "type": "event", "event": "dose"}', "line 2: 't' must be"),
    ('{"t": 5, "room": "", "type": "event", "event": "dose"}', "line 2: 'room' must be"),
    ('{"t": 5, "room": "A", "type": "vitals"}', "line 2: 'type' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": true}',
     "line 2: 'value' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": 9, "status": "ok"}',
     "line 2: 'status' must be"),
    ('{"t": 0.5, "room": "A", "type": "event", "event": "dose"}', "line 2: 't' goes back"),
    ('[1, 2]', "line 2: not a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_bad_recording_line_is_named(line: str, message: str) -> None:
    first = '{"t": 1, "room": "A", "type": "event", "event": "session_start"}'
    with pytest.raises(RecordingError) as err:
        parse_recording([first, line])
    assert str(err.value).startswith(message)


def test_event_line_matches_the_issue_format() -> None:
    e = AlarmEvent(742.0, "A", "spo2_low", AlarmKind.PHYSIOLOGICAL, "spo2", Priority.MEDIUM,
                   AlarmState.ACTIVE, 88.0, 90.0, 97.0, "reason", None, 1, 742.0)  # fmt: skip
    assert event_line(e) == (
        '{"t": 742.0, "room": "A", "type": "alarm", "condition": "spo2_low", "kind": '
        '"physiological", "channel": "spo2", "priority": "medium", "state": "active", '
        '"value": 88, "limit": 90, "baseline": 97}'
    )
    assert event_line(PhaseEvent(8100, "A", "discharge_ready")) == (
        '{"t": 8100.0, "room": "A", "type": "phase", "phase": "discharge_ready"}'
    )


def vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_vigil_replay_is_deterministic_and_prints_transitions(tmp_path: Path) -> None:
    path = str(RECORDINGS / "desaturation.jsonl")
    first, second = vigil("replay", path), vigil("replay", path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert lines == [
        {"t": 0.0, "room": "A", "type": "phase", "phase": "pre_dose"},
        {"t": 900.0, "room": "A", "type": "phase", "phase": "dosed"},
        {"t": 1519.0, "room": "A", "type": "alarm", "condition": "spo2_low",
         "kind": "physiological", "channel": "spo2", "priority": "medium", "state": "active",
         "value": 87, "limit": 90, "baseline": 97},
        {"t": 1563.0, "room": "A", "type": "alarm", "condition": "spo2_low",
         "kind": "physiological", "channel": "spo2", "priority": "medium", "state": "cleared",
         "value": 97, "limit": 90, "baseline": 97, "ended": "resolved"},
    ]  # fmt: skip
    # The same recording against changed rules: a clinic that waits 60 s for spo2_low.
    config = tmp_path / "vigil.toml"
    config.write_text("[rules.conditions.spo2_low]\ndelay_s = 60\n")
    changed = vigil("replay", path, "--config", str(config))
    assert changed.returncode == 0, changed.stderr
    assert '"spo2_low"' not in changed.stdout


def test_vigil_replay_ticks_fire_timers_between_sparse_inputs(tmp_path: Path) -> None:
    path = tmp_path / "sparse.jsonl"
    path.write_text(
        '{"t": 0, "room": "A", "type": "event", "event": "session_start"}\n'
        '{"t": 100, "room": "A", "type": "event", "event": "note", "text": "end"}\n'
    )
    result = vigil("replay", str(path))
    stale = [json.loads(x) for x in result.stdout.splitlines() if "stale" in x]
    assert [(x["t"], x["condition"]) for x in stale] == [
        (10.0, "spo2_stale"),
        (10.0, "pulse_rate_stale"),
    ]  # fired by ticks at 10 s, not at the next input (100 s)


def test_vigil_replay_bad_input_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "room": "A", "type": "event", "event": "session_start"}\n{oops\n')
    result = vigil("replay", str(path))
    assert result.returncode == 2 and "line 2: not JSON" in result.stderr and result.stdout == ""
    missing = vigil("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    config = tmp_path / "bad.toml"
    config.write_text("[rules.conditions.spo2_low]\nhysteresis = -2\n")
    result = vigil("replay", str(RECORDINGS / "desaturation.jsonl"), "--config", str(config))
    assert result.returncode == 2 and "rules.conditions.spo2_low.hysteresis" in result.stderr


# `vigil replay` parses plain reading lines with msgspec (monitor/replay_lines.py) and the rest
# with orjson: the same records and the same refusals as the standard library path, line for
# line.
ODD_READINGS = [
    '{"t": 3, "room": "A", "type": "reading", "channel": "spo2", "value": 97}',
    '{"t": 3.5, "room": "A", "type": "reading", "channel": "spo2", "value": null,'
    ' "status": ["probe_off"], "source": "ox"}',
    '{"t": 4.0, "room": "A", "type": "reading", "channel": "sbp", "value": 120.5,'
    ' "unit": "kPa", "status": [], "source": "cuff", "extra": 1}',
    '{"t": 4.0, "room": "A", "type": "reading", "channel": "custom", "value": 1e3}',
    '{"t": 4.5, "room": "A", "type": "reading", "channel": "spo2", "status": ["probe_off"]}',
    '{"t": 5, "t": 6, "room": "A", "type": "reading", "channel": "spo2", "value": -0}',
    '{"t": 7, "room": "A", "type": "reading", "channel": "spo2", "value": 1e308, "unit": ""}',
    '{"t": 8, "room": "A", "type": "reading", "channel": "spo2", "value": 12345678901234567890123,'
    ' "status": ["motion", "motion"], "device_time": "x"}',
]


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDINGS.glob("*.jsonl")))
def test_fast_parse_gives_the_same_records(name: str) -> None:
    text = (RECORDINGS / name).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    fast = parse_recording([line.encode() for line in lines], orjson.loads, plain_reading)
    assert fast == parse_recording(lines)
    assert [type(r.item) for r in fast] == [type(r.item) for r in parse_recording(lines)]


def test_fast_parse_of_odd_readings_matches() -> None:
    assert parse_recording(ODD_READINGS, orjson.loads, plain_reading) == parse_recording(
        ODD_READINGS
    )


BAD_FAST = [
    ('{"t": Infinity, "room": "A", "type": "reading", "channel": "spo2", "value": 9}',
     "line 2: 't' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": 9, "status": null}',
     "line 2: 'status' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": 9, "unit": null}',
     "line 2: 'unit' and 'source'"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "", "value": 9}',
     "line 2: 'channel' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": 1e999}',
     "line 2: 'value' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": true}',
     "line 2: 'value' must be"),
    ('{"t": 5, "room": "A", "type": "reading", "channel": "spo2", "value": 9, "source": null}',
     "line 2: 'unit' and 'source'"),
    ('{"t": 5, "room": "A", "type": "reading", "type": "device", "channel": "spo2"}',
     "line 2: 'source' must be"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "message"), BAD_LINES + BAD_FAST)
def test_fast_parse_refuses_what_the_standard_path_refuses(line: str, message: str) -> None:
    first = '{"t": 1, "room": "A", "type": "event", "event": "session_start"}'
    for lines, loads in (
        ([first, line], json.loads),
        ([first.encode(), line.encode()], orjson.loads),
    ):
        with pytest.raises(RecordingError) as err:
            parse_recording(lines, loads, plain_reading)
        assert str(err.value).startswith(message)


_FIELD = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**25), 10**25),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["", "A", "spo2", "reading"]),
    st.lists(st.sampled_from(["probe_off", "motion", ""]), max_size=2), st.just([1]),
)  # fmt: skip
_KEYS = ["t", "room", "type", "channel", "value", "status", "source", "unit", "event"]


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(_KEYS), _FIELD),
    t=st.integers(1, 100) | st.floats(1, 100),
    room=st.sampled_from(["A", ""]),
    channel=st.sampled_from(["spo2", "sbp", "x", ""]),
)
def test_fast_parse_matches_on_any_reading_line(
    fields: dict[str, object], t: float, room: str, channel: str
) -> None:
    """Any mix of fields and types: the same record or the same refusal either way."""
    line = json.dumps({"t": t, "room": room, "type": "reading", "channel": channel, **fields})
    results = []
    for lines, fast in (([line], None), ([line.encode()], plain_reading)):
        try:
            results.append(parse_recording(lines, orjson.loads, fast))
        except RecordingError as exc:
            results.append(str(exc))
    assert results[0] == results[1]


def test_the_fast_path_takes_plain_readings_and_leaves_the_rest() -> None:
    """A plain reading line never needs the standard path (a silent fallback would still be
    correct, only four times slower): events, device lines and broken ones do."""
    plain = b'{"t": 1.5, "room": "A", "type": "reading", "channel": "spo2", "value": 97}'
    rec = plain_reading(plain)
    assert rec == Record("A", Reading(1.5, "spo2", 97.0, "%"))
    for line in ('{"t": 1, "room": "A", "type": "event", "event": "dose"}',
                 '{"t": 1, "room": "A", "type": "device", "source": "ox", "state": "connected"}',
                 '{"t": 1, "room": "", "type": "reading", "channel": "spo2", "value": 97}',
                 "not json", ""):  # fmt: skip
        assert plain_reading(line) is None
