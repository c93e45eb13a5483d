"""Simulated BLE health devices: real bumble GATT servers following a scenario.

A peripheral offers any of the Blood Pressure (0x1810), Pulse Oximeter (0x1822) and Heart
Rate (0x180D) services on the in-process radio (drivers.ble.bumble_link.SimRadio) and sends
the standard encodings from drivers.ble.* — the same bytes a real device would send.
When the scenario says `connected=False` (or `go_away()` is called) it drops the link and
stops advertising until it comes back.

A cuff keeps its measurements in memory. With `replay_stored=N` it behaves like the many
cuffs that replay their memory when a central re-enables 2A35 indications (the reference
sensor does): the newest N records, oldest first, back to back, on every (re)connect. Its
memory starts with N records of a "previous patient" (hypertensive, hours old), and every
live cycle joins it, so after a reconnect the replay also re-sends records already
delivered. `bp_timestamps` adds the cuff's Date Time (local wall clock, `clock_offset_s`
off) to every 2A35.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Device

from drivers.ble.bps import encode_bp_feature, encode_bpm, encode_icp
from drivers.ble.bumble_link import Radio
from drivers.ble.common import (
    BP_FEATURE_CHAR,
    BPM_CHAR,
    BPS_SERVICE,
    HRM_CHAR,
    HRS_SERVICE,
    ICP_CHAR,
    PLX_CONT_CHAR,
    PLX_FEATURES_CHAR,
    PLX_SPOT_CHAR,
    PLXS_SERVICE,
)
from drivers.ble.hrs import encode_hrm
from drivers.ble.plx import (
    DS_ERRATIC_SIGNAL,
    DS_SENSOR_DISCONNECTED,
    MS_DEMO,
    PlxFeatures,
    encode_continuous,
    encode_plx_features,
    encode_spot_check,
)
from drivers.ieee11073 import DateTime
from drivers.sim.scenarios import Scenario, Vitals
from drivers.stopping import stop_if_asked

log = logging.getLogger(__name__)

PROFILES = {"bps": BPS_SERVICE, "plxs": PLXS_SERVICE, "hrs": HRS_SERVICE}
BP_STATUS_BODY_MOVEMENT = 0x0001
# Every status bit this simulator can set is declared supported in the feature values.
BP_FEATURES = frozenset(
    {"body_movement", "cuff_fit", "irregular_pulse", "pulse_rate_range", "measurement_position"}
)
PLX_FEATURES = PlxFeatures(
    supported=0x0043,  # measurement status, device & sensor status, PAI
    measurement_status_support=0xFFE0,  # bits 5–15
    device_status_support=0x00FFFF,  # bits 0–15
)
#: What the cuff's memory holds before its first live cycle: a previous patient's readings
#: (each would raise bp_severe if taken as current), one per `PREVIOUS_PATIENT_EVERY_S`.
PREVIOUS_PATIENT = Vitals(sbp=212.0, dbp=124.0, pulse_rate=96.0)
PREVIOUS_PATIENT_EVERY_S = 1800.0
MEMORY_SIZE = 100


def _char(
    uuid: int, props: gatt.Characteristic.Properties, value: bytes = b""
) -> gatt.Characteristic[bytes]:
    return gatt.Characteristic(UUID.from_16_bits(uuid), props, gatt.Characteristic.READABLE, value)


N = gatt.Characteristic.Properties.NOTIFY
IND = gatt.Characteristic.Properties.INDICATE
RD = gatt.Characteristic.Properties.READ


class SimulatedBlePeripheral:
    """A bumble GATT server for one simulated device (cuff, oximeter, HR sensor or a combo)."""

    def __init__(
        self,
        radio: Radio,
        name: str,
        profiles: Iterable[str],
        scenario: Scenario,
        *,
        interval_s: float = 1.0,
        bp_interval_s: float = 60.0,
        demo_data: bool = False,
        replay_stored: int = 0,
        bp_timestamps: bool = False,
        clock_offset_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(profiles) - set(PROFILES)
        if unknown:
            raise ValueError(f"unknown BLE profile(s) {sorted(unknown)}; known: {sorted(PROFILES)}")
        self.profiles = frozenset(profiles)
        self.name = name
        self.scenario = scenario
        self.interval_s = interval_s
        self.bp_interval_s = bp_interval_s
        self.demo_data = demo_data  # set the PLX "data for demonstration" bit
        self.clock = clock
        if replay_stored < 0:
            raise ValueError(f"replay_stored must be >= 0, got {replay_stored}")
        self.replay_stored = replay_stored
        self.bp_timestamps = bp_timestamps
        self.clock_offset_s = clock_offset_s  # how far the cuff's clock is ahead of ours
        now = clock()
        # The cuff's memory of 2A35 values, oldest first.
        self.memory: list[bytes] = [
            self._bpm(PREVIOUS_PATIENT, now - (replay_stored - i + 1) * PREVIOUS_PATIENT_EVERY_S)
            for i in range(replay_stored)
        ]
        self.device: Device = radio.new_device(name)
        self.address = str(self.device.random_address)
        self.available = True
        self.sent: list[tuple[int, bytes]] = []  # what went out, for tests
        self._chars: dict[int, gatt.Characteristic[bytes]] = {}
        self._build_services()
        self._started = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.device.on("connection", self._on_connection)
        if replay_stored:
            self.device.on("characteristic_subscription", self._on_subscription)

    def _on_connection(self, conn: Any) -> None:
        # Re-advertise ourselves after a disconnection (bumble's auto_restart would also do it
        # after go_away(), when the device must stay silent).
        def on_disc(_reason: int) -> None:
            if self.available:
                task = asyncio.get_running_loop().create_task(self._advertise())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        conn.on("disconnection", on_disc)

    def _on_subscription(self, _conn: Any, char: Any, _notify: bool, indicate: bool) -> None:
        if indicate and char is self._chars.get(BPM_CHAR):
            task = asyncio.get_running_loop().create_task(self.replay())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def replay(self) -> None:
        """Send the newest `replay_stored` records of the memory, oldest first."""
        for value in self.memory[-self.replay_stored :] if self.replay_stored else []:
            await self._send(BPM_CHAR, value, indicate=True)

    def device_time(self, t: float) -> DateTime:
        """The cuff's zoneless wall clock at POSIX time `t`."""
        d = datetime.fromtimestamp(t + self.clock_offset_s)
        return DateTime(d.year, d.month, d.day, d.hour, d.minute, d.second)

    def _bpm(self, v: Vitals, t: float) -> bytes:
        return bpm_for(v, self.device_time(t) if self.bp_timestamps else None)

    def _build_services(self) -> None:
        services = []
        if "bps" in self.profiles:
            bpm, icp = _char(BPM_CHAR, IND), _char(ICP_CHAR, N)
            feat = _char(BP_FEATURE_CHAR, RD, encode_bp_feature(BP_FEATURES))
            self._chars |= {BPM_CHAR: bpm, ICP_CHAR: icp}
            services.append(gatt.Service(UUID.from_16_bits(BPS_SERVICE), [bpm, icp, feat]))
        if "plxs" in self.profiles:
            spot, cont = _char(PLX_SPOT_CHAR, IND), _char(PLX_CONT_CHAR, N)
            feat = _char(PLX_FEATURES_CHAR, RD, encode_plx_features(PLX_FEATURES))
            self._chars |= {PLX_SPOT_CHAR: spot, PLX_CONT_CHAR: cont}
            services.append(gatt.Service(UUID.from_16_bits(PLXS_SERVICE), [spot, cont, feat]))
        if "hrs" in self.profiles:
            hrm = _char(HRM_CHAR, N)
            self._chars[HRM_CHAR] = hrm
            services.append(gatt.Service(UUID.from_16_bits(HRS_SERVICE), [hrm]))
        self.device.add_services(services)
        uuids = b"".join(bytes(UUID.from_16_bits(PROFILES[p])) for p in sorted(self.profiles))
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, uuids),
                ]
            )
        )

    # -- availability -----------------------------------------------------------------------
    async def start(self) -> None:
        if not self._started:
            await self.device.power_on()
            self._started = True
        await self._advertise()

    async def _advertise(self) -> None:
        with contextlib.suppress(Exception):  # already advertising
            await self.device.start_advertising(
                advertising_interval_min=20, advertising_interval_max=20
            )

    @property
    def connected(self) -> bool:
        return bool(self.device.connections)

    async def go_away(self) -> None:
        """Out of range / switched off: drop every link and stop advertising."""
        self.available = False
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        for conn in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await conn.disconnect()

    async def come_back(self) -> None:
        self.available = True
        await self._advertise()

    # -- sending ----------------------------------------------------------------------------
    async def _send(self, char: int, value: bytes, indicate: bool = False) -> None:
        if char not in self._chars or not self.connected:
            return
        self.sent.append((char, value))
        try:
            if indicate:
                async with asyncio.timeout(5):
                    await self.device.indicate_subscribers(self._chars[char], value)
            else:
                await self.device.notify_subscribers(self._chars[char], value)
        except Exception as exc:  # the central went away mid-send: a real device shrugs too
            log.debug("%s: send %04X failed: %s", self.name, char, exc)

    async def send_vitals(self, v: Vitals) -> None:
        """One second's continuous values: PLX continuous and heart rate."""
        if "plxs" in self.profiles:
            await self._send(PLX_CONT_CHAR, plx_continuous_for(v, self.demo_data))
        if "hrs" in self.profiles:
            await self._send(HRM_CHAR, hrm_for(v))

    async def send_spot_check(self, v: Vitals) -> None:
        await self._send(PLX_SPOT_CHAR, plx_spot_for(v, self.demo_data), indicate=True)

    async def measure_bp(self, v: Vitals, steps: int = 3) -> None:
        """A cuff cycle: a few cuff-pressure notifications while deflating, then the result."""
        if "bps" not in self.profiles:
            return
        top = (v.sbp or 120.0) + 30
        for i in range(steps):
            await self._send(ICP_CHAR, encode_icp(round(top - i * (top - 40) / steps)))
        value = self._bpm(v, self.clock())
        self.memory = [*self.memory, value][-MEMORY_SIZE:]
        await self._send(BPM_CHAR, value, indicate=True)

    async def run(self) -> None:
        """Follow the scenario until cancelled."""
        await self.start()
        start = self.clock()
        next_bp = 0.0
        while True:
            stop_if_asked()  # bumble may have swallowed a cancellation (drivers/stopping.py)
            elapsed = self.clock() - start
            v = self.scenario(elapsed)
            if not v.connected and self.available:
                await self.go_away()
            elif v.connected and not self.available:
                await self.come_back()
            if self.available:
                await self.send_vitals(v)
                if elapsed >= next_bp and self.connected:
                    await self.measure_bp(v)
                    next_bp = elapsed + self.bp_interval_s
            await asyncio.sleep(self.interval_s)


# -- scenario → bytes ---------------------------------------------------------------------
def bpm_for(v: Vitals, timestamp: DateTime | None = None) -> bytes:
    """The 2A35 value a cuff sends for these vitals (NaN pressures for a failed cycle)."""
    if v.cuff_error or v.sbp is None or v.dbp is None:
        return encode_bpm(None, None, None, timestamp=timestamp, include_pulse_rate=True, status=0)
    mean = round(v.dbp + (v.sbp - v.dbp) / 3)
    return encode_bpm(
        round(v.sbp),
        round(v.dbp),
        mean,
        timestamp=timestamp,
        pulse_rate=None if v.pulse_rate is None else round(v.pulse_rate),
        include_pulse_rate=True,
        status=BP_STATUS_BODY_MOVEMENT if v.motion else 0,
    )


def _plx_status(v: Vitals) -> int:
    status = 0
    if v.probe_off:
        status |= 1 << DS_SENSOR_DISCONNECTED
    if v.motion:
        status |= 1 << DS_ERRATIC_SIGNAL
    return status


def plx_continuous_for(v: Vitals, demo: bool = False) -> bytes:
    off = v.probe_off
    return encode_continuous(
        None if off or v.spo2 is None else round(v.spo2),
        None if off or v.pulse_rate is None else round(v.pulse_rate),
        measurement_status=(1 << MS_DEMO) if demo else 0,
        device_status=_plx_status(v),
        pai=None if off else v.perfusion_index,
        include_pai=True,
    )


def plx_spot_for(v: Vitals, demo: bool = False) -> bytes:
    off = v.probe_off
    return encode_spot_check(
        None if off or v.spo2 is None else round(v.spo2),
        None if off or v.pulse_rate is None else round(v.pulse_rate),
        measurement_status=(1 << MS_DEMO) if demo else 0,
        device_status=_plx_status(v),
        pai=None if off else v.perfusion_index,
        include_pai=True,
    )


def hrm_for(v: Vitals) -> bytes:
    hr = 0 if v.probe_off or v.pulse_rate is None else round(v.pulse_rate)
    rr = (round(60 * 1024 / hr),) if hr else ()
    return encode_hrm(hr, sensor_contact=not v.probe_off, rr_intervals=rr)
