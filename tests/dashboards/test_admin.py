"""The admin page and the alarm log / hand-off page in headless Chromium against the real
app. Screenshots land in test-artifacts/admin-*.png for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from monitor.config import load_settings
from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import ARTIFACTS, browser, close_pages
from tests.waiting import wait_for

__all__ = ["browser", "close_pages"]  # fixtures shared with the main dashboard tests

pytestmark = pytest.mark.slow

ADMIN, ADMIN_PASSWORD = "it-ines", "ines-password-42"
NURSE, NURSE_PASSWORD = "nurse-nico", "nico-password-42"
CONFIG = """\
# Kept in git by IT.
influx_url = "{url}"
influx_database = "vigil_browser_admin"

[[rooms]]
id = "A"
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
"""


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir: Path = tmp_path_factory.mktemp("browser-admin")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    proc = VigilProcess(config, workdir)
    proc.user_token(ADMIN, "admin", ADMIN_PASSWORD)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    yield proc
    proc.stop()


def sign_in(browser: Browser, app: VigilProcess, path: str, user: str, password: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(app.url + path)
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page).to_have_url(app.url + path)
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def test_admin_page_changes_rules_devices_and_accounts(browser: Browser, app: VigilProcess) -> None:
    page = sign_in(browser, app, "/admin", ADMIN, ADMIN_PASSWORD)
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=10_000)
    expect(page.locator(".disclaimer")).to_contain_text("Secondary alarm system")
    row = page.locator("#devices tr[data-device='A-ox']")
    expect(row).to_contain_text("connected")

    # Test connection of the running oximeter: its live decoded readings, in the page.
    row.locator("[data-action=test]").click()
    probe = page.locator("#probe")
    expect(probe).to_contain_text("A-ox runs in room A: its live readings")
    expect(probe).to_contain_text("A-ox spo2 = ", timeout=5_000)
    expect(probe).to_contain_text("— done:", timeout=10_000)

    # A rule override: only the changed field goes to the file, the room gets it at once.
    form = page.locator("#form-rule")
    form.locator("[name=condition]").select_option("spo2_low")
    form.locator("[name=delay_s]").fill("25")
    form.locator("button[type=submit]").click()
    msg = page.locator("#msg")
    expect(msg).to_have_text("Saved to the config file. Now: rules applied in rooms A.")
    expect(page.locator("#rules tr[data-condition='spo2_low']")).to_contain_text("clinic override")
    text = (app.workdir / "vigil.toml").read_text()
    assert text.startswith("# Kept in git by IT.")
    assert "[rules.conditions.spo2_low]\ndelay_s = 25\n" in text and "limits" not in text
    assert load_settings(app.workdir / "vigil.toml").rules.conditions["spo2_low"].delay_s == 25

    # Refused as start-up would refuse it, naming the field, in a colour that says so.
    form.locator("[name=delay_s]").fill("-1")
    form.locator("button[type=submit]").click()
    expect(msg).to_contain_text("Not saved: rules.conditions.spo2_low.delay_s: ")
    colour = msg.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(255, 138, 128)", colour

    # A device waits for a restart, and the page says so where it cannot be missed.
    dev = page.locator("#form-device")
    dev.locator("[name=id]").fill("A-cuff")
    dev.locator("[name=protocol]").fill("suntech")
    dev.locator("[name=scenario]").fill("steady")
    dev.locator("button[type=submit]").click()
    expect(msg).to_contain_text("Waits for a restart: devices.")
    banner = page.locator("#restart")
    expect(banner).to_contain_text("Saved in the file, not yet running: devices.")
    assert (banner.bounding_box() or {"height": 0})["height"] > 20
    expect(page.locator("#devices tr[data-device='A-cuff']")).to_contain_text("not running")

    # A staff account, live.
    user = page.locator("#form-user")
    user.locator("[name=username]").fill("viewer-vera")
    user.locator("[name=role]").select_option("viewer")
    user.locator("[name=password]").fill("vera-password-42")
    user.locator("button[type=submit]").click()
    expect(page.locator("#users tr[data-user='viewer-vera']")).to_be_visible()
    shot(page, "page")


def test_nurse_gets_no_admin_page_but_the_log_and_hand_off(
    browser: Browser, app: VigilProcess
) -> None:
    # An alarm to log: a limit above the steady 97 %, acknowledged by the nurse, then undone.
    strict = {"delay_s": 0, "limits": [{"channel": "spo2", "comparator": "<", "absolute": 99}]}
    nurse = app.user_token(NURSE, "nurse", NURSE_PASSWORD)
    with app.client() as admin, app.client(nurse) as c:
        assert admin.put("/api/admin/rules/conditions/spo2_low", json=strict).status_code == 200
        ack = {"event": "ack", "args": {"condition": "spo2_low"}}
        wait_for(
            lambda: c.post("/api/rooms/A/events", json=ack).status_code == 200,
            10,
            "spo2_low to be active (and acknowledged)",
            every_s=0.2,
        )
        assert admin.delete("/api/admin/rules/conditions/spo2_low").status_code == 200

    page = sign_in(browser, app, "/log", NURSE, NURSE_PASSWORD)
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=10_000)
    card = page.locator("#handoff section[data-room='A']")
    expect(card.locator("h3")).to_have_text("Room A")
    expect(card).to_contain_text(f"SpO₂ low (medium) — acknowledged by {NURSE} after ")
    row = page.locator("#log tbody tr[data-room='A']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(NURSE)
    assert row.locator("td.p-medium").evaluate("e => getComputedStyle(e).color") == (
        "rgb(255, 214, 0)"  # medium priority in the alarm colour (vigil.css --medium)
    )
    expect(page.locator("#log-summary")).to_contain_text("1 alarm from")
    expect(page.locator(".zone")).to_have_text("times: UTC")
    expect(page.locator("#admin-link")).to_be_hidden()
    shot(page, "log")
    r = page.goto(app.url + "/admin")
    assert r is not None and r.status == 403
