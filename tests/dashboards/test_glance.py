"""The tiles at a glance, the session lifecycle controls, the plots, the print stylesheet and
the "sound is blocked" bar, in a real headless Chromium against the real app (issue #13).

Rooms the real core describes (RoomPipeline snapshots, injected into the page) give exact
states: an acknowledged alarm still present, an alarm earlier in the session, an ended room,
a dose without a baseline, an unacknowledged high alarm. The checks read the rendered page:
computed colours, element positions and order, what was drawn on the canvases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from monitor.core.models import Control, Reading
from monitor.core.pipeline import RoomPipeline
from tests.conftest import Influxd, VigilProcess
from tests.dashboards.test_browser import (
    CHROMIUM_ARGS,
    CLINICIAN,
    CLINICIAN_PASSWORD,
    CONFIG,
    NURSE,
    NURSE_PASSWORD,
    browser,
    close_pages,
    login,
    relative_times,
    shot,
)

pytestmark = pytest.mark.slow
__all__ = ["browser", "close_pages"]  # fixtures used by name

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # fmt: skip
# Computed colours of vigil.css's variables.
HIGH, MEDIUM, LOW = "rgb(255, 23, 68)", "rgb(255, 214, 0)", "rgb(0, 229, 255)"
PRIORITY_COLOUR = {"high": HIGH, "medium": MEDIUM, "low": LOW}
TEXT, LINE_GREY = "rgb(230, 235, 242)", "rgb(42, 50, 64)"


@pytest.fixture(scope="module")
def app(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VigilProcess]:
    workdir = tmp_path_factory.mktemp("glance")
    text = CONFIG.format(url=influxd.url)
    text = text[: text.index('[[rooms]]\nid = "B"')]  # room A alone (steady), dosed at 1 s
    config = workdir / "vigil.toml"
    # A clinic that pauses alarm audio for 90 s: the page must say and use 90 s, not 120.
    config.write_text(
        f'journal_path = "{workdir / "journal.sqlite3"}"\n'
        + text
        + "\n[rules]\naudio_pause_s = 90\n"
    )
    proc = VigilProcess(config, workdir)
    proc.user_token(NURSE, "nurse", NURSE_PASSWORD)
    proc.user_token(CLINICIAN, "clinician", CLINICIAN_PASSWORD)
    yield proc
    proc.stop()


def room(
    rid: str,
    spo2: list[tuple[int, int, float]],
    *,
    baseline: bool = True,
    ack_at: float | None = None,
    end_at: float | None = None,
    doses: tuple[tuple[float, dict[str, Any]], ...] = ((100.0, {}),),
    now: float = 400.0,
) -> dict[str, Any]:
    """A room's snapshot from the real core: SpO2 `value` over [t0, t1) spans, pulse 72, one
    normal BP (120/78) at 150, a baseline entered before the first dose (or none)."""
    p = RoomPipeline(rid)
    p.control(Control(0.0, "session_start", {"pseudonym": f"P-{rid}"}, by="doc-kim"))
    if baseline:
        base = {"spo2": 97, "pulse_rate": 72, "sbp": 120, "dbp": 80}
        p.control(Control(50.0, "baseline", base, by="doc-kim"))
    controls = {t: Control(t, "dose", args, by="doc-kim") for t, args in doses}
    if ack_at is not None:
        controls[ack_at] = Control(ack_at, "ack", {}, by="nurse-ana")
    if end_at is not None:
        controls[end_at] = Control(end_at, "session_end", by="doc-kim")
    for t in range(60, int(now)):
        c = controls.get(float(t))
        if c is not None and c.event == "ack":
            for condition in list(p.engine.current):
                p.control(Control(c.t, "ack", {"condition": condition}, by=c.by))
        elif c is not None:
            p.control(c)
        v = next((v for t0, t1, v in spo2 if t0 <= t < t1), 97.0)
        p.feed(Reading(float(t), "spo2", v, "%", source=f"{rid}-ox"))
        p.feed(Reading(float(t), "pulse_rate", 72.0, "bpm", source=f"{rid}-ox"))
        if t == 150:
            for ch, bpv in (("sbp", 120.0), ("dbp", 78.0), ("map", 92.0)):
                p.feed(Reading(150.0, ch, bpv, "mmHg", source=f"{rid}-cuff"))
        p.tick(float(t))
    snap = p.snapshot()
    snap["name"] = f"Room {rid}"
    snap["devices"] = []
    return relative_times(snap, now)  # type: ignore[return-value]


INJECT = """rooms => {
  const now = serverNow();
  const fix = v => typeof v === "string" && v.startsWith("NOW") ? now + Number(v.slice(3)) : v;
  const walk = o => {
    for (const k in o) { if (o[k] && typeof o[k] === "object") walk(o[k]); else o[k] = fix(o[k]); }
    return o;
  };
  const list = walk(JSON.parse(rooms));
  for (const r of list) for (let i = 0; i < 40; i++) {
    pushTrend(r.room, "spo2", now - 400 + i * 10, 97);
    pushTrend(r.room, "sbp", now - 400 + i * 10, 120 + (i % 3));
    pushTrend(r.room, "dbp", now - 400 + i * 10, 78);
  }
  onMessage({ type: "snapshot", rooms: list });
}"""


def inject(page: Page, rooms: list[dict[str, Any]]) -> None:
    page.evaluate(INJECT, json.dumps(rooms))


def style(page: Page, selector: str, prop: str) -> str:
    return str(page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}"))


ACKED = room("G1", [(200, 400, 86.0)], ack_at=280.0)  # acknowledged, SpO2 still 86
EARLIER = room("G2", [(200, 260, 86.0)])  # an alarm that went away by itself
ENDED = room("G3", [], end_at=300.0)
NO_BASELINE = room("G4", [], baseline=False)
HIGH_NOW = room("G5", [(300, 400, 75.0)])  # unacknowledged, very low
TOP_UPS = room("G6", [], doses=((100.0, {"route": "SL", "amount_mg": 200}),
                                (260.0, {"route": "IM", "amount_mg": 25.5})))  # fmt: skip
ALL = [ENDED, NO_BASELINE, EARLIER, ACKED, HIGH_NOW, TOP_UPS]


def tile(rid: str) -> str:
    return f'section.room[data-room="{rid}"]'


def test_the_injected_rooms_are_what_the_tests_say() -> None:
    acked = {a["condition"]: a for a in ACKED["alarms"]}
    assert acked and all(a["state"] == "acknowledged" for a in acked.values())
    assert "spo2_low" in acked and EARLIER["alarms"] == []
    assert any(h["state"] == "active" for h in EARLIER["history"])
    assert (ENDED["phase"], ENDED["bp_due"]) == ("ended", None)
    assert NO_BASELINE["baseline_status"] == "none"
    assert [a["state"] for a in HIGH_NOW["alarms"] if a["priority"] == "high"] == ["escalated"]
    assert len(TOP_UPS["session"]["doses"]) == 2


def test_tiles_at_a_glance(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, **DESKTOP)  # type: ignore[arg-type]
    # The clinic's pause length (90 s), from the room's snapshot, not a constant of the page.
    expect(page.locator(f"{tile('A')} button.pause")).to_have_text("Pause audio 1:30")
    inject(page, ALL)
    expect(page.locator(tile("G6"))).to_be_visible()
    expect(page.locator(f"{tile('G1')} button.pause")).to_have_text("Pause audio 2 min")
    # Acknowledged but still present: coloured by its priority, steady, never the grey line.
    top = max((a["priority"] for a in ACKED["alarms"]), key=["low", "medium", "high"].index)
    expect(page.locator(tile("G1"))).to_have_class(re.compile(rf"\backed-{top}\b"))
    assert style(page, tile("G1"), "borderTopColor") == PRIORITY_COLOUR[top]
    assert style(page, tile("G1"), "animationName") == "none"
    assert style(page, tile("G4"), "borderTopColor") == LINE_GREY  # a calm room stays grey
    # The out-of-range value itself is coloured; a normal BP is drawn in the text colour.
    spo2 = f'{tile("G1")} .value[data-channel="spo2"]'
    expect(page.locator(spo2)).to_have_text("86")
    low_prio = next(a["priority"] for a in ACKED["alarms"] if a["condition"] == "spo2_low")
    assert (
        style(page, spo2, "color")
        == PRIORITY_COLOUR[max(low_prio, top, key=["low", "medium", "high"].index)]
    )
    assert style(page, f'{tile("G4")} .value[data-channel="spo2"]', "color") != MEDIUM
    expect(page.locator(f"{tile('G1')} .value.bp")).to_have_text("120/78 (92)")
    assert style(page, f"{tile('G1')} .value.bp", "color") == TEXT
    # The limit label names each rule, in the words of the alarm text.
    expect(page.locator(f"{tile('G1')} .v-spo2 .base")).to_have_text(
        "baseline 97 · SpO₂ low < 90 · drop ≥ 4 below baseline (93)"
    )
    expect(page.locator(f'{tile("G1")} .alarm[data-condition="spo2_low"] .what')).to_contain_text(
        "SpO₂ low 86 < 90"
    )
    expect(page.locator(f'{tile("G1")} .alarm[data-condition="spo2_drop"] .what')).to_contain_text(
        "SpO₂ below baseline 86 ≤ 93 (drop ≥ 4 below baseline 97)"
    )
    # A room that alarmed earlier in this session says so.
    expect(page.locator(f"{tile('G2')} .earlier")).to_have_text(
        re.compile(r"^⚑ Alarm earlier this session: SpO₂ (low|below baseline) at \d\d:\d\d:\d\d$")
    )
    expect(page.locator(f"{tile('G4')} .earlier")).to_have_text("")
    # An ended room shows nothing running; a room dosed without a baseline says so, lastingly.
    expect(page.locator(f"{tile('G3')} .phase")).to_have_text("ended")
    expect(page.locator(f"{tile('G3')} .dose")).to_have_text("")
    expect(page.locator(f"{tile('G3')} .next-bp")).to_have_text("")
    expect(page.locator(f"{tile('G4')} .tile-flags .flag")).to_have_text(
        "⚠ No baseline confirmed: absolute limits only, relative limits off"
    )
    expect(page.locator(f"{tile('G1')} .tile-flags")).to_be_hidden()
    expect(page.locator(f"{tile('G6')} .dose")).to_have_text(
        re.compile(r"^Dose \+5:\d\d · top-up \+2:\d\d$")
    )
    # A desk keeps the configured order (the ended room first).
    boxes = {r["room"]: page.locator(tile(r["room"])).bounding_box() for r in ALL}
    assert boxes["G3"]["y"] <= boxes["G5"]["y"]  # type: ignore[index]
    shot(page, "glance-desktop")


def test_on_a_phone_the_alarming_rooms_come_first(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, **PHONE)  # type: ignore[arg-type]
    inject(page, ALL)
    expect(page.locator(tile("G6"))).to_be_visible()
    ys = {r["room"]: page.locator(tile(r["room"])).bounding_box()["y"] for r in ALL}  # type: ignore[index]
    order = sorted(ys, key=ys.__getitem__)
    # Unacknowledged high first, then the acknowledged one still present, then the rest in
    # their configured order.
    assert order == ["G5", "G1", "G3", "G4", "G2", "G6"]
    assert ys["G5"] < 844  # above the fold
    shot(page, "glance-phone")


CANVAS_LOG = """() => {
  // Record what each canvas draws, from its last clearRect (its latest frame).
  window.drawn = {};
  const P = CanvasRenderingContext2D.prototype;
  const name = ctx => ctx.canvas.id || ctx.canvas.className;
  const log = (ctx, e) => (window.drawn[name(ctx)] ||= []).push(e);
  const clear = P.clearRect, text = P.fillText, rect = P.fillRect;
  P.clearRect = function (...a) { window.drawn[name(this)] = []; return clear.apply(this, a); };
  P.fillText = function (t, x, y, ...a) {
    log(this, { op: "text", t, x, y, style: this.fillStyle });
    return text.call(this, t, x, y, ...a);
  };
  P.fillRect = function (...a) {
    log(this, { op: "rect", style: this.fillStyle, y: a[1], h: a[3] });
    return rect.apply(this, a);
  };
}"""


def test_detail_plots_one_label_per_tick_bp_legend_and_bands(
    browser: Browser, app: VigilProcess
) -> None:
    page = login(browser, app, **DESKTOP)  # type: ignore[arg-type]
    page.add_init_script(f"({CANVAS_LOG})()")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-link", "up", timeout=10_000)
    inject(page, ALL)
    page.click(f"{tile('G1')} a.details")
    expect(page.locator("#detail-title")).to_have_text("Room G1")
    page.wait_for_function("window.drawn['plot-bp'] && window.drawn['plot-bp'].length > 5")
    drawn = page.evaluate("window.drawn")
    for plot in ("plot-spo2", "plot-pulse", "plot-bp"):
        labels = [
            e["t"] for e in drawn[plot] if e["op"] == "text" and re.match(r"^\d\d:\d\d$", e["t"])
        ]
        assert len(labels) >= 2 and len(labels) == len(set(labels)), (plot, labels)
    legend = {e["t"]: e["style"] for e in drawn["plot-bp"] if e["op"] == "text"}
    assert (legend["SBP"], legend["DBP"], legend["MAP"]) == ("#ff8a80", "#ffab40", "#e0e0e0")
    # SBP and DBP each shaded in their own band, in their own colour (not DBP on SBP's band).
    bands = [e["style"] for e in drawn["plot-bp"] if e["op"] == "rect"]
    assert any("255, 138, 128" in b for b in bands) and any("255, 171, 64" in b for b in bands)
    dbp_band = next(
        e for e in drawn["plot-bp"] if e["op"] == "rect" and "255, 171, 64" in e["style"]
    )
    sbp_band = next(
        e for e in drawn["plot-bp"] if e["op"] == "rect" and "255, 138, 128" in e["style"]
    )
    assert dbp_band["y"] > sbp_band["y"]  # the diastolic band sits lower on the plot
    shot(page, "glance-detail-plots")


def test_session_lifecycle_from_the_detail_view(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, CLINICIAN, CLINICIAN_PASSWORD, **DESKTOP)  # type: ignore[arg-type]
    a = page.locator(tile("A"))
    # Room A was dosed by the demo without a baseline: said on the tile until one is confirmed.
    expect(a.locator(".tile-flags .flag")).to_have_text(
        "⚠ No baseline confirmed: absolute limits only, relative limits off", timeout=10_000
    )
    page.click(f"{tile('A')} a.details")
    phase = page.locator("#detail-phase")
    expect(phase).to_have_text("dosed")
    dose, end = page.locator("#btn-dose"), page.locator("#btn-end")
    expect(dose).to_have_text("Mark top-up dose")
    expect(page.locator("#outcome-ready")).to_be_disabled()  # criteria not met yet
    # A top-up seconds after the first dose is a double tap: asked, then refused, saying why.
    page.select_option("#dose-route", "IM")
    page.fill("#dose-amount", "25")
    dose.click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-title")).to_have_text("Top-up dose 2 in Room A?")
    expect(page.locator("#confirm-text")).to_contain_text("the baseline stays")
    page.click("#confirm-ok")
    expect(page.locator("#toast")).to_contain_text("ignored: a dose was marked less than 60 s ago")
    # Discharge review: an override needs a reason; with one it is recorded and shown.
    page.check("#outcome-override")
    page.click("#form-discharge button[type=submit]")
    expect(page.locator("#discharge-text:invalid")).to_have_count(1)
    page.check("#outcome-not-ready")
    page.fill("#discharge-text", "still dissociated")
    page.click("#form-discharge button[type=submit]")
    expect(page.locator("#discharge-reviews .review").first).to_contain_text(
        f"{CLINICIAN}NOT READYstill dissociated"
    )
    # Ending asks first, warning that no review cleared the patient; Cancel changes nothing.
    end.click()
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-warn")).to_contain_text(
        "The last discharge review says NOT READY"
    )
    shot(page, "lifecycle-confirm-end")
    page.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    expect(phase).to_have_text("dosed")
    end.click()
    page.click("#confirm-ok")
    expect(phase).to_have_text("ended")
    # After the end: no dose, no end, no review; nothing running on the tile.
    for control in (dose, end, page.locator("#form-discharge button[type=submit]")):
        expect(control).to_be_disabled()
    assert dose.get_attribute("title") == "does not apply: the session has ended"
    expect(page.locator("#session-status")).to_contain_text(re.compile(r"Ended at \d\d:\d\d:\d\d"))
    page.click("a.back")
    expect(a.locator(".dose")).to_have_text("")
    expect(a.locator(".next-bp")).to_have_text("")
    expect(a.locator(".tile-flags")).to_be_hidden()
    shot(page, "lifecycle-ended-tile")
    # A new session: a dose without a baseline asks first.
    page.click(f"{tile('A')} a.details")
    page.fill("#pseudonym", "JD-8")
    page.click("#form-start button")
    expect(phase).to_have_text("pre dose")
    expect(dose).to_have_text("Mark dose")
    dose.click()
    expect(page.locator("#confirm-warn")).to_contain_text("No baseline confirmed")
    page.click("#confirm-ok")
    expect(phase).to_have_text("dosed")


def test_top_up_doses_in_the_session_status(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, **DESKTOP)  # type: ignore[arg-type]
    inject(page, ALL)
    page.click(f"{tile('G6')} a.details")
    expect(page.locator("#session-status")).to_contain_text(
        re.compile(
            r"Dose at \d\d:\d\d:\d\d SL 200 mg by doc-kim; "
            r"Top-up at \d\d:\d\d:\d\d IM 25\.5 mg by doc-kim\. Last dose 2:\d\d ago\."
        )
    )


def test_print_stylesheet(browser: Browser, app: VigilProcess) -> None:
    page = login(browser, app, **DESKTOP)  # type: ignore[arg-type]
    inject(page, ALL)
    expect(page.locator(tile("G5"))).to_be_visible()
    page.emulate_media(media="print")
    assert style(page, "body", "backgroundColor") == "rgb(255, 255, 255)"
    assert style(page, f'{tile("G5")} .value[data-channel="spo2"]', "color") == "rgb(0, 0, 0)"
    assert style(page, f"{tile('G5')} button.pause", "display") == "none"
    assert style(page, tile("G5"), "breakInside") == "avoid"
    assert style(page, ".disclaimer", "display") != "none"  # the secondary-alarm notice stays
    shot(page, "print")
    pdf = Path(shot(page, "print")).with_suffix(".pdf")
    page.pdf(path=str(pdf), format="A4")
    assert pdf.stat().st_size > 1000


def test_sound_blocked_is_a_bar_nobody_misses(browser: Browser, app: VigilProcess) -> None:
    # A browser with its default autoplay policy, as after a reload: audio stays blocked until
    # a click or a key.
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    b = browser.browser_type.launch(executable_path="/usr/bin/chromium", args=args)
    if True:
        try:
            # Signed in (clicks on the login page), then the page opened afresh, untouched.
            page = login(b, app, **DESKTOP)  # type: ignore[arg-type]
            page = page.context.new_page()
            page.goto(app.url + "/")
            expect(page.locator("body")).to_have_attribute("data-link", "up", timeout=10_000)
            bar = page.locator("#sound")
            expect(bar).to_be_visible()
            expect(bar).to_have_text(re.compile(r"^✖ SOUND IS BLOCKED — alarms are silent"))
            box = bar.bounding_box()
            assert box is not None and box["width"] >= 1280 - 1 and box["height"] >= 40
            assert abs(box["y"] + box["height"] - 900) < 1  # along the bottom of the screen
            page.mouse.wheel(0, 2000)  # still there after scrolling
            assert bar.bounding_box() == box
            assert style(page, "#sound", "position") == "fixed"
            shot(page, "sound-blocked")
            page.mouse.click(600, 400)  # any click enables sound
            expect(bar).to_be_hidden()
            expect(page.locator("body")).to_have_attribute("data-audio-blocked", "false")
        finally:
            b.close()
