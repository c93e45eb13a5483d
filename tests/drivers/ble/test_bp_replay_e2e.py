"""A cuff that replays its memory on every (re)connect, end to end: a real bumble GATT server
(drivers.sim.ble, `replay_stored`) → BumbleLink → the real BleDriver → a RoomPipeline.

The replayed records (a previous patient's 212/124, then records already delivered) reach
the pipeline flagged `stored`: no alarm, no BP reading, no baseline; the live cycles after
them are used as usual. The same records without the flag do raise bp_severe, so the test
would fail if the flag were lost anywhere on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from drivers.ble.bumble_link import SimRadio
from drivers.sim.ble_factory import create_simulated_ble_device
from drivers.sim.scenarios import Vitals
from monitor.core.controls import SessionStart
from monitor.core.models import AlarmEvent, DeviceState, Flag, LinkState, Reading
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from tests.core_helpers import bp
from tests.waiting import wait_for_async

DEV = "cuff1"


def room(items: list[Reading | DeviceState], session_t: float) -> RoomPipeline:
    """A room in its pre-dose phase fed `items`; its events are in `.events`."""
    p = RoomPipeline("A")
    events: list[PipelineEvent] = list(p.control(SessionStart(session_t, by="n")))
    for item in items:
        events += p.feed(item) if isinstance(item, Reading) else p.device_state(item)
    p.events = events  # type: ignore[attr-defined]
    return p


def alarms(p: RoomPipeline) -> list[tuple[str, str]]:
    return [(e.condition, e.state.value) for e in p.events if isinstance(e, AlarmEvent)]  # type: ignore[attr-defined]


def sbp_values(items: list[Reading | DeviceState]) -> list[tuple[float | None, bool]]:
    return [
        (r.value, Flag.STORED in r.status)
        for r in items
        if isinstance(r, Reading) and r.channel == "sbp"
    ]


@pytest.mark.parametrize("timestamps", [True, False], ids=["time-stamped", "no-time-stamp"])
async def test_replayed_records_never_alarm_nor_enter_the_baseline(timestamps: bool) -> None:
    session_t = time.time()
    out: list[Reading | DeviceState] = []
    driver, cuff, coros = create_simulated_ble_device(
        DEV, "bps", "steady", {"replay_stored": 2, "bp_timestamps": timestamps},
        radio=SimRadio(),
    )  # fmt: skip
    for coro in coros:
        coro.close()  # no scenario loop: the test decides when the cuff measures
    driver.backoff_start_s = 0.05
    driver.bp_replay.burst_gap_s = 0.2
    await cuff.start()
    task = asyncio.create_task(driver.run(out.append))
    try:
        # Connect: the cuff replays the previous patient's last two records.
        await wait_for_async(lambda: len(sbp_values(out)) == 2)
        await cuff.measure_bp(Vitals(sbp=128, dbp=82, pulse_rate=70))
        await wait_for_async(lambda: len(sbp_values(out)) == 3)
        # Out of range and back: it replays its two newest, one of them delivered before.
        await cuff.go_away()
        await wait_for_async(lambda: driver.state == LinkState.DISCONNECTED)
        await cuff.come_back()
        await wait_for_async(lambda: len(sbp_values(out)) == 5)
        await cuff.measure_bp(Vitals(sbp=134, dbp=85, pulse_rate=72))
        await wait_for_async(lambda: len(sbp_values(out)) == 6)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert sbp_values(out) == [
        (212.0, True), (212.0, True),  # the previous patient's, replayed on connect
        (128.0, False),  # live cycle
        (212.0, True), (128.0, True),  # replayed after the reconnect (128 a second time)
        (134.0, False),  # live cycle
    ]  # fmt: skip
    stored = [r for r in out if isinstance(r, Reading) and Flag.STORED in r.status]
    assert {r.channel for r in stored} == {"sbp", "dbp", "map", "pulse_rate"}
    assert all((r.device_time is not None) == timestamps for r in stored)

    fed = room(out, session_t)
    live_only = room([x for x in out if not (isinstance(x, Reading) and x in stored)], session_t)
    assert [(r.sbp, r.dbp) for r in fed.bp_readings] == [(128.0, 82.0), (134.0, 85.0)]
    assert fed.bp_readings == live_only.bp_readings
    assert alarms(fed) == alarms(live_only) == []
    assert (
        fed.snapshot().to_dict()["baseline_proposed"]
        == live_only.snapshot().to_dict()["baseline_proposed"]
    )
    assert fed.snapshot().to_dict()["bp"] == live_only.snapshot().to_dict()["bp"]

    # Without the flag, the replay would have been taken as the patient's BP now.
    unflagged = [
        x.with_status(x.status - {Flag.STORED}) if isinstance(x, Reading) else x for x in out
    ]
    assert ("bp_severe", "active") in alarms(room(unflagged, session_t))


def test_the_core_keeps_stored_cuff_readings_out_of_the_cycle() -> None:
    """Stored (or demo) SBP/DBP/MAP and the cuff's pulse are recorded, never a cycle: no
    reading, no bp_severe, and a replayed failed cycle raises no cuff_error."""
    items: list[Reading | DeviceState] = [
        *bp(10, 230, 130, 163, Flag.STORED),
        Reading(10, "pulse_rate", 99, "bpm", frozenset({Flag.STORED}), "cuff"),
        *bp(20, None, None, None, Flag.STORED, Flag.CUFF_ERROR),
        *bp(30, 240, 140, 173, Flag.DEMO),
        *bp(40, 125, 80, 95),
    ]
    p = room(items, 0)
    assert [(r.t, r.sbp, r.dbp, r.map, r.pulse_rate) for r in p.bp_readings] == [
        (40, 125, 80, 95, None)
    ]
    # The oximeter's absence raises its own (stale) alarms, as without the flagged readings.
    assert alarms(p) == alarms(room(items[-3:], 0))
    assert not {c for c, _ in alarms(p)} & {"bp_severe", "cuff_error"}
    assert room(items[:4], 0).latest["sbp"] == items[0]  # still shown, with its flags
