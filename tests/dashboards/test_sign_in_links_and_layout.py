"""The page around the tiles: a deep link survives the sign-in, a tile says why its device
is down, the page icon is served (no 404 on every page), the phone's alarm history fits its
panel (found in the QA walkthrough)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from monitor.dashboard import DASHBOARD_DIR
from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import NURSE, NURSE_PASSWORD, browser, close_pages

__all__ = ["browser", "close_pages"]  # fixtures shared with the main dashboard tests

pytestmark = pytest.mark.slow

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_browser_ux"

[[rooms]]
id = "A"
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
[[rooms.devices]]
id = "A-cuff"
protocol = "masimo-ascii"
port = "/dev/ttyVIGILgone"
"""


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir: Path = tmp_path_factory.mktemp("browser-ux")
    config = workdir / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    proc = VigilProcess(config, workdir)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    yield proc
    proc.stop()


def test_deep_link_survives_sign_in_and_tiles_say_why_a_device_is_down(
    browser: Browser, app: VigilProcess
) -> None:
    page = browser.new_context().new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(app.url + "/#room/A")
    expect(page).to_have_url(app.url + "/login?next=%2F#room/A")
    page.fill("#username", NURSE)
    page.fill("#password", NURSE_PASSWORD)
    page.click("#login-button")
    expect(page).to_have_url(app.url + "/#room/A")
    expect(page.locator("body")).to_have_attribute("data-view", "detail", timeout=10_000)
    page.goto(app.url + "/")
    cuff = page.locator("ul.tech li.device.down", has_text="A-cuff")
    expect(cuff).to_contain_text("A-cuff: disconnected — open failed", timeout=10_000)
    expect(cuff).to_contain_text("/dev/ttyVIGILgone")
    assert missing == []


def test_favicon_is_served_without_sign_in(app: VigilProcess) -> None:
    r = httpx.get(app.url + "/favicon.ico", timeout=5.0)
    assert (r.status_code, r.headers["content-type"]) == (200, "image/svg+xml")
    assert r.text.startswith("<svg")


def test_phone_alarm_history_fits_its_panel(browser: Browser) -> None:
    """At 390 px the history's "By" column (who acknowledged) wraps rather than being cut."""
    css = (DASHBOARD_DIR / "vigil.css").read_text()
    row = (
        "<tr class='h-medium'><td>05:27:16</td><td>SpO₂ low</td><td>▲▲ medium</td>"
        "<td>acknowledged</td><td>demo-nurse</td></tr>"
    )
    page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    page.set_content(
        f"<html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{css}</style></head><body><main><section class='panel wide' "
        f"id='panel-history'><h3>Alarm history</h3><table class='history'><thead><tr>"
        f"<th>Time</th><th>Alarm</th><th>Priority</th><th>State</th><th>By</th></tr></thead>"
        f"<tbody>{row * 2}</tbody></table></section></main></body></html>"
    )
    table_right, panel_right = page.evaluate(
        "() => [document.querySelector('table.history').getBoundingClientRect().right,"
        " document.getElementById('panel-history').getBoundingClientRect().right]"
    )
    assert table_right <= panel_right
