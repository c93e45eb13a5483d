"""End to end over a real (in-process) BLE stack: bumble GATT servers → BumbleLink → BleDriver.

Each profile's simulated peripheral runs as a real GATT server on a bumble LocalLink; the
driver (the same class that runs over bleak in production) connects by name or address,
reads the feature characteristic, subscribes, decodes, and survives the peripheral going
away and coming back, reporting each state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from drivers.ble.bumble_link import BumbleLink, SimRadio
from drivers.ble.common import (
    BP_FEATURE_CHAR,
    BPM_CHAR,
    HRM_CHAR,
    ICP_CHAR,
    PLX_CONT_CHAR,
    PLX_FEATURES_CHAR,
    PLX_SPOT_CHAR,
)
from drivers.ble.driver import BleDriver, oximeter_source
from drivers.ble.link import BleUnavailable, scan_ble
from drivers.sim.ble import PLX_FEATURES, SimulatedBlePeripheral
from drivers.sim.ble_factory import create_simulated_ble_device
from drivers.sim.scenarios import Vitals, scenario
from monitor.core.models import DeviceState, Flag, LinkState, Reading
from tests.waiting import wait_for_async

T = 1000.0
DEV = "room1-ble"


def clock() -> float:
    return T


@dataclass
class Rig:
    driver: BleDriver
    peripheral: SimulatedBlePeripheral
    out: list[Reading | DeviceState] = field(default_factory=list)

    @property
    def readings(self) -> list[Reading]:
        return [x for x in self.out if isinstance(x, Reading)]

    @property
    def states(self) -> list[LinkState]:
        return [x.state for x in self.out if isinstance(x, DeviceState)]

    def take(self) -> list[Reading]:
        got = self.readings
        self.out[:] = [x for x in self.out if not isinstance(x, Reading)]
        return got


@contextlib.asynccontextmanager
async def rig(profile: str, *, by_address: bool = False, demo: bool = False) -> AsyncIterator[Rig]:
    radio = SimRadio()
    driver, peripheral, coros = create_simulated_ble_device(
        DEV, profile, "steady", {"demo_data": demo}, clock, radio=radio
    )
    for coro in coros:
        coro.close()  # no scenario loop: the test decides what the device sends
    if by_address:
        driver = BleDriver(BumbleLink(radio), peripheral.address, source=DEV, clock=clock)
    driver.backoff_start_s = 0.05
    driver.bp_replay.burst_gap_s = 0.1  # a BP record is held until its burst ends
    await peripheral.start()
    r = Rig(driver, peripheral)
    task = asyncio.create_task(driver.run(r.out.append))
    try:
        await wait_for_async(lambda: driver.state == LinkState.CONNECTED)
        yield r
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def reading(channel: str, value: float | None, unit: str, *flags: str) -> Reading:
    return Reading(
        t=T, channel=channel, value=value, unit=unit, status=frozenset(flags), source=DEV
    )


async def away_and_back(r: Rig) -> None:
    await r.peripheral.go_away()
    await wait_for_async(lambda: r.driver.state == LinkState.DISCONNECTED)
    assert "link lost" in r.driver.detail
    await wait_for_async(lambda: r.driver.state == LinkState.CONNECTING)  # looking for it again
    await asyncio.sleep(0.2)  # away for a while
    assert r.driver.state == LinkState.CONNECTING
    await r.peripheral.come_back()
    await wait_for_async(lambda: r.driver.state == LinkState.CONNECTED)


RECONNECT_STATES = [
    LinkState.CONNECTING,
    LinkState.CONNECTED,
    LinkState.DISCONNECTED,
    LinkState.CONNECTING,
    LinkState.CONNECTED,
]


async def test_blood_pressure_cuff_end_to_end() -> None:
    async with rig("bps") as r:
        assert r.driver.characteristics == {BPM_CHAR, ICP_CHAR, BP_FEATURE_CHAR}
        assert r.driver.decoders[BPM_CHAR].features == 0x1F  # type: ignore[attr-defined]
        await r.peripheral.measure_bp(Vitals(sbp=150, dbp=95, pulse_rate=80, motion=True))
        await wait_for_async(lambda: len(r.readings) == 7)
        assert r.take() == [
            reading("cuff_pressure", 180.0, "mmHg"),
            reading("cuff_pressure", 133.0, "mmHg"),
            reading("cuff_pressure", 87.0, "mmHg"),
            reading("sbp", 150.0, "mmHg", Flag.MOTION),
            reading("dbp", 95.0, "mmHg", Flag.MOTION),
            reading("map", 113.0, "mmHg", Flag.MOTION),
            reading("pulse_rate", 80.0, "bpm", Flag.MOTION),
        ]
        await away_and_back(r)
        # One cuff-pressure notification shows the cuff measuring on this link; without
        # it, a lone record right after a reconnect is taken as replayed (test_ble_bp_replay).
        await r.peripheral.measure_bp(Vitals(cuff_error=True), steps=1)
        await wait_for_async(lambda: len(r.readings) == 5)
        bad = {Flag.CUFF_ERROR, Flag.INVALID}
        assert r.take() == [
            reading("cuff_pressure", 152.0, "mmHg"),
            reading("sbp", None, "mmHg", *bad),
            reading("dbp", None, "mmHg", *bad),
            reading("map", None, "mmHg", *bad),
            reading("pulse_rate", None, "bpm", *bad),
        ]
        assert r.states == RECONNECT_STATES
        assert (r.driver.frames, r.driver.dropped, r.driver.connections) == (6, {}, 2)


async def test_pulse_oximeter_end_to_end_by_address() -> None:
    async with rig("plxs", by_address=True) as r:
        assert r.driver.characteristics == {PLX_SPOT_CHAR, PLX_CONT_CHAR, PLX_FEATURES_CHAR}
        assert r.driver.decoders[PLX_CONT_CHAR].features == PLX_FEATURES  # type: ignore[attr-defined]
        await r.peripheral.send_vitals(Vitals(spo2=95, pulse_rate=70, perfusion_index=2.5))
        await r.peripheral.send_vitals(Vitals(probe_off=True))
        await wait_for_async(lambda: len(r.readings) == 6)
        off = {Flag.PROBE_OFF, Flag.INVALID}
        assert r.take() == [
            reading("spo2", 95.0, "%"),
            reading("pulse_rate", 70.0, "bpm"),
            reading("perfusion_index", 2.5, "%"),
            reading("spo2", None, "%", *off),
            reading("pulse_rate", None, "bpm", *off),
            reading("perfusion_index", None, "%", *off),
        ]
        await away_and_back(r)
        await r.peripheral.send_spot_check(
            Vitals(spo2=91, pulse_rate=88, perfusion_index=1.2, motion=True)
        )
        await wait_for_async(lambda: len(r.readings) == 3)
        assert r.take() == [
            reading("spo2", 91.0, "%", Flag.MOTION),
            reading("pulse_rate", 88.0, "bpm", Flag.MOTION),
            reading("perfusion_index", 1.2, "%", Flag.MOTION),
        ]
        assert r.states == RECONNECT_STATES


async def test_demo_data_bit_reaches_the_readings() -> None:
    async with rig("plxs", demo=True) as r:
        await r.peripheral.send_vitals(Vitals(spo2=80, pulse_rate=140))
        await wait_for_async(lambda: len(r.readings) == 3)
        readings = r.take()
        assert all(Flag.DEMO in x.status and not x.usable for x in readings)


async def test_heart_rate_end_to_end() -> None:
    async with rig("hrs") as r:
        assert r.driver.characteristics == {HRM_CHAR}
        await r.peripheral.send_vitals(Vitals(pulse_rate=64))
        await wait_for_async(lambda: len(r.readings) == 1)
        assert r.take() == [reading("heart_rate", 64.0, "bpm")]
        await away_and_back(r)
        await r.peripheral.send_vitals(Vitals(probe_off=True))
        await wait_for_async(lambda: len(r.readings) == 1)
        assert r.take() == [reading("heart_rate", None, "bpm", Flag.PROBE_OFF, Flag.INVALID)]
        assert r.states == RECONNECT_STATES


async def test_scenario_drives_the_peripheral_and_its_disconnection() -> None:
    """The peripheral's own loop follows the scenario, including `connected=False`."""
    radio = SimRadio()
    base = scenario("steady")

    def away_for_a_while(elapsed: float) -> Vitals:
        v = base(elapsed)
        return Vitals(spo2=v.spo2, pulse_rate=v.pulse_rate, connected=not 1.0 <= elapsed < 1.6)

    peripheral = SimulatedBlePeripheral(
        radio,
        "Sim-Combo",
        ["plxs", "hrs", "bps"],
        away_for_a_while,
        interval_s=0.05,
        bp_interval_s=0.5,
    )
    driver = BleDriver(BumbleLink(radio), "Sim-Combo", source=DEV, backoff_start_s=0.05)
    out: list[Reading | DeviceState] = []
    tasks = [asyncio.create_task(peripheral.run()), asyncio.create_task(driver.run(out.append))]

    def states(source: str) -> list[LinkState]:
        return [x.state for x in out if isinstance(x, DeviceState) and x.source == source]

    try:
        await wait_for_async(lambda: states(DEV) == RECONNECT_STATES)
        # An oximeter that is also a cuff is its own source from the first connect on
        # (tests/drivers/ble/test_sources.py), and its link follows the device's.
        assert states(oximeter_source(DEV)) == RECONNECT_STATES[1:]
        channels = {(x.channel, x.source) for x in out if isinstance(x, Reading)}
        assert {
            ("spo2", oximeter_source(DEV)),
            ("pulse_rate", oximeter_source(DEV)),
            ("perfusion_index", oximeter_source(DEV)),
            ("heart_rate", DEV),
            ("sbp", DEV),
            ("cuff_pressure", DEV),
        } <= channels
        assert all(
            x.value is not None for x in out if isinstance(x, Reading) and x.channel == "spo2"
        )
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_peripheral_without_health_services_is_reported() -> None:
    radio = SimRadio()
    peripheral = SimulatedBlePeripheral(radio, "Sim-Nothing", [], scenario("steady"))
    await peripheral.start()
    driver = BleDriver(BumbleLink(radio), "Sim-Nothing", source=DEV, backoff_start_s=0.05)
    out: list[Reading | DeviceState] = []
    task = asyncio.create_task(driver.run(out.append))
    try:
        await wait_for_async(lambda: driver.detail.startswith("no "))
        assert driver.state == LinkState.DISCONNECTED
        assert (
            driver.detail == "no Blood Pressure, Pulse Oximeter or Heart Rate measurement offered"
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_absent_peripheral_times_out_and_retries() -> None:
    driver = BleDriver(
        BumbleLink(SimRadio()), "Nobody", source=DEV, connect_timeout_s=0.2, backoff_start_s=0.05
    )
    out: list[Reading | DeviceState] = []
    task = asyncio.create_task(driver.run(out.append))
    try:
        await wait_for_async(lambda: len(out) >= 4)
        assert [(x.state, x.detail) for x in out[:3]] == [  # type: ignore[union-attr]
            (LinkState.CONNECTING, "Nobody"),
            (LinkState.DISCONNECTED, "Nobody not found / no answer within 0.2 s"),
            (LinkState.CONNECTING, "Nobody"),
        ]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown BLE profile 'ecg'"):
        create_simulated_ble_device(DEV, "ecg", "steady", {}, clock, radio=SimRadio())
    with pytest.raises(ValueError, match="unknown scenario"):
        create_simulated_ble_device(DEV, "hrs", "nonsense", {}, clock, radio=SimRadio())


async def test_scan_ble_gives_a_list_or_a_reason() -> None:
    # Real bleak: on this machine (no BlueZ) it must fail with a reason, never a raw error;
    # where an adapter exists it returns dicts.
    try:
        found = await scan_ble(0.5)
    except BleUnavailable as exc:
        assert "BLE scan impossible" in str(exc)
    else:
        assert all({"address", "name", "rssi", "services"} <= set(d) for d in found)
