"""Paging end to end through `vigil run`: real ntfy/JSON-webhook/SMTP receivers on loopback.

Room B desaturates and nobody answers at first: tier 1 (ntfy + webhook) is paged at once and
repeated, tier 2 (webhook) and tier 3 (mail) are paged on escalation; then the nurse opens
the link (GET: a confirm page, no acknowledgement) and confirms (POST): the acknowledgement
reaches the stream with who and which channel, and nothing more is sent. Room C's only
contact is a closed port: `notify_failed` is raised.
"""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.notifier import TICK_S
from alerts.tokens import new_claim, sign
from tests.conftest import Influxd, VigilProcess, collect_stream, free_port
from tests.paging_helpers import repeats_sent_after
from tests.receivers import HttpReceiver, MailReceiver, Received
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

SECRET = "BADlhphvdhu8npy1o9IzZXnkjjFw4G7Wip-tEiDpzRY"  # secrets.token_urlsafe(32)
REPEAT_S = 2.0
ESCALATE_S = (3.0, 6.0)
ACK_RE = re.compile(r"Acknowledge: (http://\S+/ack/(\S+))")


def body_lines(r: Received) -> list[str]:
    return str(r.body["message"]).splitlines()


def mail_text(raw: str) -> str:
    msg = email.message_from_string(raw)
    parts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return f"{msg['Subject']}\n{payload.decode()}"


@pytest.fixture
def paging(
    influxd: Influxd, tmp_path: Path
) -> Iterator[tuple[VigilProcess, HttpReceiver, MailReceiver]]:
    http = HttpReceiver()
    mail = MailReceiver()
    closed = free_port()  # nothing listens there
    hp, mp = http.port, mail.port
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_alerts"
influx_batch_s = 0.2
escalation_after_s = {{ medium = [{ESCALATE_S[0]}, {ESCALATE_S[1]}] }}

[alerts]
secret = "{SECRET}"
repeat_s = {{ high = 2.0, medium = {REPEAT_S} }}
retry_attempts = 2
backoff_initial_s = 0.1
token_db = "{tmp_path / "tokens.sqlite"}"

[[alerts.contacts]]
name = "Nurse A"
tier = 1
rooms = ["B"]
urls = ["ntfy://127.0.0.1:{hp}/nurse-a", "json://127.0.0.1:{hp}/nurse-a-hook"]

[[alerts.contacts]]
name = "Charge"
tier = 2
rooms = ["B"]
urls = ["json://127.0.0.1:{hp}/charge"]

[[alerts.contacts]]
name = "Dr D"
tier = 3
rooms = ["B"]
urls = ["mailto://127.0.0.1:{mp}?mode=insecure&from=vigil@clinic.test&to=dr@clinic.test"]

[[alerts.contacts]]
name = "Nurse C"
tier = 1
rooms = ["C"]
urls = ["json://127.0.0.1:{closed}/nobody"]

[[rooms]]
id = "B"
name = "Room B"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 2, desat_duration_s = 600 }} }}

[[rooms]]
id = "C"
name = "Room C"
[[rooms.devices]]
id = "C-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 2, desat_duration_s = 600 }} }}
""")  # noqa: E501
    app = VigilProcess(config, tmp_path)
    yield app, http, mail
    app.stop()
    http.close()
    mail.close()


def test_page_repeat_escalate_ack_and_notify_failed(
    paging: tuple[VigilProcess, HttpReceiver, MailReceiver], influxd: Influxd
) -> None:
    app, http, mail = paging
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    try:
        _run(app, http, mail, messages, influxd)
    finally:
        stop.set()
        reader.join(10)


def _alarms(messages: list[dict[str, Any]], room: str, condition: str) -> list[dict[str, Any]]:
    return [
        m
        for m in list(messages)
        if m.get("type") == "alarm" and m["room"] == room and m["condition"] == condition
    ]


def _run(
    app: VigilProcess,
    http: HttpReceiver,
    mail: MailReceiver,
    messages: list[dict[str, Any]],
    influxd: Influxd,
) -> None:
    # -- the first page: within a second of the alarm, with the expected content ------------
    active = wait_for(lambda: _alarms(messages, "B", "spo2_low"), 60, "B's alarm")[0]
    assert active["state"] == "active"
    t0 = active["t"]
    first_ntfy = wait_for(lambda: http.to("/nurse-a"), 2, "the ntfy page")[0]
    first_hook = wait_for(lambda: http.to("/nurse-a-hook"), 2, "the webhook page")[0]
    assert first_ntfy.t - t0 < 1.0 and first_hook.t - t0 < 1.0

    assert first_hook.body["title"] == "MEDIUM: SpO2 low, Room B"
    assert first_hook.body["type"] == "warning"
    lines = body_lines(first_hook)
    assert lines[0] == "SpO2 low in Room B (medium priority)"
    assert re.fullmatch(r"now \d+(\.\d)?%, limit 90%", lines[1]), lines
    assert re.fullmatch(r"Alarm since \d\d:\d\d:\d\d", lines[2]), lines
    assert lines[3] == "0 min since dose"
    assert re.fullmatch(r"Sent \d\d:\d\d:\d\d", lines[4]), lines
    assert ACK_RE.fullmatch(lines[5]), lines
    assert lines[6].startswith("Vigil is a secondary alarm")
    assert len(lines) == 7  # nothing else: no patient identity, by construction
    assert body_lines(first_ntfy)[:5] == lines[:5]
    ntfy_link = ACK_RE.fullmatch(body_lines(first_ntfy)[5])
    assert ntfy_link is not None
    assert first_ntfy.headers["X-Priority"] == "high"
    assert first_ntfy.headers["X-Actions"] == (
        f"http, Acknowledge, {ntfy_link[1]}, method=POST, clear=true"
    )
    assert first_ntfy.headers["X-Click"] == ntfy_link[1]
    assert ntfy_link[1].startswith(app.url + "/ack/")

    # -- nobody answers: repeats to tier 1, tier 2 and then tier 3 paged on time --------------
    charge = wait_for(lambda: http.to("/charge"), ESCALATE_S[0] + 3, "tier 2")[0]
    assert ESCALATE_S[0] - 0.1 <= charge.t - t0 <= ESCALATE_S[0] + 1.6
    assert charge.body["title"] == "ESCALATED MEDIUM: SpO2 low, Room B"
    assert "Escalated to tier 2: not acknowledged yet." in body_lines(charge)
    doctor = wait_for(lambda: list(mail.messages), ESCALATE_S[1] - 2, "tier 3 mail")[0]
    assert ESCALATE_S[1] - 0.1 <= doctor.t - t0 <= ESCALATE_S[1] + 1.6
    assert doctor.to == ["dr@clinic.test"]
    text = mail_text(doctor.content)
    assert text.startswith("ESCALATED MEDIUM: SpO2 low, Room B\n")
    assert "Escalated to tier 3: not acknowledged yet." in text
    assert ACK_RE.search(text)

    hook_pages = http.to("/nurse-a-hook")
    assert [p.body["title"] for p in hook_pages[1:3]] == ["REPEAT MEDIUM: SpO2 low, Room B"] * 2
    gaps = [b.t - a.t for a, b in zip(hook_pages, hook_pages[1:4], strict=False)]
    assert all(REPEAT_S - 0.3 <= g <= REPEAT_S + 0.5 for g in gaps), gaps

    # -- the link: GET shows a confirm page and does NOT acknowledge ----------------------------
    link = ACK_RE.fullmatch(body_lines(http.to("/nurse-a-hook")[-1])[5])
    assert link is not None
    url, token = link[1], link[2]
    page = app.get(f"/ack/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Acknowledge this alarm?" in page.text and 'method="post"' in page.text
    assert "SpO2 low in Room B" in page.text and "Nurse A (webhook)" in page.text
    # Still unacknowledged: the nurse is paged again after the GET.
    got_at = time.time()
    wait_for(
        lambda: [p for p in http.to("/nurse-a-hook") if p.t > got_at + TICK_S],
        REPEAT_S + 2,
        "a repeat after the GET",
    )
    room = app.get("/api/rooms/B").json()
    assert [(a["condition"], a["state"]) for a in room["alarms"]] == [("spo2_low", "escalated")]
    assert all(m["state"] != "acknowledged" for m in _alarms(messages, "B", "spo2_low"))

    # -- POST acknowledges: the stream shows who and through which channel -------------------
    done = app.post(f"/ack/{token}")
    assert done.status_code == 200 and "Acknowledged" in done.text
    acked = wait_for(
        lambda: [m for m in _alarms(messages, "B", "spo2_low") if m["state"] == "acknowledged"],
        2,
        "acknowledged on the stream",
    )
    assert [(m["by"], m["tier"]) for m in acked] == [("Nurse A via webhook", 3)]
    sent_before = len(http.requests), len(mail.messages)
    # Nothing more once the notifier has ticked past B's next repeat (room C is still
    # repeated: the marker).
    b_due = acked[0]["t"] + REPEAT_S + TICK_S
    wait_for(lambda: repeats_sent_after(messages, "C", b_due), REPEAT_S + 5, "a repeat of C")
    assert (len(http.requests), len(mail.messages)) == sent_before
    assert app.get("/api/rooms/B").json()["alarms"][0]["state"] == "acknowledged"

    # -- reused, forged and expired links are refused with a clear page ------------------------
    reused = app.post(f"/ack/{token}")
    assert (reused.status_code, "already been used" in reused.text) == (409, True)
    assert app.get(f"/ack/{token}").status_code == 409
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for response in (app.get(f"/ack/{forged}"), app.post(f"/ack/{forged}")):
        assert (response.status_code, "not valid" in response.text) == (400, True)
    expired = sign(
        new_claim(
            room="B",
            condition="spo2_low",
            since=t0,
            contact="Nurse A",
            channel="json",
            exp=time.time() - 1,
        ),
        SECRET.encode(),
    )
    response = app.post(f"/ack/{expired}")
    assert (response.status_code, "expired" in response.text) == (410, True)
    assert url.endswith(token)

    # -- room C's only contact is unreachable: notify_failed (high, technical) -----------------
    failed = wait_for(lambda: _alarms(messages, "C", "notify_failed"), 5, "notify_failed")
    assert [(m["state"], m["priority"], m["kind"]) for m in failed][:1] == [
        ("active", "high", "technical")
    ]
    assert "tier 1 could not be paged about spo2_low" in failed[0]["reason"]
    # ... and whoever watches the console or the health check sees it too.
    paging = app.get("/api/health").json()["paging"]
    assert (paging["status"], paging["unreachable_tiers"]) == ("degraded", {"C": [1]})
    assert "room C: tier 1 could not be paged about spo2_low" in app.log_path.read_text()
    notes = [m for m in list(messages) if m.get("type") == "notification"]
    c_attempts = [
        (m["contact"], m["attempt"], m["result"])
        for m in notes
        if m["event"] == "delivery" and m["room"] == "C" and m["condition"] == "spo2_low"
    ]
    assert c_attempts[:2] == [("Nurse C", 1, "failed"), ("Nurse C", 2, "failed")]
    assert any(m["event"] == "ack" and m["contact"] == "Nurse A" for m in notes)
    assert {m["tier"] for m in notes if m["event"] == "escalation" and m["room"] == "B"} == {2, 3}

    # -- and everything is recorded with the session's data ------------------------------------
    def recorded() -> set[str]:
        rows = influxd.query(
            "SELECT count(tier) FROM notification GROUP BY event", db="vigil_alerts"
        )
        return {str(r["event"]) for r in rows}

    wait_for(
        lambda: {"delivery", "escalation", "notify_failed"} <= recorded(), 5, "notification points"
    )
    rows = influxd.query("SELECT * FROM notification WHERE event = 'ack'", db="vigil_alerts")
    assert [(r["contact"], r["channel"], r["room"]) for r in rows] == [("Nurse A", "json", "B")]
