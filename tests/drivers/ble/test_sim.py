"""Simulator bytes → decoders (pure), the production bleak link's failure mode, link helpers."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from drivers.ble import DECODERS
from drivers.ble.driver import BleDriver
from drivers.ble.link import BleakLink, _short_uuid, is_address
from drivers.sim.ble import bpm_for, hrm_for, plx_continuous_for, plx_spot_for
from drivers.sim.scenarios import Vitals
from monitor.core.models import DeviceState, Flag, LinkState, Reading

vitals = st.builds(
    Vitals,
    spo2=st.one_of(st.none(), st.floats(50, 100)),
    pulse_rate=st.one_of(st.none(), st.floats(25, 240)),
    perfusion_index=st.one_of(st.none(), st.floats(0.1, 19.9)),
    probe_off=st.booleans(),
    motion=st.booleans(),
    sbp=st.one_of(st.none(), st.floats(60, 260)),
    dbp=st.one_of(st.none(), st.floats(30, 150)),
    cuff_error=st.booleans(),
)


def values(protocol: str, data: bytes) -> dict[str, float | None]:
    return {r.channel: r.value for r in DECODERS[protocol](source="s").feed(data, 0.0)}


def rounded(v: float | None) -> float | None:
    return None if v is None else float(round(v))


@given(vitals, st.booleans())
def test_simulated_oximeter_bytes_decode_to_the_scenario(v: Vitals, demo: bool) -> None:
    for protocol, encode in (("ble-2a5f", plx_continuous_for), ("ble-2a5e", plx_spot_for)):
        readings = DECODERS[protocol](source="s").feed(encode(v, demo), 0.0)
        got = {r.channel: r.value for r in readings}
        if v.probe_off:
            assert got == {"spo2": None, "pulse_rate": None, "perfusion_index": None}
            assert all(Flag.PROBE_OFF in r.status for r in readings)
        else:
            pi = got.pop("perfusion_index")
            assert got == {"spo2": rounded(v.spo2), "pulse_rate": rounded(v.pulse_rate)}
            # PAI is sent with one decimal (protocols.md §1.1), rounded on the decimal digits.
            if v.perfusion_index is None:
                assert pi is None
            else:
                assert pi is not None and abs(pi - v.perfusion_index) <= 0.05 + 1e-9
        assert all((Flag.DEMO in r.status) == demo for r in readings)
        assert all((Flag.MOTION in r.status) == v.motion for r in readings)


@given(vitals)
def test_simulated_cuff_and_hr_bytes_decode_to_the_scenario(v: Vitals) -> None:
    bp = values("ble-2a35", bpm_for(v))
    if v.cuff_error or v.sbp is None or v.dbp is None:
        assert bp == {"sbp": None, "dbp": None, "map": None, "pulse_rate": None}
    else:
        assert (bp["sbp"], bp["dbp"], bp["pulse_rate"]) == (
            rounded(v.sbp),
            rounded(v.dbp),
            rounded(v.pulse_rate),
        )
    hr = values("ble-2a37", hrm_for(v))
    assert hr == {
        "heart_rate": None
        if v.probe_off or v.pulse_rate is None or round(v.pulse_rate) == 0
        else rounded(v.pulse_rate)
    }


def test_link_helpers() -> None:
    assert is_address("C0:00:00:00:00:01") and is_address("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
    assert not is_address("Omron BP7450")
    assert _short_uuid("00002a35-0000-1000-8000-00805f9b34fb") == 0x2A35
    assert _short_uuid("6e400001-b5a3-f393-e0a9-e50e24dcca9e") is None


async def test_bleak_driver_reports_why_it_cannot_connect() -> None:
    """The production transport never crashes the driver: here (no BlueZ) or with an adapter
    but no such device, it reports `disconnected` with a reason and keeps retrying."""
    driver = BleDriver(
        BleakLink(scan_timeout_s=0.3),
        "00:00:00:00:00:01",
        source="cuff",
        connect_timeout_s=1,
        backoff_start_s=0.05,
    )
    out: list[Reading | DeviceState] = []
    task = asyncio.create_task(driver.run(out.append))
    try:
        async with asyncio.timeout(10):
            while len(out) < 3:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    states = [(x.state, bool(x.detail)) for x in out[:3] if isinstance(x, DeviceState)]
    assert states == [
        (LinkState.CONNECTING, True),
        (LinkState.DISCONNECTED, True),
        (LinkState.CONNECTING, True),
    ]
    assert out[1].detail.startswith(("BLE unavailable", "00:00:00:00:00:01 not found", "connect"))  # type: ignore[union-attr]
