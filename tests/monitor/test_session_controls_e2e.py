"""The session record follows what the core decided, and controls say what became of them.

`vigil run` with one simulated room: a second session_start while a session runs is refused
(409 with the core's reason) and opens no journal session; a session left open by a process
killed mid-session and older than `resume_max_age_h` is closed at the next start-up at its
last journal entry. Demo and tests
keep their state files apart from a clinic's (`.vigil/demo/...`, VigilProcess's workdir).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_settings
from monitor.store.journal import Journal
from monitor.store.recorder import STOPPED_REASON
from tests.conftest import TEST_ADMIN as ADMIN  # the account VigilProcess acts as
from tests.conftest import Influxd, VigilProcess
from tests.waiting import wait_for

ROOM_CONFIG = """
influx_url = "{url}"
influx_database = "vigil_session_controls"
journal_commit_window_s = 0.05

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "steady"
interval_s = 0.5
"""

RUNNING = "a session is already running"
BASELINE = {"spo2": 97, "pulse_rate": 72, "sbp": 122, "dbp": 78}

# (event, args, HTTP status, response body): each control and what the core made of it.
STEPS: list[tuple[str, dict[str, Any], int, dict[str, str]]] = [
    ("session_start", {"pseudonym": "P-015"}, 200, {"status": "ok", "outcome": "ok"}),
    ("session_start", {"pseudonym": "P-016"}, 409, {"detail": f"ignored: {RUNNING}"}),
    ("ack", {"condition": "spo2_low"}, 409, {"detail": "ignored: no spo2_low alarm is active"}),
    ("baseline", BASELINE, 200, {"status": "ok", "outcome": "ok: used at the dose mark"}),
    ("dose", {}, 200, {"status": "ok", "outcome": "ok"}),
    ("dose", {}, 409, {"detail": f"ignored: a dose was marked less than 60 s ago by {ADMIN}"}),
    ("discharge_review", {"outcome": "override"}, 409,
     {"detail": "rejected: an override needs a reason"}),
    ("discharge_review", {"outcome": "not_ready", "reason": "drowsy"}, 200,
     {"status": "ok", "outcome": "ok"}),
    ("session_end", {}, 200, {"status": "ok", "outcome": "ok"}),
    ("session_end", {}, 409, {"detail": "ignored: no session"}),
]  # fmt: skip


def start(influxd: Influxd, workdir: Path, extra: str = "") -> VigilProcess:
    config = workdir / "vigil.toml"
    # journal_path left at its default; `extra` goes before the tables
    config.write_text(extra + ROOM_CONFIG.format(url=influxd.url))
    return VigilProcess(config, workdir)


def test_controls_answer_with_the_cores_outcome_and_the_journal_follows_it(
    influxd: Influxd, tmp_path: Path
) -> None:
    app = start(influxd, tmp_path)
    try:
        wait_for(lambda: app.get("/api/rooms/A").json()["latest"].get("spo2"), 15, "a reading")
        answers = []
        for event, args, _, _ in STEPS:
            r = app.post("/api/rooms/A/events", json={"event": event, "args": args})
            answers.append((event, args, r.status_code, r.json()))
        sessions = app.get("/api/sessions", params={"room": "A"}).json()
        # The report renders its plots: seconds when other test workers load the machine.
        report = (
            app.get(f"/api/sessions/{sessions[0]['id']}/report", timeout=30).text
            if sessions
            else ""
        )
    finally:
        app.stop()
    # One session, P-015's, dosed and ended by who did it: the refused start left no trace
    # in the sessions table, and its dose and end were not recorded against P-016.
    assert [
        (s["patient"], s["started_by"], s["dosed_by"], s["ended_by"], s["dose_t"] is not None)
        for s in sessions
    ] == [("P-015", ADMIN, ADMIN, ADMIN, True)]
    assert answers == STEPS
    # The report's session events say which controls the core refused, and why.
    refused = [body["detail"] for _, _, code, body in STEPS[:9] if code == 409]
    assert [r for r in refused if r in report] == refused
    # The discharge review the core accepted is in the report's review table with its outcome.
    assert "not ready: drowsy" in report
    # The state files a config leaves at their defaults are the test's, not the checkout's.
    journal = Journal(tmp_path / ".vigil" / "journal.sqlite3", readonly=True)
    try:
        controls = journal.audit_entries(kinds=["control"])
        verified = journal.verify().ok
    finally:
        journal.close()
    # Every control is audited with its outcome, in the session it concerned.
    outcome = {200: "outcome", 409: "detail"}
    assert [
        (e.payload["event"], e.payload["args"], e.payload["outcome"], e.who, e.session)
        for e in controls
    ] == [
        (event, args, body[outcome[code]], ADMIN, sessions[0]["id"] if i < 9 else None)
        for i, (event, args, code, body) in enumerate(STEPS)
    ]
    assert verified


def newest_reading_t(journal: Path) -> float:
    """The time of room A's newest reading in the journal (0 before there is any)."""
    if not journal.exists():
        return 0.0
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        (t,) = db.execute("SELECT max(t) FROM points WHERE room = 'A'").fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        t = None
    finally:
        db.close()
    return float(t or 0.0)


def test_a_session_left_open_by_a_killed_process_is_closed_at_the_next_start(
    influxd: Influxd, tmp_path: Path
) -> None:
    # A session older than resume_max_age_h is closed, not resumed
    # (tests/monitor/test_resume_e2e.py): with 0 h, every one is.
    app = start(influxd, tmp_path, "resume_max_age_h = 0\n")
    try:
        r = app.post(
            "/api/rooms/A/events", json={"event": "session_start", "args": {"pseudonym": "K-1"}}
        )
        assert r.is_success, r.text
        [session] = app.get("/api/sessions", params={"room": "A"}).json()
        path = tmp_path / ".vigil" / "journal.sqlite3"
        wait_for(
            lambda: newest_reading_t(path) > session["started"], 10, "a session reading journaled"
        )
    finally:
        app.proc.kill()  # SIGKILL: no shutdown, the session stays open in the journal
        app.proc.wait()
        app.stop()
    with sqlite3.connect(path) as db:
        (last_point,) = db.execute("SELECT max(t) FROM points WHERE room = 'A'").fetchone()
        (last_audit,) = db.execute(
            "SELECT max(t) FROM audit WHERE session = ?", (session["id"],)
        ).fetchone()
        (ended,) = db.execute(
            "SELECT ended FROM sessions WHERE id = ?", (session["id"],)
        ).fetchone()
    assert ended is None and last_point > session["started"]
    expected_end = max(last_point, last_audit)

    again = start(influxd, tmp_path, "resume_max_age_h = 0\n")
    try:
        first = again.get(f"/api/sessions/{session['id']}").json()
        asked = time.time()
        wait_for(lambda: newest_reading_t(path) > asked, 10, "a reading of the new run journaled")
        later = again.get(f"/api/sessions/{session['id']}").json()
        # The new run's readings do not join the closed session; a new start works.
        r = again.post(
            "/api/rooms/A/events", json={"event": "session_start", "args": {"pseudonym": "K-2"}}
        )
        assert r.is_success, r.text
        listed = again.get("/api/sessions", params={"room": "A"}).json()
    finally:
        again.stop()
    assert (first["ended"], first["ended_by"], first["end"]) == (
        expected_end,
        STOPPED_REASON,
        expected_end,
    )
    assert later["end"] == first["end"]  # the report's duration no longer grows
    assert [(s["patient"], s["ended_by"]) for s in listed] == [
        ("K-1", STOPPED_REASON),
        ("K-2", None),
    ]
    journal = Journal(path, readonly=True)
    try:
        closed = journal.audit_entries(session=session["id"], kinds=["session_closed"])
        verified = journal.verify().ok
    finally:
        journal.close()
    assert [(e.t, e.who, e.room, e.payload["reason"], e.payload["ended"]) for e in closed] == [
        (expected_end, None, "A", STOPPED_REASON, expected_end)
    ]
    assert verified


DEMO_TOKENS, CLINIC_TOKENS = ".vigil/demo/ack_tokens.sqlite", ".vigil/ack_tokens.sqlite"


@pytest.mark.parametrize(
    ("toml", "env", "journal", "token_db"),
    [
        ("", {}, ".vigil/demo/journal.sqlite3", DEMO_TOKENS),
        (
            'journal_path = "/srv/j.sqlite3"\n[alerts]\ntoken_db = "/srv/t.sqlite"\n',
            {},
            "/srv/j.sqlite3",
            "/srv/t.sqlite",
        ),
        ("", {"VIGIL_JOURNAL_PATH": "/srv/e.sqlite3"}, "/srv/e.sqlite3", DEMO_TOKENS),
        (ROOM_CONFIG.format(url="http://x"), {}, ".vigil/journal.sqlite3", CLINIC_TOKENS),
    ],
    ids=["demo", "demo-paths-set", "demo-env", "clinic"],
)  # fmt: skip
def test_the_demo_keeps_its_own_state_files_unless_told_otherwise(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    env: dict[str, str],
    journal: str,
    token_db: str,
) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("VIGIL_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "vigil.toml"
    config.write_text(toml)
    s = load_settings(config)
    assert (s.journal_path, s.alerts.token_db) == (Path(journal), Path(token_db))


def test_the_demo_writes_its_journal_apart_from_a_clinics(influxd: Influxd, tmp_path: Path) -> None:
    config = tmp_path / "demo.toml"
    config.write_text(f'influx_url = "{influxd.url}"\ninflux_database = "vigil_demo_state"\n')
    demo = VigilProcess(config, tmp_path)
    try:
        health = demo.get("/api/health").json()
        sessions = wait_for(lambda: demo.get("/api/sessions").json(), 15, "the demo's sessions")
    finally:
        demo.stop()
    assert (health["demo"], health["journal"]["path"]) == (True, ".vigil/demo/journal.sqlite3")
    assert sorted(s["started_by"] for s in sessions) == ["demo", "demo"]
    assert (tmp_path / ".vigil/demo/journal.sqlite3").exists()
    assert not (tmp_path / ".vigil/journal.sqlite3").exists()
