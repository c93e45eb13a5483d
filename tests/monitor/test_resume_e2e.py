"""Fault test (issue #11): `vigil run` SIGKILLed mid-session comes back with the session.

Real components: `vigil run` as a subprocess (its own journal), a real influxd, a simulated
Masimo oximeter on a pseudo-terminal, a second oximeter whose port does not exist, and a
loopback webhook as the nurse's phone. Before the kill: a session with a baseline entered by
a clinician and a dose, a severe desaturation that resolved unacknowledged (latched, high),
and the missing device's `device_disconnected` acknowledged by a nurse. After a restart on
the same journal: the same session (id, phase, dose time, baseline and who confirmed it),
the latched alarm still unacknowledged and paged again, the acknowledged one still
acknowledged and not paged, `monitoring_interrupted` raised and paged, audit `resumed`; and
the time from process start to protection back (rooms resumed, alarms evaluated) measured.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from monitor.restart import process_started_at
from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import NURSE, NURSE_PASSWORD, browser, close_pages
from tests.receivers import HttpReceiver
from tests.waiting import wait_for

__all__ = ["browser", "close_pages"]  # fixtures shared with the dashboard tests

pytestmark = pytest.mark.slow

BASELINE = {"spo2": 97, "pulse_rate": 72, "sbp": 120, "dbp": 80}
# IEC 60601-1-8: alarm settings survive a power interruption of up to 30 s. Issue #11 aims at
# 10 s; measured here 1.2–6.6 s from process start, most of it Python importing Vigil (up to
# about 10 s while the 2-core machine ran other suites): the bound is the standard's.
PROTECTION_BACK_S = 30.0


def config(influx_url: str, hook_port: int, scenario: str) -> str:
    return f"""
influx_url = "{influx_url}"
influx_database = "vigil_resume"
influx_batch_s = 0.2
journal_commit_window_s = 0.05
escalation_after_s = {{ high = [600, 1200], medium = [600, 1200] }}

[alerts]
secret = "VsXJQ7UTsV7neJXLWPRO-1cOOqdxTmniejuK-XlmInE"
repeat_s = {{ high = 2.0, medium = 600.0 }}

[[alerts.contacts]]
name = "Nurse A"
tier = 1
rooms = ["A"]
urls = ["json://127.0.0.1:{hook_port}/nurse"]

[[rooms]]
id = "A"
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "{scenario}", interval_s = 0.5, options = {{ desat_start_s = 3, desat_duration_s = 8, nadir = 82 }} }}
[[rooms.devices]]
id = "A-spare"
protocol = "masimo-ascii"
port = "/dev/vigil-test-no-such-port"
"""  # noqa: E501


def alarms(app: VigilProcess) -> dict[str, dict[str, Any]]:
    return {a["condition"]: a for a in app.get("/api/rooms/A").json()["alarms"]}


def pages(http: HttpReceiver, since: float) -> list[str]:
    return [str(r.body.get("title", "")) for r in http.to("/nurse") if r.t >= since]


def test_sigkill_mid_session_resumes_it(influxd: Influxd, tmp_path: Path, browser: Browser) -> None:
    http = HttpReceiver()
    cfg = tmp_path / "vigil.toml"
    cfg.write_text(config(influxd.url, http.port, "desaturation"))
    app = VigilProcess(cfg, tmp_path)
    try:
        clinician = {"Authorization": f"Bearer {app.user_token('dr_k', 'clinician')}"}
        nurse = {"Authorization": f"Bearer {app.user_token(NURSE, 'nurse', NURSE_PASSWORD)}"}
        with app.client(token="") as c:
            for event, args in (("session_start", {"pseudonym": "K-9"}), ("baseline", BASELINE)):
                r = c.post(
                    "/api/rooms/A/events", json={"event": event, "args": args}, headers=clinician
                )
                assert r.is_success, r.text
            r = c.post("/api/rooms/A/events", json={"event": "dose", "args": {}}, headers=clinician)
            assert r.json().get("outcome") == "ok", r.text
            # The dip (82 % for 8 s) raises spo2_severe, which latches when SpO2 recovers.
            wait_for(
                lambda: alarms(app).get("spo2_severe", {}).get("state") == "resolved",
                40,
                "a latched spo2_severe",
            )
            wait_for(lambda: "device_disconnected" in alarms(app), 20, "device_disconnected")
            ack = {"event": "ack", "args": {"condition": "device_disconnected"}}
            r = c.post("/api/rooms/A/events", json=ack, headers=nurse)
            assert r.json().get("outcome") == "ok", r.text
        before = app.get("/api/rooms/A").json()
        [session] = app.get("/api/sessions", params={"room": "A"}).json()
        journal = tmp_path / ".vigil" / "journal.sqlite3"
        wait_for(lambda: _acks(journal), 5, "the ack in the journal")
    finally:
        app.proc.kill()  # SIGKILL: no shutdown at all
        app.proc.wait()
        app.stop()
    killed_at = time.time()
    assert before["alarms"] and before["session"]["baseline_confirmed_by"] == "dr_k"

    # The patient is fine now: the restarted simulator sends a steady trace.
    cfg.write_text(config(influxd.url, http.port, "steady"))
    spawned = time.time()
    again = VigilProcess(cfg, tmp_path)
    try:
        health = wait_for(
            lambda: (h := again.get("/api/health").json())["resume"]["protection_back_t"] and h,
            30,
            "the room resumed",
        )
        started = process_started_at(again.proc.pid)
        assert started is not None
        protection_s = health["resume"]["protection_back_t"] - started
        print(f"protection back {protection_s:.2f} s after process start")
        room = again.get("/api/rooms/A").json()
        now = alarms(again)
        listed = again.get("/api/sessions", params={"room": "A"}).json()
        wait_for(lambda: len(pages(http, spawned)) >= 2, 10, "the pages after the restart")
        after_pages = pages(http, spawned)
        # On the dashboard: the technical banner says why; a nurse acknowledges it there.
        page = browser.new_context().new_page()
        page.goto(again.url + "/login")
        page.fill("#username", NURSE)
        page.fill("#password", NURSE_PASSWORD)
        page.click("#login-button")
        expect(page.locator("#tech")).to_contain_text(
            "Room A: Vigil restarted: monitoring was interrupted (Vigil was not monitoring for",
            timeout=10_000,
        )
        item = page.locator(
            'section.room[data-room="A"] li.alarm[data-condition="monitoring_interrupted"]'
        )
        item.get_by_role("button", name="✔ Acknowledge").click()
        expect(item).to_have_count(0, timeout=5_000)
        assert "monitoring_interrupted" not in alarms(again)
        acknowledged = again.get("/api/health").json()["resume"]
    finally:
        again.stop()
        http.close()

    assert health["status"] == "degraded"
    # Health says so until the interruption is acknowledged.
    assert health["resume"]["status"] == "attention"
    assert health["resume"]["rooms"]["A"]["interruption_unacknowledged"] is True
    assert acknowledged["status"] == "ok"
    assert health["resume"]["rooms"]["A"]["state"] == "resumed"
    assert health["resume"]["rooms"]["A"]["session"] == session["id"]
    assert protection_s < PROTECTION_BACK_S
    # Vigil measures the same moment itself (its own /proc entry, read at start).
    assert health["resume"]["protection_back_s"] == pytest.approx(protection_s, abs=0.05)
    # Same session, phase, dose, baseline and who confirmed it.
    assert [s["id"] for s in listed] == [session["id"]] and listed[0]["ended"] is None
    for key in ("phase", "dose_t", "baseline", "baseline_status"):
        assert room[key] == before[key], key
    for key in ("started_t", "pseudonym", "dose_by", "baseline_confirmed_by", "started_by"):
        assert room["session"][key] == before["session"][key], key
    assert room["phase"] == "dosed" and room["session"]["pseudonym"] == "K-9"
    # The latched alarm is still unacknowledged; the acknowledged one still acknowledged.
    assert (now["spo2_severe"]["state"], now["spo2_severe"]["since"]) == (
        "resolved",
        before_alarm(before, "spo2_severe")["since"],
    )
    assert (now["device_disconnected"]["state"], now["device_disconnected"]["by"]) == (
        "acknowledged",
        NURSE,
    )
    interrupted = now["monitoring_interrupted"]
    assert (interrupted["state"], interrupted["priority"]) == ("active", "medium")
    gap_s = health["resume"]["rooms"]["A"]["gap_s"]
    assert 0 < gap_s < spawned - killed_at + 15 and f"{gap_s:.0f} s" in interrupted["reason"]
    # Paging resumed for what nobody acknowledged, not for the acknowledged alarm.
    assert any("SpO2 very low" in t for t in after_pages), after_pages
    assert any("monitoring was interrupted" in t for t in after_pages), after_pages
    assert not any("isconnect" in t for t in after_pages), after_pages
    with sqlite3.connect(tmp_path / ".vigil" / "journal.sqlite3") as db:
        resumed = db.execute("SELECT session, payload FROM audit WHERE kind = 'resumed'").fetchall()
        # The replay journaled nothing again: one onset of the latched alarm.
        onsets = db.execute(
            "SELECT count(*) FROM points WHERE kind = 'alarm' AND room = 'A' "
            "AND json_extract(payload, '$.condition') = 'spo2_severe' "
            "AND json_extract(payload, '$.state') = 'active'"
        ).fetchone()[0]
    assert [sid for sid, _ in resumed] == [session["id"]]
    assert onsets == 1


def before_alarm(view: dict[str, Any], condition: str) -> dict[str, Any]:
    return next(a for a in view["alarms"] if a["condition"] == condition)


def _acks(journal: Path) -> bool:
    with sqlite3.connect(journal) as db:
        n = db.execute(
            "SELECT count(*) FROM audit WHERE kind = 'control' "
            "AND json_extract(payload, '$.event') = 'ack'"
        ).fetchone()[0]
    return bool(n)
