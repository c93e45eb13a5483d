"""The journal, its hash chain, the forwarder against a real influxd, storage alarms, and the
pure parts of the session record (episodes, figures, time parsing, FHIR)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Control, Priority, Reading
from monitor.report.model import (
    AlarmEpisode,
    AlarmRow,
    ClinicStats,
    SessionRecord,
    clinic_stats,
    episodes,
)
from monitor.report.query import parse_when
from monitor.store.health import StorageAlarms
from monitor.store.influx import InfluxStore
from monitor.store.journal import GENESIS, AuditEntry, Journal, SessionRow
from monitor.store.recorder import Recorder
from tests.conftest import Influxd


def journal_with_entries(path: Path, n: int = 5) -> Journal:
    j = Journal(path)
    for i in range(1, n + 1):
        assert j.audit("note", f"nurse{i}", {"text": f"note {i}"}, t=1000.0 + i, room="A")
    # Ids are given at commit, in call order.
    assert [e.id for e in j.audit_entries()] == list(range(1, n + 1))
    return j


# -- hash chain -------------------------------------------------------------------------------
TAMPERING: list[tuple[str, str, int, int, str]] = [
    (
        "edit the payload",
        'UPDATE audit SET payload = \'{"text":"x"}\' WHERE id = 3',
        3,
        2,
        "content",
    ),
    ("edit who", "UPDATE audit SET who = 'someone' WHERE id = 3", 3, 2, "content"),
    ("edit the time", "UPDATE audit SET t = t + 1 WHERE id = 3", 3, 2, "content"),
    ("delete an entry", "DELETE FROM audit WHERE id = 3", 4, 2, "missing"),
    (
        "re-hash an edited entry",
        "UPDATE audit SET who = 'x', hash = 'f00' WHERE id = 3",
        3,
        2,
        "hash",
    ),
    ("break a link", f"UPDATE audit SET prev_hash = '{GENESIS}' WHERE id = 2", 2, 1, "link"),
]


@pytest.mark.parametrize(
    ("what", "sql", "bad_id", "checked", "reason"), TAMPERING, ids=[t[0] for t in TAMPERING]
)
def test_tampering_is_found_at_the_entry(
    tmp_path: Path, what: str, sql: str, bad_id: int, checked: int, reason: str
) -> None:
    j = journal_with_entries(tmp_path / "j.sqlite3")
    assert (j.verify().ok, j.verify().checked) == (True, 5)
    with sqlite3.connect(j.path) as db:
        db.execute(sql)
    result = j.verify()
    assert (result.ok, result.bad_id, result.checked) == (False, bad_id, checked)
    assert reason in result.reason


def test_a_rehashed_edit_breaks_the_next_link(tmp_path: Path) -> None:
    """Recomputing the edited entry's own hash does not help: the next entry's link breaks."""
    from monitor.store.journal import entry_hash

    j = journal_with_entries(tmp_path / "j.sqlite3")
    e = next(e for e in j.iter_audit() if e.id == 3)
    fields = {**e.hashed_fields(), "who": "forger"}
    with sqlite3.connect(j.path) as db:
        db.execute(
            "UPDATE audit SET who = 'forger', hash = ? WHERE id = 3",
            (entry_hash(e.prev_hash, fields),),
        )
    result = j.verify()
    assert (result.ok, result.bad_id, result.reason) == (
        False,
        4,
        "its link to the previous entry does not match",
    )


def test_chain_continues_across_reopen(tmp_path: Path) -> None:
    j = journal_with_entries(tmp_path / "j.sqlite3", 2)
    j.close()
    j = Journal(tmp_path / "j.sqlite3")
    j.audit("login", "admin", {"ok": True})
    assert (j.verify().ok, j.verify().checked) == (True, 3)


# -- sessions ---------------------------------------------------------------------------------
def test_sessions_survive_a_restart_and_entries_join_them(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    sid = j.start_session("A", 1_800_000_000.0, "  J.D. pseudonym too long here ", "nurse")
    assert sid == "A-20270115-080000"
    j.close()
    j = Journal(tmp_path / "j.sqlite3")
    assert j.open_session("A") == sid
    j.mark_dose("A", 1_800_000_100.0, "dr")
    j.audit("note", "nurse", {"text": "ok"}, t=1_800_000_200.0, room="A")
    again = j.start_session("A", 1_800_000_300.0, "XY", "nurse")  # supersedes the open one
    assert j.sessions("A") == [
        SessionRow(
            sid,
            "A",
            "J.D. pseudonym t",
            1_800_000_000.0,
            "nurse",
            1_800_000_100.0,
            "dr",
            1_800_000_300.0,
            "superseded by a new session",
        ),
        SessionRow(again, "A", "XY", 1_800_000_300.0, "nurse", None, None, None, None),
    ]
    assert [e.kind for e in j.audit_entries(session=sid)] == ["note"]
    assert j.sessions("A", 1_800_000_001.0, None) == j.sessions("A")[1:]


# -- forwarding against a real influxd --------------------------------------------------------
def reading(t: float, value: float = 97.0) -> Reading:
    return Reading(t, "spo2", value, "%", source="ox")


async def test_forwarder_sends_by_id_and_resending_is_harmless(
    influxd: Influxd, tmp_path: Path
) -> None:
    store = InfluxStore(influxd.url, "vigil_forwarder")
    events: list[AlarmEvent] = []
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), store, on_alarm=events.append)
    for i in range(5):
        rec.reading("A", reading(100.0 + i))
    rec.reading("A", reading(104.0, 95.0))  # same instant as the last: both must be kept
    assert rec.journal.count_unsent() == 6
    assert await rec.forwarder.forward_once()
    assert rec.journal.count_unsent() == 0
    # A crash between write and mark: everything is sent again, harmlessly.
    with sqlite3.connect(rec.journal.path) as db:
        db.execute("UPDATE points SET forwarded = 0")
    rec.close()
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), store, on_alarm=events.append)
    assert rec.journal.count_unsent() == 6
    assert await rec.forwarder.forward_once()
    rows = influxd.query("SELECT value FROM reading", db="vigil_forwarder")
    assert [r["value"] for r in rows] == [97.0] * 5 + [95.0]
    assert events == []
    await store.aclose()


async def test_journal_failure_raises_journal_failed_and_loses_nothing(
    influxd: Influxd, tmp_path: Path
) -> None:
    """The disk refuses writes: `journal_failed` is raised, the readings it could not take go
    to InfluxDB's memory queue, and the rows wait in memory; once the disk writes again they
    are committed in order (the audit chain has no hole) and the alarm clears."""
    store = InfluxStore(influxd.url, "vigil_journal_failed")
    clock = iter(float(t) for t in range(500, 600))
    events: list[AlarmEvent] = []
    rec = Recorder(
        Journal(tmp_path / "j.sqlite3"), store, on_alarm=events.append, clock=lambda: next(clock)
    )
    rec.reading("A", reading(1.0))
    # The disk refuses writes from now on (after the reading above is committed).
    rec.journal.call_in_writer(lambda db: db.execute("PRAGMA query_only = 1"))
    rec.reading("A", reading(2.0))
    rec.control_before("A", Control(t=3.0, event="note", by="nurse"))
    assert rec.sync() is False
    assert (rec.journal.failed, store.pending) == (True, 1)
    assert rec.health()["status"] == "failed"
    assert "readonly" in rec.journal.last_error
    rec.journal.call_in_writer(lambda db: db.execute("PRAGMA query_only = 0"))
    rec.reading("A", reading(4.0))
    assert rec.sync() is True
    # Clock 500: the first failure; 501: the retry before the disk came back (still failing,
    # no second alarm); 502: writing again.
    assert [(e.condition, e.state, e.priority, e.kind, e.t) for e in events] == [
        ("journal_failed", AlarmState.ACTIVE, Priority.HIGH, AlarmKind.TECHNICAL, 500.0),
        ("journal_failed", AlarmState.CLEARED, Priority.HIGH, AlarmKind.TECHNICAL, 502.0),
    ]
    # Nothing lost from the journal either: the held rows were written once it recovered.
    assert [p.t for p in rec.journal.points("A", 0, 10, ["reading"])] == [1.0, 2.0, 4.0]
    assert [(e.kind, e.who) for e in rec.journal.iter_audit()] == [("control", "nurse")]
    assert rec.journal.verify().ok
    assert await rec.forwarder.forward_once()
    rows = influxd.query("SELECT value FROM reading", db="vigil_journal_failed")
    assert [r["time"] for r in rows] == [
        "1970-01-01T00:00:01Z",
        "1970-01-01T00:00:02Z",
        "1970-01-01T00:00:04Z",
    ]
    rec.close()
    await store.aclose()


# -- storage alarms (pure) --------------------------------------------------------------------
def test_storage_degraded_after_60_s_unreachable() -> None:
    alarms = StorageAlarms()
    timeline: list[tuple[float, bool]] = [
        (0, True),
        (10, False),
        (69, False),
        (70, False),
        (80, False),
        (90, True),
        (91, True),
    ]
    out = [
        (t, e.condition, e.state, e.priority) for t, ok in timeline for e in alarms.influx(t, ok)
    ]
    assert out == [
        (70, "storage_degraded", AlarmState.ACTIVE, Priority.LOW),
        (90, "storage_degraded", AlarmState.CLEARED, Priority.LOW),
    ]


# -- session figures (pure) -------------------------------------------------------------------
def alarm(
    t: float,
    state: str,
    condition: str = "spo2_low",
    priority: str = "medium",
    value: float | None = 88.0,
    by: str = "",
) -> AlarmRow:
    return AlarmRow(t, condition, "physiological", priority, state, value, 90.0, 97.0, "", by)


EPISODES: list[tuple[str, list[AlarmRow], list[AlarmEpisode]]] = [
    (
        "acknowledged, escalated once, cleared",
        [
            alarm(10, "active"),
            alarm(70, "escalated", value=86.0),
            alarm(75, "acknowledged", by="n"),
            alarm(100, "cleared", value=95.0),
        ],
        [
            AlarmEpisode(
                "spo2_low",
                "physiological",
                "medium",
                10,
                75,
                "n",
                100,
                1,
                86.0,
                90.0,
                baseline=97.0,
            )
        ],
    ),
    (
        "two episodes of one condition; the second still open",
        [alarm(10, "active"), alarm(40, "cleared"), alarm(50, "active", priority="high")],
        [
            AlarmEpisode(
                "spo2_low",
                "physiological",
                "medium",
                10,
                None,
                None,
                40,
                0,
                88.0,
                90.0,
                baseline=97.0,
            ),
            AlarmEpisode(
                "spo2_low",
                "physiological",
                "high",
                50,
                None,
                None,
                None,
                0,
                88.0,
                90.0,
                baseline=97.0,
            ),
        ],
    ),
    ("a clear without its start is ignored", [alarm(5, "cleared")], []),
    (
        "a latched high alarm: resolved before it is acknowledged",
        [
            alarm(10, "active", "spo2_severe", "high", 84.0),
            alarm(20, "resolved", "spo2_severe", "high", 93.0),
            alarm(30, "acknowledged", "spo2_severe", "high", by="n"),
            alarm(30, "cleared", "spo2_severe", "high"),
        ],
        [
            AlarmEpisode(
                "spo2_severe",
                "physiological",
                "high",
                10,
                30,
                "n",
                30,
                0,
                84.0,
                90.0,
                20,
                baseline=97.0,
            )
        ],
    ),
]


@pytest.mark.parametrize(("what", "rows", "expected"), EPISODES, ids=[e[0] for e in EPISODES])
def test_episodes(what: str, rows: list[AlarmRow], expected: list[AlarmEpisode]) -> None:
    assert episodes(rows) == expected


def test_latched_duration_ends_when_the_condition_resolved() -> None:
    (ep,) = episodes(EPISODES[3][1])
    assert (ep.duration_s, ep.time_to_ack_s) == (10, 20)


def test_hub_messages_from_other_parts_are_audited(tmp_path: Path) -> None:
    """A BP request published on the hub is audited and joins the room's session; a
    notification is recorded once, through the journal (alerts/host.py), as an audit entry
    and a point to forward, though the notifier also publishes it on the hub."""
    from monitor.hub import Hub

    rec = Recorder(Journal(tmp_path / "j.sqlite3"), InfluxStore("http://127.0.0.1:9", "x"))
    hub = Hub()
    hub.add_listener(rec.hub_message)
    rec.control_before("A", Control(t=10.0, event="session_start", by="nurse"))
    request = {"type": "bp_request", "room": "A", "t": 11.0, "reason": "schedule"}
    hub.publish(request)
    note = {"type": "notification", "room": "A", "t": 12.0, "event": "delivery", "tier": 1}
    rec.notification(note)
    hub.publish(note)  # the live stream: not journaled a second time
    hub.publish({"type": "reading", "room": "A", "t": 12.5})  # journaled by the runtime itself
    hub.publish({"type": "heartbeat", "t": 13.0})
    sid = rec.journal.open_session("A")
    assert [(e.kind, e.t, e.payload) for e in rec.journal.audit_entries(session=sid)] == [
        ("control", 10.0, {"event": "session_start", "args": {}, "t": 10.0, "outcome": "ok"}),
        ("bp_request", 11.0, request),
        ("notification", 12.0, note),
    ]
    points = rec.journal.points("A", 0, 20, ["notification"])
    assert [(p.t, p.payload) for p in points] == [(12.0, note)]


def test_clinic_stats() -> None:
    eps = episodes(EPISODES[0][1]) + episodes(EPISODES[1][1])
    high = [e for e in eps if e.priority == "high"]
    assert clinic_stats([eps[:1], eps[1:2], high, []]) == ClinicStats(
        sessions=4,
        alarms=3,
        alarms_per_session=0.75,
        acknowledged=1,
        median_time_to_ack_s=65.0,
        sessions_with_high_priority=1,
    )
    assert clinic_stats([]).alarms_per_session is None


WHEN: list[tuple[str, bool, float | None]] = [
    ("2026-11-23", False, 1795392000.0),
    ("2026-11-23", True, 1795478400.0),
    ("2026-11-23T01:00:00", False, 1795395600.0),
    ("2026-11-23T02:00:00+01:00", False, 1795395600.0),
    ("2026-11-23T01:00:00Z", False, 1795395600.0),
    ("1795395600.5", False, 1795395600.5),
    ("yesterday", False, None),
    ("2026-13-01", False, None),
]


@pytest.mark.parametrize(("text", "end", "expected"), WHEN)
def test_parse_when(text: str, end: bool, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="not a date"):
            parse_when(text, end_of_day=end)
    else:
        assert parse_when(text, end_of_day=end) == expected


def test_config_is_audited_when_it_changes(tmp_path: Path) -> None:
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), InfluxStore("http://127.0.0.1:9", "x"))
    first = {"rooms": [{"id": "A"}], "storage_degraded_after_s": 60.0}
    assert rec.config(first) is True
    rec.close()
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), InfluxStore("http://127.0.0.1:9", "x"))
    assert rec.config(first) is None  # a restart with the same config is no change
    assert rec.config({**first, "storage_degraded_after_s": 30.0}, "admin") is True
    assert [(e.kind, e.who) for e in rec.journal.iter_audit()] == [
        ("config", None),
        ("config", "admin"),
    ]


def test_unusable_journal_path_stops_start_up_naming_the_field(tmp_path: Path) -> None:
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = tmp_path / "vigil.toml"
    config.write_text(f'journal_path = "{blocker}/journal.sqlite3"\n')
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no rooms: the demo, whose account store would land in the checkout
    )
    assert result.returncode == 2
    assert "journal_path: cannot open" in result.stderr and str(blocker) in result.stderr


def test_report_notes_come_from_the_api_and_from_dashboard_room_events() -> None:
    """A note written through /api/sessions/{id}/notes is a `note` entry; one sent from the
    dashboard is a `control` entry with the text in its args: the report lists both."""
    t0 = 1_795_395_600.0
    session = SessionRow("A-1", "A", "JD", t0, "n", None, None, t0 + 60, "n")

    def entry(i: int, kind: str, who: str, payload: dict[str, Any]) -> AuditEntry:
        return AuditEntry(i, t0 + i, kind, who, "A", "A-1", payload, "", "")

    audit = [
        entry(1, "note", "ana", {"text": "calm"}),
        entry(2, "control", "kim", {"event": "note", "args": {"text": "nausea"}, "t": t0 + 2}),
        entry(3, "control", "kim", {"event": "dose", "args": {}, "t": t0 + 3}),
        entry(4, "control", "kim", {"event": "discharge_review", "args": {"text": "ok"}}),
    ]
    rec = SessionRecord(session, t0 + 60, [], [], [], audit)
    assert [(e.id, e.kind, e.who, e.payload) for e in rec.notes()] == [
        (1, "note", "ana", {"text": "calm"}),
        (2, "note", "kim", {"text": "nausea"}),
    ]
    assert [(e.id, e.payload) for e in rec.discharge_reviews()] == [(4, {"text": "ok"})]
