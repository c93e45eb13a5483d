"""A severe desaturation that resolves before anyone acknowledges it, end to end through
`vigil run` with real webhook receivers on loopback.

SpO2 82 % for 8 s: `spo2_severe` (high) is raised, then resolves within seconds. Nobody
acknowledges: tier 1 is repeated, and tier 2 and tier 3 are still paged on the clock of the
alarm's onset, each page saying the condition has resolved. The POST of an acknowledge link
clears the latched alarm and the pages stop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.notifier import TICK_S
from tests.alerts.test_paging_e2e import ACK_RE, body_lines
from tests.conftest import Influxd, VigilProcess, collect_stream
from tests.paging_helpers import repeats_sent_after
from tests.receivers import HttpReceiver
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

ESCALATE_S = (10.0, 16.0)  # the 8-s dip resolves about 8 s after its onset
REPEAT_S = 2.0
TITLE = "HIGH: SpO2 very low (resolved), Room B"


@pytest.fixture
def app_and_hooks(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, HttpReceiver]]:
    http = HttpReceiver()
    hp = http.port
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_latch"
influx_batch_s = 0.2
escalation_after_s = {{ high = [{ESCALATE_S[0]}, {ESCALATE_S[1]}] }}

[alerts]
secret = "v5pc4DiD9Ci_Z002P2nNOkogO2yeS2749q-YmyjJOJs"  # secrets.token_urlsafe(32)
repeat_s = {{ high = {REPEAT_S}, medium = 60.0 }}
token_db = "{tmp_path / "tokens.sqlite"}"

[[alerts.contacts]]
name = "Nurse A"
tier = 1
rooms = ["B"]
urls = ["json://127.0.0.1:{hp}/nurse"]

[[alerts.contacts]]
name = "Charge"
tier = 2
rooms = ["B"]
urls = ["json://127.0.0.1:{hp}/charge"]

[[alerts.contacts]]
name = "Dr D"
tier = 3
rooms = ["B"]
urls = ["json://127.0.0.1:{hp}/doctor"]

[[alerts.contacts]]
name = "Marker"
tier = 1
rooms = ["M"]
urls = ["json://127.0.0.1:{hp}/marker"]

[[rooms]]
id = "B"
name = "Room B"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 2, desat_duration_s = 8, nadir = 82 }} }}

# Room M stays severe and nobody acknowledges it: its repeats show the notifier ticking on.
[[rooms]]
id = "M"
name = "Room M"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "M-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 2, desat_duration_s = 600, nadir = 82 }} }}
""")  # noqa: E501
    app = VigilProcess(config, tmp_path)
    yield app, http
    app.stop()
    http.close()


def _severe(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m
        for m in list(messages)
        if m.get("type") == "alarm" and m["room"] == "B" and m["condition"] == "spo2_severe"
    ]


def test_a_resolved_severe_desaturation_still_reaches_tiers_2_and_3(
    app_and_hooks: tuple[VigilProcess, HttpReceiver],
) -> None:
    app, http = app_and_hooks
    messages: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_stream, args=(app, messages, stop))
    reader.start()
    try:
        _run(app, http, messages)
    finally:
        stop.set()
        reader.join(10)


def _run(app: VigilProcess, http: HttpReceiver, messages: list[dict[str, Any]]) -> None:
    onset = wait_for(lambda: _severe(messages), 60, "spo2_severe")[0]
    assert (onset["state"], onset["priority"]) == ("active", "high")
    t0 = onset["t"]
    resolved = wait_for(
        lambda: [m for m in _severe(messages) if m["state"] == "resolved"], 15, "resolved"
    )[0]
    assert resolved["t"] - t0 < ESCALATE_S[0]  # resolved before anyone would have been paged

    # -- tier 2 and tier 3 on the onset's clock, each page saying it resolved -----------------
    charge = wait_for(lambda: http.to("/charge"), ESCALATE_S[0] + 3, "tier 2")[0]
    assert ESCALATE_S[0] - 0.1 <= charge.t - t0 <= ESCALATE_S[0] + 1.6
    doctor = wait_for(lambda: http.to("/doctor"), ESCALATE_S[1] - ESCALATE_S[0] + 3, "tier 3")[0]
    assert ESCALATE_S[1] - 0.1 <= doctor.t - t0 <= ESCALATE_S[1] + 1.6
    for page, tier in ((charge, 2), (doctor, 3)):
        assert page.body["title"] == "ESCALATED " + TITLE
        lines = body_lines(page)
        assert lines[1].startswith("RESOLVED, not acknowledged"), lines
        assert lines[2].startswith("back to "), lines
        assert f"Escalated to tier {tier}: not acknowledged yet." in lines
    # The stream may carry the transition a moment after the receiver has its page.
    wait_for(
        lambda: (
            [(m["state"], m["tier"]) for m in _severe(messages) if m["tier"] > 1]
            == [("resolved", 2), ("resolved", 3)]
        ),
        5,
        lambda: f"both escalations on the stream: {_severe(messages)}",
    )
    nurse_titles = [p.body["title"] for p in http.to("/nurse")]
    assert nurse_titles[0] == "HIGH: SpO2 very low, Room B"
    assert "REPEAT " + TITLE in nurse_titles

    # -- the dashboard's view: still there, resolved, at tier 3 --------------------------------
    room = app.get("/api/rooms/B").json()
    assert [(a["condition"], a["state"], a["tier"]) for a in room["alarms"]] == [
        ("spo2_severe", "resolved", 3)
    ]

    # -- acknowledging clears it; nothing more is sent -----------------------------------------
    link = ACK_RE.search(http.to("/doctor")[-1].text)
    assert link is not None
    done = app.post(f"/ack/{link[2]}")
    assert done.status_code == 200 and "Acknowledged" in done.text
    cleared = wait_for(
        lambda: [m for m in _severe(messages) if m["state"] == "cleared"], 3, "cleared"
    )
    assert [(m["by"], m["tier"]) for m in cleared] == [("Dr D via webhook", 3)]
    # Nothing more for B once the notifier has ticked past B's next repeat (room M's repeat
    # is the marker). A page already handed to the sender may still land just after the ack.
    b_due = cleared[0]["t"] + REPEAT_S + TICK_S
    wait_for(lambda: repeats_sent_after(messages, "M", b_due), REPEAT_S + 5, "a repeat of M")
    late = [
        (path, p.body["title"])
        for path in ("/nurse", "/charge", "/doctor")
        for p in http.to(path)
        if p.t > cleared[0]["t"] + 0.5
    ]
    assert late == []
    assert app.get("/api/rooms/B").json()["alarms"] == []
