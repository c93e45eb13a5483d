"""Pushover emergency pages end to end through `vigil run`, against a fake Pushover API on
loopback (the real one is on the internet; its documented calls are what the fake serves).

Three rooms desaturate to a high alarm, each paging one nurse on Pushover:
- B: the nurse taps Acknowledge in the Pushover app and Pushover calls back at once;
- C: the nurse acknowledges in the app but no callback arrives: the receipt poll finds it;
- D: the alarm is acknowledged on the dashboard: Vigil cancels the ringing message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.tokens import new_claim, sign
from tests.conftest import Influxd, VigilProcess, collect_stream, free_port
from tests.receivers import FakePushover, PushoverMessage
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

SECRET = "vL8AhrudkLjMmycWgY4CHT8iUrEogzNV2ug25xiM3lI"  # secrets.token_urlsafe(32)
APP = "a" * 30
USERS = {"B": "b" * 30, "C": "c" * 30, "D": "d" * 30}


def _room(room: str) -> str:
    return f"""
[[alerts.contacts]]
name = "Nurse {room}"
tier = 1
rooms = ["{room}"]
urls = ["pover://{USERS[room]}@{APP}"]

[[rooms]]
id = "{room}"
name = "Room {room}"
[[rooms.devices]]
id = "{room}-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 2, desat_duration_s = 600, nadir = 80 }} }}
"""  # noqa: E501


@pytest.fixture
def pushover(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, FakePushover]]:
    fake = FakePushover(APP, tuple(USERS.values()))
    port = free_port()
    config = tmp_path / "vigil.toml"
    config.write_text(
        f"""
influx_url = "{influxd.url}"
influx_database = "vigil_pushover"
influx_batch_s = 0.2

[alerts]
secret = "{SECRET}"
repeat_s = {{ high = 90.0, medium = 90.0 }}  # no repeat within the test
token_db = "{tmp_path / "tokens.sqlite"}"
ack_base_url = "http://127.0.0.1:{port}"
pushover_api_url = "{fake.url}"
pushover_poll_s = 5
pushover_callback = true
"""
        + "".join(_room(r) for r in USERS)
    )
    app = VigilProcess(config, tmp_path, port=port)
    yield app, fake
    app.stop()
    fake.close()


def _emergency(fake: FakePushover, room: str, priority: str = "2") -> list[PushoverMessage]:
    return [
        m
        for m in list(fake.messages)
        if m.form["user"] == USERS[room] and m.form["priority"] == priority
    ]


def _acked(messages: list[dict[str, Any]], room: str) -> list[tuple[str, str]]:
    return [
        (m["state"], m["by"])
        for m in list(messages)
        if m.get("type") == "alarm" and m["room"] == room and m["state"] == "acknowledged"
    ]


def _notes(messages: list[dict[str, Any]], event: str, room: str) -> list[tuple[Any, ...]]:
    return [
        (m["contact"], m["result"], m.get("detail"))
        for m in list(messages)
        if m.get("type") == "notification" and m["event"] == event and m["room"] == room
    ]


def test_acknowledge_from_the_pushover_app_and_cancel_when_acknowledged_elsewhere(
    pushover: tuple[VigilProcess, FakePushover], influxd: Influxd
) -> None:
    app, fake = pushover
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    try:
        _run(app, fake, messages, influxd)
    finally:
        stop.set()
        reader.join(10)


def _run(
    app: VigilProcess, fake: FakePushover, messages: list[dict[str, Any]], influxd: Influxd
) -> None:
    pages = {r: wait_for(lambda r=r: _emergency(fake, r), 60, f"room {r}'s emergency page")[0]
             for r in USERS}  # fmt: skip

    # -- what was sent: an emergency message with the link and the callback ------------------
    b = pages["B"]
    assert b.form["title"] == "HIGH: SpO2 very low, Room B"
    assert (b.form["priority"], b.form["retry"], b.form["expire"]) == ("2", "30", "900")
    assert b.form["url"].startswith(f"{app.url}/ack/")
    assert b.form["url_title"] == "Acknowledge"
    callback = b.form["callback"]
    assert callback.startswith(f"{app.url}/ack/pushover/")
    assert "Acknowledge: " + b.form["url"] in b.form["message"]

    # -- callbacks that are not Pushover's for this page are refused -----------------------
    token = callback.rsplit("/", 1)[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = httpx.post(f"{app.url}/ack/pushover/{forged}", data={"receipt": b.receipt})
    assert (refused.status_code, refused.json()["reason"]) == (400, "forged")
    link_token = b.form["url"].rsplit("/", 1)[1]  # a link's token is no callback token
    refused = httpx.post(f"{app.url}/ack/pushover/{link_token}", data={"receipt": b.receipt})
    assert refused.status_code == 400
    other = sign(
        new_claim(
            room="B", condition="spo2_low", since=None, contact="Nurse B", channel="pushover",
            exp=2e9,
        ),
        SECRET.encode(),
    )  # fmt: skip
    wrong = httpx.post(
        f"{app.url}/ack/pushover/{other}", data={"receipt": b.receipt, "acknowledged": "1"}
    )
    assert wrong.status_code == 409  # a genuine token, but not the one this receipt got
    for stray in ({"receipt": "x" * 30, "acknowledged": "1"}, {"receipt": b.receipt}, {}):
        # Refused without spending the token: Pushover's real callback still works below.
        assert httpx.post(callback, data=stray).status_code == 409
    assert _acked(messages, "B") == []

    # -- B: acknowledged in the app; Pushover calls back -----------------------------------
    assert fake.acknowledge(b, "nurse-b-iphone", call_back=True) == 200
    acked = wait_for(lambda: _acked(messages, "B"), 3, "B acknowledged")
    assert acked == [("acknowledged", "Nurse B via Pushover app")]
    assert _notes(messages, "ack", "B") == [
        ("Nurse B", "accepted", "acknowledged in the Pushover app on nurse-b-iphone (callback)")
    ]
    again = httpx.post(callback, data={"receipt": b.receipt, "acknowledged": "1"})
    assert again.status_code == 409  # single use

    # -- C: acknowledged in the app, no callback: the receipt poll (every 5 s) finds it -----
    c = pages["C"]
    fake.acknowledge(c, "nurse-c-pixel", call_back=False)
    acked = wait_for(lambda: _acked(messages, "C"), 10, "C acknowledged")
    assert acked == [("acknowledged", "Nurse C via Pushover app")]
    assert _notes(messages, "ack", "C") == [
        (
            "Nurse C",
            "accepted",
            "acknowledged in the Pushover app on nurse-c-pixel (receipt polled)",
        )
    ]

    # -- D: acknowledged on the dashboard: the phone stops ringing -------------------------
    d = pages["D"]
    assert d.cancelled_at is None
    r = app.post("/api/rooms/D/events", json={"event": "ack", "args": {"condition": "spo2_severe"}})
    assert (r.status_code, r.json()) == (200, {"status": "ok", "outcome": "ok"})
    wait_for(lambda: d.cancelled_at is not None, 3, "D's message cancelled")
    # Recorded once Pushover has answered the cancel, a moment after it arrived there.
    notes = wait_for(lambda: _notes(messages, "receipt", "D"), 3, "the cancel recorded")
    assert notes == [("Nurse D", "cancelled", "alarm acknowledged by test-admin")]

    # The medium alarm on the way down (SpO2 < 90) went to the same API at Pushover's high
    # priority: no receipt, nothing rings on.
    medium = _emergency(fake, "B", priority="1")
    assert medium and medium[0].form["title"] == "MEDIUM: SpO2 low, Room B"
    assert not {"retry", "expire", "callback"} & set(medium[0].form)

    # Nothing was cancelled that was acknowledged in the app, and no more pages went out.
    assert (b.cancelled_at, c.cancelled_at) == (None, None)
    assert [len(_emergency(fake, r)) for r in USERS] == [1, 1, 1]

    # -- recorded with the session's data --------------------------------------------------
    def acks() -> list[tuple[str, str]]:
        rows = influxd.query("SELECT * FROM notification WHERE event = 'ack'", db="vigil_pushover")
        return sorted((str(r["room"]), str(r["channel"])) for r in rows)

    wait_for(lambda: acks() == [("B", "pover"), ("C", "pover")], 5, "ack points")
