"""The live dashboard in a real headless Chromium against the real app with simulated rooms.

Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ROOT, Influxd, VigilProcess

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The page may sound its alarm without a click first, as a wall display must.
    "--autoplay-policy=no-user-gesture-required",
]
NURSE, NURSE_PASSWORD = "nurse-ana", "ana-password-42"
CLINICIAN, CLINICIAN_PASSWORD = "doc-kim", "kim-password-42"

CONFIG = """
timezone = "America/New_York"
influx_url = "{url}"
influx_database = "vigil_browser"
influx_batch_s = 0.2

[[rooms]]
id = "A"
name = "Room A"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}

[[rooms]]
id = "B"
name = "Room B"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "B-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "desaturation"
interval_s = 0.5
options = {{ desat_start_s = 2, desat_duration_s = 90 }}

[[rooms]]
id = "C"
name = "Room C"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "C-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "desaturation"
interval_s = 0.5
options = {{ desat_start_s = 2, desat_duration_s = 90 }}
"""


def start_app(influxd: Influxd, workdir: Path, rooms: str = "ABC") -> VigilProcess:
    config = workdir / "vigil.toml"
    text = CONFIG.format(url=influxd.url)
    if rooms == "A":  # room A alone: nothing alarms, so only the link decides the sound
        text = text[: text.index('[[rooms]]\nid = "B"')]
    config.write_text(text)
    proc = VigilProcess(config, workdir)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    proc.user_token(CLINICIAN, "clinician", CLINICIAN_PASSWORD)
    return proc


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    proc = start_app(influxd, tmp_path_factory.mktemp("browser"))
    yield proc
    proc.stop()


@pytest.fixture
def own_app(influxd: Influxd, tmp_path: Path) -> Iterator[VigilProcess]:
    """A server of its own, for the test that kills it."""
    proc = start_app(influxd, tmp_path, rooms="A")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def close_pages(browser: Browser) -> Iterator[None]:
    """Close each test's pages, so their live streams do not hold the server's shutdown."""
    yield
    for context in browser.contexts:
        context.close()


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(
    browser: Browser,
    app: VigilProcess,
    username: str = NURSE,
    password: str = NURSE_PASSWORD,
    **context: object,
) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    page.goto(app.url + "/")
    expect(page).to_have_url(app.url + "/login?next=%2F")
    page.fill("#username", username)
    page.fill("#password", "wrong-password")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    expect(page.locator(".disclaimer")).to_contain_text("Secondary alarm system")
    shot(page, "login-page")
    page.fill("#password", password)
    page.click("#login-button")
    expect(page).to_have_url(app.url + "/")
    expect(page.locator("body")).to_have_attribute("data-link", "up", timeout=10_000)
    return page


def test_login_values_alarm_and_acknowledge(browser: Browser, app: VigilProcess) -> None:
    # The browser sits in Tokyo; the clinic is in New York: times show in the clinic's zone.
    page = login(browser, app, viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    shot(page, "login-done")
    expect(page.locator("#who")).to_have_text(f"{NURSE} (nurse)")
    expect(page.locator("#zone")).to_have_text("times: America/New_York")
    spo2_a = page.locator('section.room[data-room="A"] .value[data-channel="spo2"]')
    expect(spo2_a).to_have_text(re.compile(r"^\d{2,3}$"), timeout=10_000)  # a number, not "—"
    # Values move: the pulse-rate text of room B changes within a few seconds.
    pulse_b = page.locator('section.room[data-room="B"] .value[data-channel="pulse_rate"]')
    expect(pulse_b).to_have_text(re.compile(r"^\d+$"), timeout=10_000)
    seen = {pulse_b.text_content()}
    for _ in range(40):
        page.wait_for_timeout(250)
        seen.add(pulse_b.text_content())
        if len(seen) > 1:
            break
    assert len(seen) > 1, "room B's pulse rate never changed on the page"

    # The desaturations raise medium alarms: banner with text and icon, audio on.
    banner = page.locator("#banner")
    expect(banner).to_be_visible(timeout=45_000)
    expect(banner).to_have_attribute("data-priority", "medium")
    expect(banner).to_contain_text(re.compile(r"▲▲ MEDIUM — Room [BC]: SpO₂ low"))
    tile_b = page.locator('section.room[data-room="B"]')
    tile_c = page.locator('section.room[data-room="C"]')
    expect(tile_b).to_have_class(re.compile(r"\balarm-medium\b"), timeout=20_000)
    expect(tile_c).to_have_class(re.compile(r"\balarm-medium\b"), timeout=20_000)
    body = page.locator("body")
    expect(body).to_have_attribute("data-audio", "medium")
    assert int(body.get_attribute("data-audio-bursts") or 0) >= 1
    assert body.get_attribute("data-audio-blocked") == "false"
    shot(page, "alarm")

    # Pausing room C's audio leaves room B sounding; C's alarm stays on screen, unacknowledged.
    tile_c.locator("[data-action=pause]").click()
    expect(tile_c.locator(".paused")).to_contain_text(re.compile(r"Audio paused [12]:\d\d"))
    expect(body).to_have_attribute("data-audio", "medium")

    # Acknowledging B from the page: now nothing sounds, and B's tile says who acknowledged.
    tile_b.get_by_role("button", name="✔ Acknowledge").click()
    expect(body).to_have_attribute("data-audio", "off", timeout=5_000)
    acked = tile_b.locator('.alarm[data-condition="spo2_low"] .acked')
    expect(acked).to_contain_text(f"acknowledged by {NURSE}")
    expect(tile_c).to_have_class(re.compile(r"\balarm-medium\b"))
    expect(banner).to_contain_text("Room C: SpO₂ low")
    shot(page, "acknowledged")

    # The room detail: plots and the alarm history with who acknowledged.
    page.click('section.room[data-room="B"] a.details')
    expect(page.locator("#detail")).to_be_visible()
    row = page.locator("#history-body tr", has_text="acknowledged").first
    by = row.locator("td.by")
    expect(by).to_contain_text(f"acknowledged by {NURSE} at ")
    shown = re.search(r"at (\d\d):(\d\d):\d\d", by.inner_text())
    assert shown is not None
    now = datetime.now(ZoneInfo("America/New_York"))
    # Minutes apart on the clock face (Tokyo would be 13-14 hours off).
    apart = (now.hour * 60 + now.minute - int(shown[1]) * 60 - int(shown[2])) % 1440
    assert apart <= 5 or apart >= 1435, f"{shown[0]} is not New York time ({now:%H:%M})"
    # A nurse may not run sessions: those controls are disabled, notes are allowed.
    expect(page.locator("#btn-dose")).to_be_disabled()
    expect(page.locator("#form-note button")).to_be_enabled()
    page.fill("#note-text", "patient calm, talking")
    page.click("#form-note button")
    expect(page.locator("#toast")).to_contain_text("note: done")
    shot(page, "detail")


def test_phone_layout(browser: Browser, app: VigilProcess) -> None:
    page = login(
        browser,
        app,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    spo2_b = page.locator('section.room[data-room="B"] .value[data-channel="spo2"]')
    expect(spo2_b).to_have_text(re.compile(r"^\d+$"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone"
    for sel in [
        'section.room[data-room="A"]',
        'section.room[data-room="B"] a.details',
        'section.room[data-room="B"] [data-action=pause]',
    ]:
        box = page.locator(sel).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, sel
    shot(page, "phone")
    page.click('section.room[data-room="B"] a.details')
    expect(page.locator("#plot-spo2")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"detail view is {overflow}px wider than the phone"
    shot(page, "phone-detail")
    # A phone following a page's link to a room lands on that room's detail.
    page.goto(app.url + "/?room=A")
    expect(page.locator("#detail-title")).to_have_text("Room A")


def test_clinician_runs_a_session_from_the_detail_view(browser: Browser, app: VigilProcess) -> None:
    page = login(
        browser, app, CLINICIAN, CLINICIAN_PASSWORD, viewport={"width": 1280, "height": 900}
    )
    page.click('section.room[data-room="A"] a.details')
    phase = page.locator("#detail-phase")
    start = page.locator("#form-start button")
    expect(phase).to_have_text("dosed")
    expect(start).to_be_disabled()  # one session at a time: the core would refuse a second
    page.click("#btn-end")
    page.click("#confirm-ok")  # ending asks first (lifecycle.js)
    expect(phase).to_have_text("ended")
    expect(start).to_be_enabled()
    page.fill("#pseudonym", "John Smith")  # a name, not a pseudonym: the form refuses it
    page.click("#form-start button")
    expect(page.locator("#pseudonym:invalid")).to_have_count(1)
    expect(phase).to_have_text("ended")
    page.fill("#pseudonym", "JD-7")
    page.click("#form-start button")
    expect(phase).to_have_text("pre dose")
    expect(start).to_be_disabled()
    page.click("#btn-dose")
    page.click("#confirm-ok")  # no baseline confirmed: asked first
    expect(phase).to_have_text("dosed")
    page.click("#btn-dose")  # a top-up seconds later: the core refuses it, the toast says why
    page.click("#confirm-ok")
    expect(page.locator("#toast")).to_contain_text(
        "dose refused: ignored: a dose was marked less than 60 s ago"
    )
    page.fill('#form-baseline input[name="sbp"]', "124")
    page.click("#form-baseline button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("baseline: done (doc-kim)")
    shot(page, "clinician-detail")


def core_snapshot() -> dict[str, object]:
    """Room Z as the real core describes it: a confirmed baseline (128/82, SpO2 97, pulse
    72), dosed 20 min ago, a BP of 162/96 three minutes ago (bp_high and bp_rise
    acknowledged by nurse-ana, map_rise low) and an oximeter silent for the last 30 s
    (spo2_stale and pulse_rate_stale, technical, medium)."""
    from monitor.core.models import Control, Reading
    from monitor.core.pipeline import RoomPipeline

    p = RoomPipeline("Z")
    p.control(Control(0.0, "session_start", {"pseudonym": "JD-7"}, by="doc-kim"))
    for t in range(0, 1470):
        p.feed(Reading(float(t), "spo2", 97.0 if t < 1300 else 95.0, "%", source="Z-ox"))
        p.feed(Reading(float(t), "pulse_rate", 72.0 if t < 1300 else 88.0, "bpm", source="Z-ox"))
        if t in (100, 200):
            for ch, v in (("sbp", 128.0), ("dbp", 82.0), ("map", 97.0)):
                p.feed(Reading(float(t), ch, v, "mmHg", source="Z-cuff"))
        if t == 290:
            p.control(Control(290.0, "confirm_baseline", by="doc-kim"))
        if t == 300:
            p.control(Control(300.0, "dose", by="doc-kim"))
        if t == 1320:
            for ch, v in (("sbp", 162.0), ("dbp", 96.0), ("map", 118.0)):
                p.feed(Reading(1320.0, ch, v, "mmHg", source="Z-cuff"))
        if t == 1330:
            for condition in ("bp_high", "bp_rise"):
                p.control(Control(1330.0, "ack", {"condition": condition}, by="nurse-ana"))
        p.tick(float(t))
    p.tick(1500.0)
    room = p.snapshot()
    room["name"] = "Room Z (injected)"
    room["devices"] = [{"id": "Z-ox", "state": "connected", "simulated": True}]
    return relative_times(room, now=1500.0)


TIME_KEYS = {
    "t",
    "since",
    "started_t",
    "dose_t",
    "last_dose_t",
    "bp_due",
    "baseline_confirmed_t",
    "audio_paused_until",
    "reviewed_t",
    "discharge_reviewed_t",
    "ended_t",
    "acknowledged_t",
}


def relative_times(o: object, now: float) -> object:
    """Core times (seconds from the session start) as "NOW±s" for the page's clock."""
    if isinstance(o, dict):
        return {
            k: (
                f"NOW{v - now:+g}"
                if k in TIME_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
                else relative_times(v, now)
            )
            for k, v in o.items()
        }
    if isinstance(o, list):
        return [relative_times(v, now) for v in o]
    return o


FULL_ROOM = core_snapshot()


# Times in FULL_ROOM are "NOW±s" relative to the page's server clock; then a snapshot message.
INJECT_JS = """room => {
  const now = serverNow();
  const fix = v => typeof v === "string" && v.startsWith("NOW") ? now + Number(v.slice(3)) : v;
  const walk = o => {
    for (const k in o) {
      if (o[k] && typeof o[k] === "object") walk(o[k]); else o[k] = fix(o[k]);
    }
    return o;
  };
  const r = walk(JSON.parse(room));
  for (let i = 0; i < 150; i++) pushTrend("Z", "spo2", now - 1500 + i * 10, i > 130 ? 93 : 97);
  onMessage({ type: "snapshot", rooms: [r] });
}"""


def test_every_snapshot_key_the_core_sends_is_rendered(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, viewport={"width": 1280, "height": 900})
    room = json.dumps(FULL_ROOM)
    page.evaluate(
        INJECT_JS,
        room,
    )
    tile = page.locator('section.room[data-room="Z"]')
    expect(tile.locator(".session")).to_have_text("Patient JD-7")
    # Each rule named, as the alarm text names it (spo2_drop: baseline 97 − 4 = 93).
    expect(tile.locator(".v-spo2 .base")).to_have_text(
        "baseline 97 · SpO₂ low < 90 · drop ≥ 4 below baseline (93)"
    )
    # hr_low 50; hr_high 120 and baseline 72 + 30 = 102.
    expect(tile.locator(".v-pulse .base")).to_have_text(
        "baseline 72 · Pulse low < 50 · Pulse high > 120 · rise ≥ 30 over baseline (102)"
    )
    expect(tile.locator(".v-bp .value")).to_have_text("162/96 (118)")
    expect(tile.locator(".v-bp .age")).to_have_text("measured 3 min ago")
    expect(tile.locator(".v-bp .base")).to_have_text(
        "baseline 128/82 · SBP < 90 · ≥ 160 · DBP ≥ 100"
    )
    expect(tile.locator(".dose")).to_have_text(re.compile(r"^Dose \+20:0\d$"))
    # The 5-min schedule after the dose puts a reading due now (dose + 20 min): counting up.
    expect(tile.locator(".next-bp")).to_have_text(re.compile(r"^⚠ BP overdue by 0:0\d$"))
    expect(tile.locator(".alarm.state-acknowledged .acked")).to_have_count(2)
    expect(tile.locator(".alarm.state-acknowledged .acked").first).to_contain_text(
        "acknowledged by nurse-ana"
    )
    # Technical alarms are listed apart from physiological ones, with their own icon and the
    # words the server serves (GET /api/vocabulary), not ids.
    expect(tile.locator("ul.tech .alarm")).to_contain_text(
        ["⚙TECHNICAL MEDIUM No SpO₂ data", "⚙TECHNICAL MEDIUM No pulse data"]
    )
    expect(tile.locator("ul.alarms .alarm")).to_have_count(3)  # bp_rise, bp_high, map_rise
    expect(page.locator("#tech")).to_contain_text("TECHNICAL — Room Z (injected): No SpO₂ data")
    # ... with the core's reason, so whoever reads it knows what to look at.
    expect(page.locator("#tech")).to_contain_text(
        re.compile(r"No SpO₂ data \(no valid spo2 sample")
    )
    # The loudest unacknowledged alarm sounds: the medium technical ones.
    expect(page.locator("body")).to_have_attribute("data-audio", "medium")
    shot(page, "full-snapshot")
    page.click('section.room[data-room="Z"] a.details')
    view = page.locator("#baseline-view")
    expect(view).to_contain_text("Confirmed by doc-kim")
    expect(view.locator("tr", has_text="Pulse bpm")).to_have_text("Pulse bpm7250–102")
    shot(page, "full-snapshot-detail")

    # A high-priority alarm arrives: red banner flashing at 2 Hz, the high burst sounding.
    bursts = int(page.locator("body").get_attribute("data-audio-bursts") or 0)
    page.evaluate(
        """() => onMessage({type: "alarm", t: serverNow(), room: "Z", condition: "spo2_severe",
            kind: "physiological", channel: "spo2", priority: "high", state: "active",
            value: 83, limit: 85, tier: 1, since: serverNow()})"""
    )
    banner = page.locator("#banner")
    expect(banner).to_have_attribute("data-priority", "high")
    expect(banner).to_contain_text("▲▲▲ HIGH — Room Z (injected): SpO₂ very low 83")
    expect(page.locator("body")).to_have_attribute("data-audio", "high")
    assert int(page.locator("body").get_attribute("data-audio-bursts") or 0) > bursts
    flash = banner.evaluate("b => getComputedStyle(b).animationDuration")
    assert flash == "0.5s"  # one on/off cycle per 0.5 s: 2 Hz
    shot(page, "high-alarm")


def test_a_viewer_sees_but_cannot_act(browser: Browser, app: VigilProcess) -> None:
    app.user_token("viewer-vic", "viewer", "vic-password-42")
    page = login(
        browser, app, "viewer-vic", "vic-password-42", viewport={"width": 1280, "height": 900}
    )
    page.evaluate(INJECT_JS, json.dumps(FULL_ROOM))
    tile = page.locator('section.room[data-room="Z"]')
    acks = tile.locator("button.ack")
    expect(acks).to_have_count(3)  # map_rise and the two stale alarms are unacknowledged
    for i in range(3):
        expect(acks.nth(i)).to_be_disabled()
        expect(acks.nth(i)).to_have_attribute("title", "needs role nurse")
    expect(tile.locator("[data-action=pause]")).to_be_disabled()


def test_cutting_the_stream_shows_not_live_at_once(browser: Browser, own_app: VigilProcess) -> None:
    app = own_app
    page = login(browser, app, viewport={"width": 1280, "height": 900})
    stale = page.locator("#stale")
    body = page.locator("body")
    expect(stale).to_be_hidden()
    # A frozen server keeps the connection open but sends nothing: heartbeats stop.
    os.kill(app.proc.pid, signal.SIGSTOP)
    try:
        expect(body).to_have_attribute("data-link", "down", timeout=6_000)
        expect(stale).to_contain_text("no data from Vigil")
        expect(body).to_have_attribute("data-audio", "technical")
        shot(page, "frozen")
    finally:
        os.kill(app.proc.pid, signal.SIGCONT)
    # It comes back by itself.
    expect(body).to_have_attribute("data-link", "up", timeout=20_000)
    expect(stale).to_be_hidden()
    expect(body).to_have_attribute("data-audio", "off")

    # The server gone: the stream errors and the page says so.
    app.stop()
    # Within seconds: the body says so, and the NOT LIVE bar is visible.
    expect(body).to_have_attribute("data-link", "down", timeout=5_000)
    expect(stale).to_be_visible()
    expect(stale).to_contain_text("NOT LIVE")
    expect(page.locator("#link")).to_have_text("✖ NOT LIVE")
    # Once the heartbeat gap has passed, the bar says how old the data is; still down.
    expect(stale).to_contain_text("OUT OF DATE", timeout=10_000)
    expect(body).to_have_attribute("data-link", "down")
    shot(page, "not-live")


def test_login_next_never_leaves_the_site(browser: Browser, app: VigilProcess) -> None:
    """`next` that a browser resolves to another origin ("/\\host", "/<tab>/host") goes to
    the dashboard instead; a path on this site is kept. The CSP lets the pages work."""
    other = f"localhost:{app.port}"  # same server, another origin: a stand-in for evil.example
    cases = [
        ("/\\" + other + "/api/health", app.url + "/"),
        ("/\t/" + other + "/api/health", app.url + "/"),
        ("/#room/A", app.url + "/#room/A"),
    ]
    got = []
    violations: list[str] = []
    for target, _ in cases:
        page = browser.new_context().new_page()
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        page.goto(app.url + "/login?next=" + quote(target, safe=""))
        page.fill("#username", NURSE)
        page.fill("#password", NURSE_PASSWORD)
        page.click("#login-button")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10_000)
        got.append((target, page.url))
        page.context.close()
    assert got == cases
    assert violations == []


def test_a_page_watching_some_rooms_streams_only_those(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, viewport={"width": 390, "height": 844}, is_mobile=True)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/stream" in r.url else None)
    page.goto(app.url + "/?rooms=B,C")  # a nurse's phone bookmark: her two rooms
    expect(page.locator('section.room[data-room="B"] .value[data-channel="spo2"]')).to_have_text(
        re.compile(r"^\d+$")
    )
    expect(page.locator("section.room")).to_have_count(2)
    expect(page.locator('section.room[data-room="A"]')).to_have_count(0)
    assert streams and all(u.endswith("/api/stream?rooms=B%2CC") for u in streams)
