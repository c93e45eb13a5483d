"""The admin API against the real app (`vigil run` under uvicorn, real influxd, a real
webhook receiver): changes validated as the TOML is, written back readable, audited, rules
applied live to a running room; the clinic-wide alarm log and the hand-off view."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_settings
from tests.conftest import Influxd, VigilProcess
from tests.receivers import HttpReceiver
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

SECRET = "Vq3xT9mLp2Zr7KwB4nYc8HdF1sJg6QeU0aRtXoNi5Pk"  # random: main checks entropy
CONFIG = """\
# Clinic config: kept by IT in git. Comments must survive the admin page.
influx_url = "{url}"
influx_database = "vigil_admin"
influx_batch_s = 0.2

[[rooms]]
id = "A"  # the big room
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}

[alerts]
secret = "{secret}"
[[alerts.contacts]]
name = "Ana"
tier = 1
urls = ["json://127.0.0.1:{hp}/ana-hook?token=s3cret"]

[rules.conditions.spo2_low]
delay_s = 15  # the director's choice
"""


@pytest.fixture(scope="module")
def hooks() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def app(
    influxd: Influxd, hooks: HttpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VigilProcess]:
    workdir: Path = tmp_path_factory.mktemp("admin-api")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url, secret=SECRET, hp=hooks.port))
    proc = VigilProcess(config, workdir)
    yield proc
    proc.stop()


def config_path(app: VigilProcess) -> Path:
    return app.workdir / "vigil.toml"


def audit_entries(app: VigilProcess, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The audit entries of `kind` as written to the journal (who, payload)."""
    db = sqlite3.connect(app.workdir / ".vigil" / "journal.sqlite3")
    try:
        rows = db.execute("SELECT who, payload FROM audit WHERE kind = ? ORDER BY id", (kind,))
        return [(who, json.loads(p)) for who, p in rows]
    finally:
        db.close()


def admin_entries(app: VigilProcess) -> list[tuple[str, dict[str, Any]]]:
    return audit_entries(app, "admin")


def room_alarm(app: VigilProcess, condition: str) -> dict[str, Any] | None:
    room = app.get("/api/rooms/A").json()
    return next((a for a in room.get("alarms", []) if a["condition"] == condition), None)


def test_non_admin_is_refused(app: VigilProcess) -> None:
    nurse = app.user_token("nurse-ned", "nurse")
    with app.client(nurse) as c:
        assert c.get("/api/admin/config").status_code == 403
        r = c.put("/api/admin/rules/conditions/spo2_low", json={"delay_s": 5})
        assert r.status_code == 403
        assert c.post("/api/admin/contacts/Ana/test").status_code == 403
        # The alarm log and the hand-off are for every signed-in person.
        assert c.get("/api/alarms").status_code == 200
        assert c.get("/api/handoff?hours=1").status_code == 200
    with app.client("") as anonymous:
        assert anonymous.get("/api/admin/config").status_code == 401


def test_invalid_change_names_the_field_and_leaves_the_file(app: VigilProcess) -> None:
    before = config_path(app).read_bytes()
    with app.client() as c:
        r = c.put("/api/admin/rules/conditions/spo2_low", json={"delay_s": -3})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("rules.conditions.spo2_low.delay_s: ")
        r = c.put("/api/admin/rooms/A/devices/A-cuff", json={"protocol": "masimo-ascii"})
        assert r.status_code == 422
        assert "rooms.0.devices.1: give either 'port'" in r.json()["detail"]
        r = c.put("/api/admin/contacts/Bo", json={"tier": "2", "urls": ["json://x"]})
        assert r.status_code == 422 and "alerts.contacts.1.tier" in r.json()["detail"]
        assert c.delete("/api/admin/rooms/A/devices/nope").status_code == 404
    assert config_path(app).read_bytes() == before


def test_rule_change_applies_live_is_written_back_and_audited(app: VigilProcess) -> None:
    # Room A's steady oximeter reads about 97 %: a limit of 99 % makes it alarm at once.
    wait_for(lambda: app.get("/api/rooms/A").json().get("latest", {}).get("spo2"), 15, "SpO2")
    assert room_alarm(app, "spo2_low") is None
    strict = {"delay_s": 0, "limits": [{"channel": "spo2", "comparator": "<", "absolute": 99}]}
    with app.client() as c:
        r = c.put("/api/admin/rules/conditions/spo2_low", json=strict)
    assert r.status_code == 200, r.text
    assert r.json()["live"] == ["rules applied in rooms A"]
    assert r.json()["pending_restart"] == []
    alarm = wait_for(lambda: room_alarm(app, "spo2_low"), 15, "spo2_low")
    assert alarm["limit"] == 99

    text = config_path(app).read_text()
    assert "# Clinic config: kept by IT in git." in text and 'id = "A"  # the big room' in text
    assert "delay_s = 15" not in text and "absolute = 99" in text
    assert load_settings(config_path(app)).rules.conditions["spo2_low"].delay_s == 0
    assert "delay_s = 15  # the director's choice" in (
        config_path(app).with_name("vigil.toml.bak").read_text()
    )
    who, entry = admin_entries(app)[-1]
    assert who == "test-admin"
    assert (entry["what"], entry["target"], entry["value"]) == ("rules", "spo2_low", strict)
    # The running configuration's audit entry follows the live change.
    who, running = audit_entries(app, "config")[-1]
    assert who == "test-admin"
    assert running["rules"]["conditions"]["spo2_low"]["limits"][0]["absolute"] == 99

    # Acknowledged, then the override removed: back to the default (90 %), the alarm ends.
    with app.client() as c:
        r = c.post("/api/rooms/A/events", json={"event": "ack", "args": {"condition": "spo2_low"}})
        assert r.status_code == 200, r.text
        assert c.delete("/api/admin/rules/conditions/spo2_low").status_code == 200
    wait_for(lambda: room_alarm(app, "spo2_low") is None or None, 15, "spo2_low over")
    assert "[rules.conditions.spo2_low]" not in config_path(app).read_text()
    assert load_settings(config_path(app)).rules.conditions["spo2_low"].delay_s > 0  # default

    log = app.get("/api/alarms", params={"room": "A", "priority": alarm["priority"]}).json()
    ep = next(e for e in log["episodes"] if e["condition"] == "spo2_low")
    assert ep["acknowledged_by"] == "test-admin" and ep["time_to_ack_s"] >= 0
    assert ep["ended"] is not None
    mine = app.get("/api/alarms", params={"acknowledged_by": "test-admin"}).json()
    assert [e["condition"] for e in mine["episodes"]] == ["spo2_low"]
    assert app.get("/api/alarms", params={"acknowledged_by": "nobody"}).json()["episodes"] == []
    assert app.get("/api/alarms", params={"room": "Z"}).json()["episodes"] == []

    hand = app.get("/api/handoff", params={"hours": 1}).json()
    room = next(r for r in hand["rooms"] if r["room"] == "A")
    assert room["name"] == "Room A"
    assert [a["condition"] for a in room["alarms"]] == ["spo2_low"]
    assert room["acknowledgements"][0]["by"] == "test-admin"


def test_contact_edit_keeps_urls_test_page_reaches_the_phone_and_secrets_stay_out(
    app: VigilProcess, hooks: HttpReceiver
) -> None:
    with app.client() as c:
        r = c.put("/api/admin/contacts/Ana", json={"tier": 1, "rooms": ["A"]})
        assert r.status_code == 200, r.text
        assert r.json()["live"] == ["paging contacts applied"]
        view = c.get("/api/admin/config").json()
        assert view["contacts"] == [
            {"name": "Ana", "tier": 1, "rooms": ["A"], "channels": ["json://…"]}
        ]
        r = c.post("/api/admin/contacts/Ana/test")
    assert r.status_code == 200
    assert r.json()["results"] == [{"channel": "webhook", "ok": True, "why": ""}]
    assert "no action needed" in hooks.to("/ana-hook")[-1].text
    assert "s3cret" in config_path(app).read_text()  # kept in the file
    journal = (app.workdir / ".vigil" / "journal.sqlite3").read_bytes()
    assert b"s3cret" not in journal  # never in the audit trail


def test_device_change_waits_for_restart_and_test_connection_reads_it(app: VigilProcess) -> None:
    new = {"protocol": "masimo-ascii", "simulate": {"scenario": "steady", "interval_s": 0.3}}
    with app.client() as c:
        r = c.put("/api/admin/rooms/A/devices/A-ox2", json=new)
        assert r.status_code == 200, r.text
        assert r.json()["pending_restart"] == ["devices"]
        assert c.get("/api/admin/config").json()["pending_restart"] == ["devices"]
        opened = probe(c, "A-ox2", 3)
        running = probe(c, "A-ox", 3)
    assert opened[0] == {"type": "info", "text": "opened A-ox2 (masimo-ascii) through its driver"}
    assert {m["channel"] for m in opened if m["type"] == "reading"} >= {"spo2", "pulse_rate"}
    assert opened[-1]["type"] == "end" and opened[-1]["readings"] >= 3
    assert running[0]["text"].startswith("A-ox runs in room A: its live readings")
    assert any(m["type"] == "reading" and m["source"] == "A-ox" for m in running)
    # A port that is not there: the driver's own words, not a crash.
    with app.client() as c:
        gone = {"protocol": "masimo-ascii", "port": "/dev/ttyVIGILgone"}
        assert c.put("/api/admin/rooms/A/devices/A-gone", json=gone).status_code == 200
        failed = probe(c, "A-gone", 1)
        assert c.delete("/api/admin/rooms/A/devices/A-gone").status_code == 200
    states = {(m["state"], m["detail"].split(":")[0]) for m in failed if m["type"] == "device"}
    assert ("disconnected", "open failed") in states
    assert failed[-1] == {"type": "end", "readings": 0, "frames": 0, "dropped": {}}
    # The test did not disturb the running room: its oximeter is still connected.
    devices = app.get("/api/rooms/A").json()["devices"]
    assert [d["state"] for d in devices if d["id"] == "A-ox"] == ["connected"]


def probe(client: Any, device: str, seconds: float) -> list[dict[str, Any]]:
    body = {"room": "A", "device": device, "seconds": seconds}
    with client.stream("POST", "/api/admin/devices/test", json=body, timeout=20) as r:
        assert r.status_code == 200
        return [json.loads(line) for line in r.iter_lines() if line]


def test_rule_settings_sections_live_or_at_restart(app: VigilProcess) -> None:
    with app.client() as c:
        r = c.put("/api/admin/rules/technical", json={"stale_after_s": 0})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("rules.technical.stale_after_s: ")
        assert c.put("/api/admin/rules/nonsense", json={}).status_code == 404
        r = c.put("/api/admin/rules/technical", json={"stale_after_s": 15})
        assert r.status_code == 200 and "rules" not in r.json()["pending_restart"]
        # Smoothing windows are built when a room starts: this one waits, and says so.
        r = c.put("/api/admin/rules/conditioning", json={"smoothing_window_s": 8})
        assert r.status_code == 200 and "rules" in r.json()["pending_restart"]
        view = c.get("/api/admin/config").json()
        assert view["section_overrides"] == {
            "technical": {"stale_after_s": 15},
            "conditioning": {"smoothing_window_s": 8},
        }
        assert view["rule_sections"]["technical"]["stale_after_s"] == 15
        r = c.delete("/api/admin/rules/conditioning")
        assert r.status_code == 200 and "rules" not in r.json()["pending_restart"]
    assert load_settings(config_path(app)).rules.technical.stale_after_s == 15
