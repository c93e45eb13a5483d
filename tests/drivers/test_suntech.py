"""SunTech Advantage NIBP: frames, error codes, command encoders, and the start-measurement
flow over a real pty against the simulator that answers like the module."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import suntech
from drivers.registry import build_serial_driver
from drivers.serial_port import NotConnected
from drivers.sim.devices import SunTechSim
from drivers.sim.pty import PtyPair
from drivers.sim.runner import run_serial_sim
from drivers.sim.scenarios import scenario
from drivers.suntech import (
    Ack,
    BPResult,
    CommandParser,
    CuffPressure,
    Other,
    SunTechDecoder,
    encode_ack,
    encode_bp_data,
    encode_command,
)
from drivers.suntech_driver import MeasurementError, SunTechDriver
from monitor.core.models import DeviceState, Flag, LinkState, Reading
from tests.serial_helpers import T, assert_physiological, feed_chunked, mutate

SRC = "cuff"

# ak-git/DesktopFX NIBPConverterTest.java: captured module replies.
DESKTOPFX_CUFF_258 = bytes((0x3E, 0x05, 0x02, 0x01, 0xBA))
DESKTOPFX_BP = bytes.fromhex("3e1873004a001e01000000000000310755005800000000e9")


def rd(channel: str, value: float | None, *flags: str) -> Reading:
    unit = "bpm" if channel == "pulse_rate" else "mmHg"
    return Reading(T, channel, value, unit, frozenset(flags), SRC)


def test_command_encoders_match_desktopfx_requests() -> None:
    # ak-git/DesktopFX NIBPRequest.java: START_BP, GET_CUFF_PRESSURE, GET_BP_DATA.
    assert encode_command(suntech.START_ADULT) == bytes((0x3A, 0x20, 0xA6))
    assert encode_command(suntech.GET_CUFF_PRESSURE) == bytes((0x3A, 0x79, 0x05, 0x00, 0x48))
    assert encode_command(suntech.GET_BP_DATA) == bytes((0x3A, 0x79, 0x03, 0x00, 0x4A))
    # CONTROL_PNEUMATICS_ALL_CLOSED in the same file.
    assert encode_command(bytes((0x0C, 0x00, 0x01, 0x01))) == bytes.fromhex("3a0c000101b8")


RESPONSES = [
    ("DesktopFX cuff pressure 258 mmHg", DESKTOPFX_CUFF_258, [CuffPressure(258)]),
    (
        "DesktopFX BP data 115/74 MAP 88 HR 85",
        DESKTOPFX_BP,
        [BPResult(115, 74, 88, 85, 30, 1, bytes.fromhex("0000000000003107"), 0)],
    ),
    (
        "§9 cuff pressure -1 = not available",
        bytes((0x3E, 0x05, 0xFF, 0xFF, 0xBF)),
        [CuffPressure(None)],
    ),
    ("§9 ack 'O'", encode_ack("O"), [Ack("O")]),
    ("§9 ack 'K'", encode_ack("K"), [Ack("K")]),
    ("return string kept raw", suntech.encode_response(b"LX1.0"), [Other(b"LX1.0")]),
]


@pytest.mark.parametrize(("name", "data", "expected"), RESPONSES, ids=[v[0] for v in RESPONSES])
def test_response_vectors(name: str, data: bytes, expected: list[object]) -> None:
    dec = SunTechDecoder(source=SRC)
    assert dec.feed_responses(data) == expected
    assert dec.frames == 1 and not dec.dropped


def test_bp_readings_and_cuff_pressure_readings() -> None:
    dec = SunTechDecoder(source=SRC)
    assert dec.feed(DESKTOPFX_BP + DESKTOPFX_CUFF_258, T) == [
        rd("sbp", 115),
        rd("dbp", 74),
        rd("map", 88),
        rd("pulse_rate", 85),
        rd("cuff_pressure", 258),
    ]


# §9: error codes are decimal numbers in the byte. Appciton's isResult() compares with 0x85.
ERRORS = [
    (85, "pneumatic blockage", {Flag.CUFF_ERROR}),
    (87, "inflate timeout / air leak / loose cuff", {Flag.CUFF_ERROR, Flag.CUFF_LOOSE}),
    (2, "erratic signal / excessive motion", {Flag.CUFF_ERROR, Flag.MOTION}),
    (1, "weak or no signal", {Flag.CUFF_ERROR, Flag.LOW_SIGNAL_QUALITY}),
    (0x85, "unknown error code 133", {Flag.CUFF_ERROR}),  # 0x85 is NOT code 85
]


@pytest.mark.parametrize(("code", "text", "flags"), ERRORS)
def test_error_code_makes_every_value_invalid(code: int, text: str, flags: set[str]) -> None:
    frame = encode_bp_data(120, 80, 93, 70, error=code)
    dec = SunTechDecoder(source=SRC)
    (result,) = dec.feed_responses(frame)
    assert isinstance(result, BPResult)
    assert (result.error_code, result.error_text, result.ok) == (code, text, False)
    assert dec.readings(result, T) == [
        rd(ch, None, Flag.INVALID, *flags) for ch in ("sbp", "dbp", "map", "pulse_rate")
    ]


def test_resync_on_bad_length_and_checksum() -> None:
    bad_sum = bytearray(DESKTOPFX_CUFF_258)
    bad_sum[2] ^= 0x01
    dec = SunTechDecoder(source=SRC)
    out = dec.feed_responses(
        b"\x00\x3e\x00"  # stray byte, then a SOM with LEN 0
        + bytes(bad_sum)
        + b"\x3e\x44"  # LEN above 0x43
        + DESKTOPFX_CUFF_258
    )
    assert out == [CuffPressure(258)]
    assert dec.dropped == {"resync_bytes": 7, "bad_length": 2, "bad_checksum": 1}


@pytest.mark.parametrize("chunk", [1, 2, 5, 24])
def test_split_reads(chunk: int) -> None:
    out = feed_chunked(SunTechDecoder(source=SRC), DESKTOPFX_BP + DESKTOPFX_CUFF_258, chunk)
    assert [r.value for r in out] == [115, 74, 88, 85, 258]


@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.integers(1, 300))
def test_round_trip(sbp: int, dbp: int, mean: int, hr: int) -> None:
    (res,) = SunTechDecoder().feed_responses(encode_bp_data(sbp, dbp, mean, hr))
    assert (res.sbp, res.dbp, res.mean, res.hr, res.error_code) == (sbp, dbp, mean, hr, 0)


@given(st.binary(max_size=400), st.integers(1, 64))
def test_random_bytes_never_raise_nor_give_implausible_values(data: bytes, chunk: int) -> None:
    assert_physiological(feed_chunked(SunTechDecoder(), data, chunk))


@given(st.lists(st.tuples(st.integers(0, 57), st.integers(0, 255)), max_size=6))
def test_mutated_frames_never_raise(mutations: list[tuple[int, int]]) -> None:
    data = mutate(DESKTOPFX_BP + DESKTOPFX_CUFF_258 + DESKTOPFX_BP + DESKTOPFX_CUFF_258, mutations)
    assert_physiological(SunTechDecoder().feed(data, T))


def test_command_parser_and_simulator_answers() -> None:
    p = CommandParser()
    assert p.feed(encode_command(suntech.START_ADULT) + b"\x3a\x20\x00" + b"\x3a\x55") == [
        suntech.START_ADULT,
        None,  # bad checksum
        None,  # unknown command byte
    ]
    sim = SunTechSim(measure_s=10)
    v = scenario("steady", {"wobble": False})(0)
    start = encode_command(suntech.START_ADULT)
    assert sim.receive(start, v, 0.0) == encode_ack("O")
    assert sim.receive(start, v, 1.0) == encode_ack("B")  # busy: a cycle is running
    assert sim.emit(v, 5.0) == b""
    assert sim.emit(v, 10.0) == encode_ack("K")
    assert sim.receive(encode_command(suntech.GET_BP_DATA), v, 10.1) == encode_bp_data(
        122, 78, 93, 72
    )


async def _wait(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def loop() -> None:
        while not pred():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(loop(), timeout)


async def _measure(
    name: str, options: dict[str, object]
) -> tuple[BPResult, list[object], SunTechSim]:
    pty = PtyPair()
    sim = SunTechSim(measure_s=0.8)
    items: list[Reading | DeviceState] = []
    driver = build_serial_driver("suntech", pty.port, SRC, options={"poll_s": 0.05})
    assert isinstance(driver, SunTechDriver)
    tasks = [
        asyncio.create_task(run_serial_sim(pty, sim, scenario(name, options))),
        asyncio.create_task(driver.run(items.append)),
    ]
    try:
        await _wait(lambda: driver.state == LinkState.CONNECTED)
        result = await asyncio.wait_for(driver.start_measurement(), 10)
        await _wait(lambda: any(isinstance(i, Reading) and i.channel == "sbp" for i in items))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pty.close()
    return result, items, sim


async def test_start_measurement_over_pty() -> None:
    result, items, sim = await _measure("steady", {"wobble": False, "sbp": 131, "dbp": 84})
    assert result == BPResult(131, 84, 100, 72, 8, 0, bytes(8), 0)
    readings = [i for i in items if isinstance(i, Reading)]
    final = [(r.channel, r.value, r.status) for r in readings if r.channel != "cuff_pressure"]
    assert final == [
        ("sbp", 131, frozenset()),
        ("dbp", 84, frozenset()),
        ("map", 100, frozenset()),
        ("pulse_rate", 72, frozenset()),
    ]
    cuff = [r.value for r in readings if r.channel == "cuff_pressure"]
    # Live cuff pressure while the cuff cycles: inflating, then deflating to the end.
    peak = cuff.index(max(cuff))
    assert len(cuff) >= 5 and 0 < peak < len(cuff) - 1 and cuff[-1] < cuff[peak]
    # The module saw: start, cuff-pressure polls, then get-BP-data, in that order.
    assert sim.commands[0] == suntech.START_ADULT and sim.commands[-1] == suntech.GET_BP_DATA
    assert set(sim.commands[1:-1]) == {suntech.GET_CUFF_PRESSURE}


async def test_cuff_error_over_pty_gives_no_values() -> None:
    result, items, _ = await _measure("cuff_error", {"wobble": False})
    assert (result.error_code, result.error_text) == (87, "inflate timeout / air leak / loose cuff")
    final = [i for i in items if isinstance(i, Reading) and i.channel != "cuff_pressure"]
    assert {(r.channel, r.value) for r in final} == {
        ("sbp", None),
        ("dbp", None),
        ("map", None),
        ("pulse_rate", None),
    }
    assert all(r.status == {Flag.INVALID, Flag.CUFF_ERROR, Flag.CUFF_LOOSE} for r in final)


async def test_start_measurement_errors() -> None:
    pty = PtyPair()
    driver = SunTechDriver(pty.port, SunTechDecoder(), source=SRC, ack_timeout_s=0.3)
    with pytest.raises(NotConnected):
        await driver.start_measurement()  # port not open yet
    task = asyncio.create_task(driver.run(lambda _: None))
    try:
        await _wait(lambda: driver.state == LinkState.CONNECTED)
        with pytest.raises(MeasurementError, match="no answer"):
            await driver.start_measurement()  # nobody answers on the other end
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pty.close()


async def test_measurement_timeout_aborts_the_cycle() -> None:
    pty = PtyPair()
    sim = SunTechSim(measure_s=30)
    driver = SunTechDriver(
        pty.port, SunTechDecoder(), source=SRC, poll_s=0.05, measurement_timeout_s=0.4
    )
    tasks = [
        asyncio.create_task(run_serial_sim(pty, sim, scenario("steady"))),
        asyncio.create_task(driver.run(lambda _: None)),
    ]
    try:
        await _wait(lambda: driver.state == LinkState.CONNECTED)
        with pytest.raises(MeasurementError, match="timed out"):
            await driver.start_measurement()
        await _wait(lambda: sim.commands[-1] == suntech.ABORT)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pty.close()
    assert sim.commands[0] == suntech.START_ADULT


def test_a_cuff_cycle_keeps_the_cuffs_pulse_rate_in_the_core() -> None:
    """The decoders' readings, fed to the real core, give a BP reading with the cuff's pulse
    (the core closes a cycle once SBP, DBP and MAP are in; the pulse comes after them)."""
    from drivers.ble.bps import bpm_readings, encode_bpm, parse_bpm
    from monitor.core.pipeline import RoomPipeline

    ble = bpm_readings(
        parse_bpm(encode_bpm(131, 84, 99, pulse_rate=77, include_pulse_rate=True)), T, "ble"
    )
    for readings, expected in (
        (SunTechDecoder(source=SRC).feed(DESKTOPFX_BP, T), (115, 74, 88, 85)),
        (ble, (131, 84, 99, 77)),
    ):
        p = RoomPipeline("A")
        for r in readings:
            p.feed(r)
        [bp] = p.bp_readings
        assert (bp.sbp, bp.dbp, bp.map, bp.pulse_rate) == expected
