"""One BLE device offering a cuff (BPS 0x1810) and an oximeter (PLXS 0x1822) is two sources.

Multi-parameter spot-check monitors offer both services on one link. The core tells a cuff
from an oximeter by source (a source that sends pressure is a cuff, and a cuff's pulse rate
is kept out of the oximeter's HR rules), so the BleDriver must report each service under
its own source, and report the link state for every source the device feeds.

Real components: a bumble GATT server offering BPS, PLXS and HRS on an in-process LocalLink,
read by the real BleDriver through a bumble central, fed into a real RoomPipeline. The clock
is the test's, so every reading and link state has a known time.

Naming: the oximeter of such a device is `<id>/plx`, the cuff (and heart rate) stay `<id>`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from drivers.ble.bumble_link import BumbleLink, SimRadio
from drivers.ble.driver import BleDriver
from drivers.sim.ble import SimulatedBlePeripheral
from drivers.sim.scenarios import Vitals, scenario
from monitor.core.models import AlarmEvent, AlarmState, DeviceState, LinkState, Reading
from monitor.core.pipeline import PipelineEvent, RoomPipeline
from tests.core_helpers import dosed, run
from tests.waiting import wait_for_async

DEV = "mon"  # the device's own name: its cuff, and its heart rate as before
OXI = "mon/plx"  # its oximeter
NAME = "Sim-Monitor"
BASELINE = {"spo2": 97.0, "pulse_rate": 70.0, "sbp": 120.0, "dbp": 80.0}


@dataclass
class Rig:
    radio: SimRadio
    peripheral: SimulatedBlePeripheral
    pipeline: RoomPipeline
    driver: BleDriver = field(init=False)
    now: float = 2.0
    out: list[Reading | DeviceState] = field(default_factory=list)
    events: list[PipelineEvent] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def emit(self, item: Reading | DeviceState) -> None:
        # What the runtime's room loop does with a driver's output, minus the queue.
        self.out.append(item)
        self.events += run(self.pipeline, [item])

    @property
    def readings(self) -> list[Reading]:
        return [x for x in self.out if isinstance(x, Reading)]

    def tick(self, t: float) -> None:
        self.now = t
        self.events += self.pipeline.tick(t)

    async def vitals(self, t: float, **v: float) -> None:
        """One second of the oximeter (PLX continuous: 3 readings) and HR sensor (1), if any."""
        self.tick(t)
        n = len(self.readings)
        profiles = self.peripheral.profiles
        await self.peripheral.send_vitals(Vitals(**v))  # type: ignore[arg-type]
        await wait_for_async(
            lambda: len(self.readings) == n + 3 * ("plxs" in profiles) + ("hrs" in profiles)
        )

    async def bp_cycle(self, t: float, sbp: float, dbp: float, pulse_rate: float) -> None:
        """Three cuff-pressure notifications while deflating, then the measurement (4)."""
        self.tick(t)
        n = len(self.readings)
        await self.peripheral.measure_bp(Vitals(sbp=sbp, dbp=dbp, pulse_rate=pulse_rate))
        await wait_for_async(lambda: len(self.readings) == n + 7)

    async def replace_device(self, t: float, profiles: Sequence[str]) -> None:
        """The device goes away; one with the same name and these services comes (a device
        whose GATT database changed, e.g. an SpO2 module plugged in or out)."""
        self.tick(t)
        await self.peripheral.go_away()
        await wait_for_async(lambda: self.driver.state != LinkState.CONNECTED)
        self.peripheral = SimulatedBlePeripheral(self.radio, NAME, profiles, scenario("steady"))
        await self.peripheral.start()
        await wait_for_async(lambda: self.driver.state == LinkState.CONNECTED)

    def alarms(self) -> list[tuple[float, str, str]]:
        return [(e.t, e.condition, e.state.value) for e in self.events if isinstance(e, AlarmEvent)]

    def link_ups(self) -> dict[str, list[float]]:
        ups: dict[str, list[float]] = {}
        for x in self.out:
            if isinstance(x, DeviceState) and x.state == LinkState.CONNECTED:
                ups.setdefault(x.source, []).append(x.t)
        return ups


@contextlib.asynccontextmanager
async def monitor_rig(
    profiles: Sequence[str] = ("bps", "plxs", "hrs"), pipeline: RoomPipeline | None = None
) -> AsyncIterator[Rig]:
    """By default a dosed room (baseline confirmed at t=1) reading a BPS+PLXS+HRS monitor
    from t=2."""
    radio = SimRadio()
    peripheral = SimulatedBlePeripheral(radio, NAME, profiles, scenario("steady"))
    await peripheral.start()
    rig = Rig(radio, peripheral, pipeline or dosed(BASELINE, escalation_after_s={}))
    rig.driver = BleDriver(
        BumbleLink(radio),
        NAME,
        source=DEV,
        clock=rig.clock,
        connect_timeout_s=0.5,
        backoff_start_s=0.05,
        backoff_max_s=0.1,
    )
    task = asyncio.create_task(rig.driver.run(rig.emit))
    try:
        await wait_for_async(lambda: rig.driver.state == LinkState.CONNECTED)
        yield rig
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_after_a_bp_cycle_the_oximeter_pulse_is_still_oximeter_pulse() -> None:
    async with monitor_rig() as r:
        for t in range(3, 13):
            await r.vitals(t, spo2=97, pulse_rate=70)
        await r.bp_cycle(13, sbp=118, dbp=78, pulse_rate=64)
        # The patient desaturates and is tachycardic: the oximeter's values must reach the
        # SpO2 and the HR rules, and its pulse must not go stale after the cuff cycle.
        for t in range(13, 41):
            await r.vitals(t, spo2=84, pulse_rate=160)
        r.tick(41)

        # Medians cross at the third low/high sample (t=15); then each rule's delay runs.
        # spo2_severe: ≤85 for 5 s; hr_severe_high: ≥150 for 10 s; spo2_low: <90 for 15 s.
        assert r.alarms() == [
            (20.0, "spo2_severe", "active"),
            (25.0, "hr_severe_high", "active"),
            (30.0, "spo2_low", "active"),
        ]
        assert {c: a.state for c, a in r.pipeline.active.items()} == {
            "spo2_severe": AlarmState.ACTIVE,
            "hr_severe_high": AlarmState.ACTIVE,
            "spo2_low": AlarmState.ACTIVE,
        }
        # The cuff cycle is one BP reading, of the cuff part. (Its pulse rate is not compared:
        # the core's BpAssembler closes a cycle at MAP, before the cuff's pulse arrives.)
        bp = r.pipeline.bp_readings
        assert [(b.t, b.sbp, b.dbp, b.map, b.source) for b in bp] == [(13, 118, 78, 91, DEV)]
        # Smoothed oximeter pulse (median of 5 s) is the oximeter's 160, not stuck at 70.
        assert r.pipeline.smoothed == {"spo2": 84.0, "pulse_rate": 160.0}
        # Each GATT service reports under its own source; HRS stays with the device's own.
        assert {(x.channel, x.source) for x in r.readings} == {
            ("spo2", OXI),
            ("pulse_rate", OXI),
            ("perfusion_index", OXI),
            ("heart_rate", DEV),
            ("cuff_pressure", DEV),
            ("sbp", DEV),
            ("dbp", DEV),
            ("map", DEV),
            ("pulse_rate", DEV),
        }


async def test_a_dropped_link_raises_the_device_alarm_for_both_parts_and_returns() -> None:
    async with monitor_rig() as r:
        for t in range(3, 9):
            await r.vitals(t, spo2=97, pulse_rate=70)
        await r.bp_cycle(9, sbp=118, dbp=78, pulse_rate=64)  # the device's own name is a cuff

        r.tick(10)
        await r.peripheral.go_away()
        await wait_for_async(lambda: r.driver.state != LinkState.CONNECTED)
        # Both parts are down from t=10: the alarm names both after 10 s, not before; the
        # oximeter's missing data is explained by the link, so no stale alarms.
        for t in (11, 15, 19, 19.9):
            r.tick(t)
        assert r.alarms() == []
        r.tick(20)
        assert r.alarms() == [(20.0, "device_disconnected", "active")]
        assert r.pipeline.active["device_disconnected"].reason == f"no link to {DEV}, {OXI}"
        assert {s: d.state for s, d in r.pipeline.devices.items()} == {
            DEV: r.driver.state,
            OXI: r.driver.state,
        }

        r.tick(25)
        await r.peripheral.come_back()
        await wait_for_async(lambda: r.driver.state == LinkState.CONNECTED)
        assert r.link_ups() == {DEV: [2.0, 25.0], OXI: [2.0, 25.0]}
        assert r.pipeline.devices == {
            DEV: DeviceState(25.0, DEV, LinkState.CONNECTED, NAME),
            OXI: DeviceState(25.0, OXI, LinkState.CONNECTED, NAME),
        }
        # The link back clears the alarm at once. The oximeter gets the link-back grace:
        # its last sample was at t=8, yet stale is raised 10 s after the link came back.
        for t in (26, 30, 34, 34.9):
            r.tick(t)
        assert r.alarms()[1:] == [(25.0, "device_disconnected", "cleared")]
        r.tick(35)
        assert r.alarms()[2:] == [
            (35.0, "spo2_stale", "active"),
            (35.0, "pulse_rate_stale", "active"),
        ]
        # Data back: the oximeter's pulse clears its stale alarm (it is not taken for cuff
        # pulse after the earlier cuff cycle).
        for t in range(36, 39):
            await r.vitals(t, spo2=97, pulse_rate=70)
        assert r.alarms()[4:] == [
            (36.0, "spo2_stale", "cleared"),
            (36.0, "pulse_rate_stale", "cleared"),
        ]


# When hr_severe_high (≥ 150 bpm for 10 s) is raised: the 5-s median is 160 from the first
# sample of 160 at t=8 when no earlier pulse is in the window, else from t=9 (the 70s of
# t=4 and t=5 hold it down one sample longer).
@pytest.mark.parametrize(
    ("before", "after", "hr_alarm_t"),
    [
        (("bps",), ("bps", "plxs"), 18.0),  # a cuff, then an SpO2 module appears
        (("plxs",), ("bps", "plxs"), 19.0),  # an oximeter, then the cuff appears
        (("bps", "plxs"), ("plxs",), 19.0),  # both, then the cuff's service is gone
    ],
)
async def test_the_oximeter_stays_an_oximeter_when_the_services_change(
    before: tuple[str, ...], after: tuple[str, ...], hr_alarm_t: float
) -> None:
    # No session: only the absolute limits run, so an HR alarm proves the oximeter's pulse
    # reached the rules, and nothing else (stale, disconnected) is in the way.
    async with monitor_rig(before, RoomPipeline("A", escalation_after_s={})) as r:
        for t in range(3, 6):
            await r.vitals(t, spo2=97, pulse_rate=70)
        if "bps" in before:
            await r.bp_cycle(6, sbp=118, dbp=78, pulse_rate=64)
        await r.replace_device(7, after)
        first = len(r.readings)
        if "bps" in after:
            await r.bp_cycle(8, sbp=121, dbp=79, pulse_rate=66)
        for t in range(8, 25):
            await r.vitals(t, spo2=97, pulse_rate=160)
        r.tick(25)

        cuff = {"cuff_pressure", "sbp", "dbp", "map", "pulse_rate"} if "bps" in after else set()
        assert {(x.channel, x.source) for x in r.readings[first:]} == {(c, DEV) for c in cuff} | {
            ("spo2", OXI),
            ("pulse_rate", OXI),
            ("perfusion_index", OXI),
        }
        assert r.pipeline.smoothed["pulse_rate"] == 160.0
        assert [a for a in r.alarms() if a[1].startswith("hr_")] == [
            (hr_alarm_t, "hr_severe_high", "active")
        ]
