"""A simulated session end to end: `vigil run` with a desaturating room, staff start the
session, mark the dose, acknowledge the alarm, write a note and end the session through the
API; the record (API, reports, CLI) must match what happened on the live stream."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.report.document import secs
from tests.conftest import ROOT, Influxd, VigilProcess, collect_stream
from tests.conftest import TEST_ADMIN as ADMIN  # the account VigilProcess acts as
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

DB = "vigil_session_e2e"


@pytest.fixture
def vigil(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, Path]]:
    journal = tmp_path / "journal.sqlite3"
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "{DB}"
influx_batch_s = 0.2
journal_path = "{journal}"

[[rooms]]
id = "B"
name = "Room B"
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "desaturation"
interval_s = 0.5
options = {{ desat_start_s = 4, desat_duration_s = 20 }}
""")
    proc = VigilProcess(config, tmp_path)
    yield proc, journal
    proc.stop()


def cli(*args: str, influx_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"VIGIL_INFLUX_URL": influx_url, "VIGIL_INFLUX_DATABASE": DB, "PATH": "/usr/bin"},
    )


def test_session_record_matches_what_happened(
    vigil: tuple[VigilProcess, Path], influxd: Influxd, tmp_path: Path
) -> None:
    app, journal = vigil
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()

    def alarms() -> list[dict[str, Any]]:
        return [m for m in list(messages) if m.get("type") == "alarm" and m["room"] == "B"]

    try:
        wait_for(lambda: messages, 10, "the stream")
        ev = "/api/rooms/B/events"
        assert app.post(ev, json={"event": "session_start", "args": {"pseudonym": "JD"}}).is_success
        time.sleep(1.0)
        assert app.post(ev, json={"event": "dose"}).status_code == 200
        wait_for(lambda: any(a["state"] == "active" for a in alarms()), 40, "spo2_low active")
        time.sleep(1.5)
        r = app.post(ev, json={"event": "ack", "args": {"condition": "spo2_low"}})
        assert r.status_code == 200
        wait_for(lambda: any(a["state"] == "cleared" for a in alarms()), 60, "spo2_low cleared")
        sessions = app.get("/api/sessions", params={"room": "B"}).json()
        assert len(sessions) == 1
        sid = sessions[0]["id"]
        assert app.post(f"/api/sessions/{sid}/notes", json={"text": "calm, eyes closed"}).is_success
        r = app.post(f"/api/sessions/{sid}/discharge_review", json={"text": "fit for discharge"})
        assert r.status_code == 201
        assert app.post(ev, json={"event": "session_end"}).status_code == 200
        wait_for(
            lambda: app.get(f"/api/sessions/{sid}").json()["ended"] is not None, 10, "session end"
        )
        wait_for(lambda: app.get("/api/health").json()["journal"]["unsent"] == 0, 10, "forwarding")
    finally:
        stop.set()
        reader.join(10)

    transitions = [
        (a["condition"], a["state"], a["by"], a["acknowledged_by"], a["ended"]) for a in alarms()
    ]
    assert transitions == [
        ("spo2_low", "active", None, None, ""),
        ("spo2_low", "acknowledged", ADMIN, ADMIN, ""),
        # It went away by itself after the ack: nobody cleared it (issue #13).
        ("spo2_low", "cleared", None, ADMIN, "resolved"),
    ]
    t_active, t_ack, t_clear = (a["t"] for a in alarms())
    phases = [(m["phase"], m["t"]) for m in messages if m.get("type") == "phase"]
    assert [p for p, _ in phases] == ["pre_dose", "dosed", "ended"]

    # -- sessions -------------------------------------------------------------------------
    today = datetime.now(UTC).date().isoformat()
    listed = app.get("/api/sessions", params={"room": "B", "from": today, "to": today}).json()
    s = listed[0]
    assert [x["id"] for x in listed] == [sid]
    assert (s["room"], s["patient"], s["started_by"], s["dosed_by"], s["ended_by"]) == (
        "B",
        "JD",
        ADMIN,
        ADMIN,
        ADMIN,
    )
    assert (s["started"], s["dose_t"], s["ended"]) == (phases[0][1], phases[1][1], phases[2][1])
    assert app.get("/api/sessions", params={"room": "B", "to": "2001-01-01"}).json() == []

    # -- alarms with time to acknowledge (InfluxQL) ---------------------------------------
    episodes = app.get(f"/api/sessions/{sid}/alarms").json()
    assert episodes == [
        {
            "condition": "spo2_low",
            "kind": "physiological",
            "priority": "medium",
            "started": pytest.approx(t_active, abs=1e-6),
            "acknowledged": pytest.approx(t_ack, abs=1e-6),
            "acknowledged_by": ADMIN,
            "ended": pytest.approx(t_clear, abs=1e-6),
            "escalations": 0,
            "worst_value": alarms()[0]["value"],
            "limit": 90.0,
            "resolved": None,
            "how_ended": "resolved",  # by itself, after the ack: nobody ended it
            "ended_by": None,
            "baseline": alarms()[0]["baseline"],
            "time_to_ack_s": pytest.approx(t_ack - t_active, abs=1e-5),
            "duration_s": pytest.approx(t_clear - t_active, abs=1e-5),
        }
    ]
    detail = app.get(f"/api/sessions/{sid}").json()
    assert detail["source"] == "influxdb"
    assert detail["alarms"]["alarms"] == 1 and detail["alarms"]["acknowledged"] == 1

    timeline = app.get(f"/api/sessions/{sid}/timeline").json()
    kinds = [
        (i["type"], i.get("event") or i.get("state") or i.get("phase") or i.get("text"))
        for i in timeline
        if i["type"] in ("control", "alarm", "note", "discharge_review")
    ]
    assert kinds == [
        ("control", "session_start"),
        ("control", "dose"),
        ("alarm", "active"),
        ("control", "ack"),
        ("alarm", "acknowledged"),
        ("alarm", "cleared"),
        ("note", "calm, eyes closed"),
        ("discharge_review", "fit for discharge"),
        ("control", "session_end"),
    ]

    stats = app.get("/api/stats", params={"from": today, "to": today}).json()
    assert {k: stats[k] for k in ("sessions", "alarms", "acknowledged")} == {
        "sessions": 1,
        "alarms": 1,
        "acknowledged": 1,
    }
    assert stats["median_time_to_ack_s"] == pytest.approx(t_ack - t_active, abs=1e-5)
    assert stats["sessions_with_high_priority"] == 0

    # -- readings: InfluxDB holds what the stream showed ----------------------------------
    readings = app.get(f"/api/sessions/{sid}/readings", params={"channel": "spo2"}).json()
    streamed = [
        m["t"]
        for m in messages
        if m.get("type") == "reading"
        and m["channel"] == "spo2"
        and s["started"] <= m["t"]
        and m["t"] <= s["ended"]
    ]
    assert [r["t"] for r in readings] == pytest.approx(streamed, abs=1e-6)
    assert min(r["value"] for r in readings) == alarms()[0]["value"]

    # -- reports --------------------------------------------------------------------------
    html = app.get(f"/api/sessions/{sid}/report", params={"format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    page = html.text
    assert '<img id="plots"' in page and "data:image/png;base64," in page
    alarm_table = page[
        page.index('<table id="alarms">') : page.index(
            "</table>", page.index('<table id="alarms">')
        )
    ]
    assert all(
        cell in alarm_table
        for cell in (
            "SpO2 low (medium)",  # words, not the rule's id
            f"by {ADMIN} at ",
            "resolved by itself at ",  # how it ended, apart from who acknowledged
            secs(t_ack - t_active),
            secs(t_clear - t_active),
        )
    ), alarm_table
    assert "calm, eyes closed" in page and "fit for discharge" in page
    baseline_table = page[page.index('<table id="baseline-and-limits">') :]
    baseline_table = baseline_table[: baseline_table.index("</table>")]
    assert f"<td>{ADMIN}</td>" in baseline_table
    assert "SpO2 low (medium): SpO2 &lt; 90" in baseline_table  # read as words, not JSON
    assert "{" not in baseline_table
    assert page.count("secondary alarm system") == 1  # once, at the top

    pdf = app.get(f"/api/sessions/{sid}/report", params={"format": "pdf"})
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"

    csv_text = app.get(f"/api/sessions/{sid}/report", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    # Who acknowledged and how it ended are separate: it went away by itself after the ack.
    alarm_rows = [r for r in rows if r["type"] == "alarm"]
    assert [
        (r["condition"], r["state"], r["who"], r["acknowledged_by"], r["ended"]) for r in alarm_rows
    ] == [
        ("spo2_low", "active", "", "", ""),
        ("spo2_low", "acknowledged", ADMIN, ADMIN, ""),
        ("spo2_low", "cleared", "", ADMIN, "resolved"),
    ]
    assert alarm_rows[2]["acknowledged_at"] == alarm_rows[1]["time"]
    assert alarm_rows[0]["time"].endswith("+00:00")  # ISO 8601 with the (default UTC) offset
    assert [float(r["t"]) for r in rows if r["type"] == "reading" and r["channel"] == "spo2"] == (
        pytest.approx(streamed, abs=1e-3)
    )

    fhir = app.get(f"/api/sessions/{sid}/report", params={"format": "fhir"}).json()
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate(fhir)
    obs = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "Observation"]
    codes = [o.code.coding[0].code for o in obs if o.valueQuantity is not None]
    valid = [r for r in rows if r["type"] == "reading" and r["valid"] == "true"]
    assert sorted(codes) == sorted(
        {"spo2": "2708-6", "pulse_rate": "8867-4"}[r["channel"]]
        for r in valid
        if r["channel"] in ("spo2", "pulse_rate")
    )

    recording = app.get(f"/api/sessions/{sid}/report", params={"format": "recording"}).text
    lines = [json.loads(x) for x in recording.splitlines()]
    events = [(x["event"], x.get("condition")) for x in lines if x["type"] == "event"]
    assert events == [
        ("session_start", None),
        ("dose", None),
        ("ack", "spo2_low"),
        ("session_end", None),
    ]
    assert lines[0] == {
        "t": 0.0,
        "room": "B",
        "type": "event",
        "event": "session_start",
        "by": ADMIN,
    }
    ack = next(x for x in lines if x.get("event") == "ack")
    assert ack["t"] == pytest.approx(t_ack - s["started"], abs=1e-5)
    assert all(
        set(x) == {"t", "room", "type", "channel", "value", "status", "source"}
        for x in lines
        if x["type"] == "reading"
    )
    # The export is what `vigil replay` reads: the core's own parser takes every line back.
    from monitor.core.recording import parse_recording

    assert len(parse_recording(recording.splitlines())) == len(lines)
    # ... and replaying it gives the same alarm at the same time into the session.
    (tmp_path / "session.jsonl").write_text(recording)
    r = cli("replay", str(tmp_path / "session.jsonl"), influx_url=influxd.url)
    assert r.returncode == 0, r.stderr
    replayed = [json.loads(x) for x in r.stdout.splitlines()]
    replayed_alarms = [(x["condition"], x["state"]) for x in replayed if x["type"] == "alarm"]
    assert replayed_alarms == [(c, st) for c, st, *_ in transitions]
    assert replayed[[x["type"] for x in replayed].index("alarm")]["t"] == pytest.approx(
        t_active - s["started"], abs=1.0
    )

    # bad input: a reason, never a crash
    bad = [
        ("/api/sessions", {"from": "yesterday"}, 422, "from"),
        ("/api/sessions", {"from": today, "to": "2001-01-01"}, 422, "after"),
        ("/api/sessions", {"room": "Z"}, 404, "Z"),
        ("/api/sessions/nope", {}, 404, "nope"),
        (f"/api/sessions/{sid}/report", {"format": "docx"}, 422, "format"),
        ("/api/stats", {"to": "31/12/2026"}, 422, "to"),
    ]
    for path, params, code, reason in bad:
        r = app.get(path, params=params)
        assert (r.status_code, reason in r.text) == (code, True), (path, params, r.text)

    # -- the CLI gives the same report; the audit chain holds, then breaks on an edit -------
    out = tmp_path / "report.csv"
    r = cli(
        "report",
        sid,
        "--format",
        "csv",
        "-o",
        str(out),
        "--journal",
        str(journal),
        influx_url=influxd.url,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == csv_text
    r = cli(
        "report",
        sid,
        "--format",
        "pdf",
        "-o",
        str(tmp_path / "r.pdf"),
        "--journal",
        str(journal),
        influx_url=influxd.url,
    )
    assert r.returncode == 0 and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")

    j = ("--journal", str(journal))
    r = cli("sessions", "alarms", sid, *j, influx_url=influxd.url)
    assert (
        r.returncode == 0 and json.loads(r.stdout) == app.get(f"/api/sessions/{sid}/alarms").json()
    )
    r = cli(
        "sessions", "list", "--room", "B", "--from", today, "--json", *j, influx_url=influxd.url
    )
    assert json.loads(r.stdout) == listed
    r = cli("stats", "--from", today, "--to", today, "--json", *j, influx_url=influxd.url)
    assert json.loads(r.stdout) == {  # rounded to one decimal for a person
        k: round(v, 1) if isinstance(v, float) else v
        for k, v in stats.items()
        if k not in ("from", "to", "room")
    }

    app.stop()
    r = cli("audit", "verify", "--journal", str(journal), influx_url=influxd.url)
    assert r.returncode == 0 and "intact" in r.stdout, r.stderr
    with sqlite3.connect(journal) as db:
        aid, t = db.execute(
            "SELECT id, t FROM audit WHERE kind = 'alarm' AND payload LIKE '%acknowledged%'"
        ).fetchone()
        db.execute("UPDATE audit SET who = 'someone else' WHERE id = ?", (aid,))
    r = cli("audit", "verify", "--journal", str(journal), influx_url=influxd.url)
    assert r.returncode == 1
    when = datetime.fromtimestamp(t, UTC).isoformat()
    assert f"entry {aid} ({when}, alarm)" in r.stderr, r.stderr
