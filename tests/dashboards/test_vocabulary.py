"""The live page draws Vigil's own words, served by GET /api/vocabulary, for an alarm it has no
table for: random bytes on a real serial line (pty) into `vigil run` give `device_garbled`,
and the tile and the technical banner say "Device sends noise: check cable / baud rate" (not
the id). The clinic's audio pause (`[rules] audio_pause_s`) is what the pause button offers.
The vocabulary itself: tests/monitor/test_vocabulary.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from drivers.sim.pty import PtyPair
from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import (  # noqa: F401 - fixtures
    NURSE,
    NURSE_PASSWORD,
    browser,
    close_pages,
    login,
    shot,
)
from tests.drivers.test_garbled_e2e import _noise, start_noisy_room

pytestmark = pytest.mark.slow

GARBLED = "Device sends noise: check cable / baud rate"


@pytest.fixture
def app(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, PtyPair]]:
    proc, line = start_noisy_room(influxd, tmp_path, "[rules]\naudio_pause_s = 300.0\n")
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    yield proc, line
    proc.stop()
    line.close()


def test_a_new_technical_alarm_shows_with_its_served_label(
    browser: Browser,  # noqa: F811 - the imported fixture
    app: tuple[VigilProcess, PtyPair],
) -> None:
    vigil, line = app
    served = vigil.get("/api/vocabulary").json()
    assert served["conditions"]["device_garbled"]["label"] == GARBLED
    assert served["timing"]["audio_pause_s"] == 300.0
    page = login(browser, vigil, viewport={"width": 1280, "height": 900})
    tile = page.locator('section.room[data-room="G"]')
    expect(tile.locator("button.pause")).to_have_text("Pause audio 5 min")
    expect(tile.locator(".v-spo2 .label")).to_have_text("SpO₂ %")  # a served channel name
    stop = threading.Event()
    noise = threading.Thread(target=_noise, args=(line, stop))
    noise.start()
    try:
        item = tile.locator('ul.tech .alarm[data-condition="device_garbled"]')
        expect(item).to_contain_text(f"⚙TECHNICAL MEDIUM {GARBLED}", timeout=20_000)
        expect(page.locator("#tech")).to_contain_text(f"Room G: {GARBLED}")
        shot(page, "technical-label")
    finally:
        stop.set()
        noise.join(10)
