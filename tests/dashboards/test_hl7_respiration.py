"""The respiration tile and plot in headless Chromium, fed by a simulated HL7 monitor
(`simulate = {...}` on an hl7 device: real ORU^R01 over MLLP to Vigil's own listener)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import (  # noqa: F401 - fixtures
    CLINICIAN,
    CLINICIAN_PASSWORD,
    NURSE,
    NURSE_PASSWORD,
    browser,
    close_pages,
    login,
    shot,
)

pytestmark = pytest.mark.slow

CONFIG = """
influx_url = "{url}"
influx_database = "vigil_hl7_browser"
influx_batch_s = 0.2

[[rooms]]
id = "Q"
name = "Room Q"
[[rooms.devices]]
id = "Q-monitor"
protocol = "hl7"
simulate = {{ scenario = "steady", interval_s = 0.5, device_options = {{ vendor = "mindray" }} }}

[[rooms]]
id = "R"
name = "Room R"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "R-monitor"
protocol = "hl7"
[rooms.devices.simulate]
scenario = "apnea"
interval_s = 0.5
# Apnea from the start (no race with the page loading); SpO2 stays up.
options = {{ apnea_start_s = 0, apnea_duration_s = 600, spo2_lag_s = 600 }}
device_options = {{ bp_interval_s = 30 }}

[[rooms]]
id = "S"
name = "Room S"
[[rooms.devices]]
id = "S-monitor"
protocol = "hl7"
[rooms.devices.simulate]
scenario = "co2_line_blocked"
interval_s = 0.5
# The CO2 sampling line blocked from the start: RR / EtCO2 0 and the apnea flag on.
options = {{ blocked_start_s = 0, blocked_duration_s = 600 }}
"""


@pytest.fixture
def app(influxd: Influxd, tmp_path: Path) -> Iterator[VigilProcess]:
    config = tmp_path / "vigil.toml"
    config.write_text(CONFIG.format(url=influxd.url))
    proc = VigilProcess(config, tmp_path)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    proc.user_token(CLINICIAN, "clinician", CLINICIAN_PASSWORD)
    yield proc
    proc.stop()


def test_respiration_tile_shows_values_then_apnea_and_the_detail_plot(
    browser: Browser,  # noqa: F811 - the imported fixture
    app: VigilProcess,
) -> None:
    page = login(browser, app, viewport={"width": 1280, "height": 900})
    # Room Q: a steady monitor in Mindray's legacy codes shows its numbers.
    steady = page.locator("section.room[data-room=Q] .v-resp .value")
    expect(steady).to_have_text("14 / 38", timeout=15_000)
    expect(steady).to_have_class("value resp")
    tile = page.locator("section.room[data-room=R]")
    resp = tile.locator(".v-resp .value")
    expect(resp).to_have_text("APNEA", timeout=15_000)
    expect(tile.locator(".v-spo2 .value")).not_to_have_text("—")
    expect(resp).to_have_class("value resp apnea")
    expect(tile.locator(".alarms")).to_contain_text("HIGH Apnea · since", timeout=10_000)
    shot(page, "hl7-apnea-tile")
    # Room S: the line is blocked: a technical alarm apart from the vitals, its zeros greyed
    # out as invalid (the monitor's apnea flag of that time is not shown as APNEA).
    blocked = page.locator("section.room[data-room=S]")
    expect(blocked.locator(".tech")).to_contain_text("CO₂ sampling line blocked", timeout=15_000)
    expect(blocked.locator(".v-resp .value")).to_have_text("0 / 0")
    expect(blocked.locator(".v-resp .value")).to_have_class("value resp invalid")
    page.goto(app.url + "/#room/R")
    expect(page.locator("#plot-resp")).to_be_visible(timeout=10_000)
    expect(page.locator("#baseline-view")).to_contain_text("EtCO₂ mmHg")
    # The clinician can enter an EtCO2 baseline (for etco2_rise) in this room.
    page.context.close()  # a clinician overrides baselines
    page = login(
        browser, app, CLINICIAN, CLINICIAN_PASSWORD, viewport={"width": 1280, "height": 900}
    )
    page.goto(app.url + "/#room/R")
    page.fill("#form-baseline input[name=etco2]", "35")
    page.click("#form-baseline button[type=submit]")
    row = page.locator("#baseline-view tr", has_text="EtCO₂ mmHg")
    # Baseline 35 and etco2_rise's limit 35 + 10 = 45 as the band's top.
    expect(row).to_have_text("EtCO₂ mmHg3520–45", timeout=10_000)
    shot(page, "hl7-apnea-detail")
