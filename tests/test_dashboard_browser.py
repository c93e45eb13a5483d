"""The live dashboard in a real headless Chromium against the real app with simulated rooms.

Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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
"""


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir = tmp_path_factory.mktemp("browser")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    proc = VigilProcess(config, workdir)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    proc.user_token(CLINICIAN, "clinician", CLINICIAN_PASSWORD)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


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
    page.fill("#password", password)
    page.click("#login-button")
    expect(page).to_have_url(app.url + "/")
    expect(page.locator("body")).to_have_attribute("data-link", "up", timeout=10_000)
    return page


def test_login_values_alarm_and_acknowledge(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, viewport={"width": 1280, "height": 900})
    shot(page, "login-done")
    expect(page.locator("#who")).to_have_text(f"{NURSE} (nurse)")
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

    # The desaturation raises a medium alarm: banner with text and icon, audio on.
    banner = page.locator("#banner")
    expect(banner).to_be_visible(timeout=45_000)
    expect(banner).to_have_attribute("data-priority", "medium")
    expect(banner).to_contain_text("▲▲ MEDIUM — Room B: SpO₂ low")
    expect(page.locator('section.room[data-room="B"]')).to_have_class(
        re.compile(r"\balarm-medium\b")
    )
    expect(page.locator("body")).to_have_attribute("data-audio", "medium")
    assert int(page.locator("body").get_attribute("data-audio-bursts") or 0) >= 1
    assert page.locator("body").get_attribute("data-audio-blocked") == "false"
    shot(page, "alarm")

    # Acknowledge from the page: the audio stops and the tile says who did it.
    banner.get_by_role("button", name="✔ Acknowledge").click()
    expect(page.locator("body")).to_have_attribute("data-audio", "off", timeout=5_000)
    expect(banner).to_be_hidden()
    acked = page.locator('section.room[data-room="B"] .alarm[data-condition="spo2_low"] .acked')
    expect(acked).to_contain_text(f"acknowledged by {NURSE}")
    shot(page, "acknowledged")

    # The room detail: plots and the alarm history with who acknowledged.
    page.click('section.room[data-room="B"] a.details')
    expect(page.locator("#detail")).to_be_visible()
    row = page.locator("#history-body tr", has_text="acknowledged")
    expect(row.locator("td.by")).to_have_text(NURSE)
    # A nurse may not run sessions: those controls are disabled, notes are allowed.
    expect(page.locator("#btn-dose")).to_be_disabled()
    expect(page.locator("#form-note button")).to_be_enabled()
    page.fill("#note-text", "patient calm, talking")
    page.click("#form-note button")
    expect(page.locator("#toast")).to_contain_text("note: sent")
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
    expect(phase).to_have_text("dosed")
    page.click("#btn-end")
    expect(phase).to_have_text("ended")
    page.fill("#pseudonym", "John Smith")  # a name, not a pseudonym: the form refuses it
    page.click("#form-start button")
    expect(page.locator("#pseudonym:invalid")).to_have_count(1)
    expect(phase).to_have_text("ended")
    page.fill("#pseudonym", "JD-7")
    page.click("#form-start button")
    expect(phase).to_have_text("pre dose")
    page.click("#btn-dose")
    expect(phase).to_have_text("dosed")
    page.fill('#form-baseline input[name="sbp"]', "124")
    page.click("#form-baseline button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("baseline: sent (doc-kim)")
    shot(page, "clinician-detail")


def test_cutting_the_stream_shows_not_live_at_once(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, viewport={"width": 1280, "height": 900})
    stale = page.locator("#stale")
    expect(stale).to_be_hidden()
    app.stop()
    # Within seconds: the body says so, and the NOT LIVE bar is visible.
    expect(page.locator("body")).to_have_attribute("data-link", "down", timeout=5_000)
    expect(stale).to_be_visible()
    expect(stale).to_contain_text("NOT LIVE")
    expect(page.locator("#link")).to_have_text("✖ NOT LIVE")
    page.wait_for_timeout(4_000)  # still down and still saying so after the heartbeat gap
    expect(stale).to_contain_text("OUT OF DATE")
    shot(page, "not-live")
