"""Issue #11 item 5: garbage on the line never becomes vitals.

Measured on every protocol through its decoder and the stream-quality gate, as
`registry.build_decoder` wires them: 1 MB of seeded random bytes (at the line rate and at
the device's own data rate), real frames read at the wrong baud rate (tests/line_noise.py
documents the UART model), random BLE records. None may yield a reading the core would use
(`Reading.usable`); a clean stream must still get through, and a noise burst must heal.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys

import pytest

from drivers.base import StreamDecoder
from drivers.quality import QualityGated, QualityPolicy, StreamQuality, Verdict
from drivers.registry import PROTOCOLS, ProtocolInfo, protocol_info
from monitor.cli.decode import decode_stream
from monitor.core.models import Reading
from tests.line_noise import (
    device_bursts,
    device_output,
    misclocked,
    random_bytes,
    wrong_baud_rates,
)

# Vigil's own protocols only: a test module may register one of its own at import
# (tests/faulty_protocol.py), and whether it is registered yet depends on collection order.
PRODUCT = {p: i for p, i in PROTOCOLS.items() if not p.startswith("test-")}
SERIAL = sorted(p for p, i in PRODUCT.items() if i.transport == "serial")
BLE = sorted(p for p, i in PRODUCT.items() if i.transport == "ble")
UNCHECKED = [p for p in SERIAL if not PROTOCOLS[p].frame_check]
SEED = 11
CLEAN_S = 30.0


def gated(info: ProtocolInfo) -> QualityGated:
    return QualityGated(info.decoder(source="dev"), info.quality_policy)


def line_rate(info: ProtocolInfo) -> float:
    """Bytes per second back to back: start + 8 data (+ parity) + stop bits each."""
    return (info.baudrate or 9600) / (10 + (info.parity in "OE"))


def feed_timed(
    dec: StreamDecoder, data: bytes, bytes_per_s: float, chunk: int = 256, t0: float = 0.0
) -> list[Reading]:
    """Feed `data` in chunks, each stamped with the time its last byte arrives."""
    out: list[Reading] = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk], t0 + (i + len(data[i : i + chunk])) / bytes_per_s)
    return out


def usable(readings: list[Reading]) -> list[Reading]:
    return [r for r in readings if r.usable]


# -- random bytes -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def megabyte() -> bytes:
    return random_bytes(1_000_000, SEED)


@pytest.mark.parametrize("protocol", SERIAL)
def test_a_megabyte_of_random_bytes_gives_no_usable_reading(protocol: str, megabyte: bytes) -> None:
    info = protocol_info(protocol)
    gate = gated(info)
    assert usable(feed_timed(gate, megabyte, line_rate(info))) == []
    if not info.frame_check:
        # Without the gate the same bytes are vitals (issue #11): the gate is what stops them.
        assert usable(feed_timed(info.decoder(source="dev"), megabyte, line_rate(info)))
        assert gate.garbled


@pytest.mark.parametrize("protocol", UNCHECKED)
def test_sparse_random_bytes_at_the_devices_data_rate_give_no_usable_reading(
    protocol: str, megabyte: bytes
) -> None:
    # Noise as slow as the device's own data: fewer bad events a second than at line rate.
    rate = len(device_output(protocol, CLEAN_S)) / CLEAN_S
    gate = gated(protocol_info(protocol))
    assert usable(feed_timed(gate, megabyte[:200_000], rate)) == []
    assert gate.garbled


@pytest.mark.parametrize("protocol", BLE)
def test_random_ble_records_give_no_usable_reading(protocol: str) -> None:
    rng = random.Random(SEED)
    gate = gated(protocol_info(protocol))
    out: list[Reading] = []
    for i in range(5000):
        out += gate.feed(rng.randbytes(rng.randint(1, 24)), float(i))  # one a second
    assert out and usable(out) == []
    assert gate.garbled


# -- wrong baud rate --------------------------------------------------------------------------
WRONG_BAUD = [(p, rx) for p in SERIAL for rx in wrong_baud_rates(p)]


@pytest.mark.parametrize(
    ("protocol", "rx_baud"), WRONG_BAUD, ids=[f"{p}@{rx}" for p, rx in WRONG_BAUD]
)
def test_real_frames_read_at_the_wrong_baud_rate_give_no_usable_reading(
    protocol: str, rx_baud: int
) -> None:
    info = protocol_info(protocol)
    bursts, period = device_bursts(protocol, CLEAN_S)
    assert info.baudrate is not None
    received = misclocked(bursts, info.baudrate, rx_baud, parity=info.parity, period_s=period)
    assert received  # a misclocked UART is not silent
    out = feed_timed(gated(info), received, len(received) / CLEAN_S)
    assert usable(out) == []
    if (protocol, rx_baud) == ("contec-5byte", 9600):
        # Without the gate this one reads as vitals: what the gate is for.
        raw = feed_timed(info.decoder(source="dev"), received, len(received) / CLEAN_S)
        assert len(usable(raw)) > 50


def test_the_uart_model_is_exact_at_the_right_rate_and_wrong_at_another() -> None:
    bursts, period = device_bursts("contec-5byte", 1.0)
    sent = b"".join(bursts)
    assert misclocked(bursts, 19200, 19200, parity="O", period_s=period) == sent
    assert misclocked(bursts, 115200, 115200) == sent
    assert misclocked(bursts, 19200, 57600, parity="O", period_s=period) != sent


# -- clean streams still get through ----------------------------------------------------------
@pytest.mark.parametrize("protocol", SERIAL)
def test_a_clean_stream_is_trusted_after_settling(protocol: str) -> None:
    info = protocol_info(protocol)
    data = device_output(protocol, CLEAN_S)
    gate = gated(info)
    out = feed_timed(gate, data, len(data) / CLEAN_S, chunk=64)
    good = usable(out)
    assert not gate.garbled and gate.quality.verdict == Verdict.CLEAN
    # Trusted after settling (plus the time the first chunks take to arrive).
    assert good and good[0].t <= info.quality_policy.settle_s + 2 * 64 / (len(data) / CLEAN_S) + 1
    assert len(good) >= 0.85 * len(out)


@pytest.mark.parametrize("protocol", UNCHECKED)
def test_an_occasional_glitch_does_not_garble_a_stream(protocol: str) -> None:
    data = bytearray(device_output(protocol, CLEAN_S))
    rate = len(data) / CLEAN_S
    for i in range(200, len(data), int(rate)):  # one damaged byte a second
        data[i] ^= 0x80
    gate = gated(protocol_info(protocol))
    out = feed_timed(gate, bytes(data), rate, chunk=64)
    assert not gate.garbled
    # The frames around each glitch are held back (suspect), the rest flow.
    assert len(usable(out)) >= 0.5 * len(out)


@pytest.mark.parametrize("protocol", UNCHECKED)
def test_a_noise_burst_garbles_the_stream_until_it_has_been_clean_a_while(protocol: str) -> None:
    info = protocol_info(protocol)
    policy = info.quality_policy
    clean = device_output(protocol, 10.0)
    rate = len(clean) / 10.0
    burst = random_bytes(int(3 * rate), SEED)  # 3 s of noise at the device's rate
    gate = gated(info)
    out = feed_timed(gate, clean, rate, chunk=64)
    assert usable(out) and not gate.garbled
    out = feed_timed(gate, burst, rate, chunk=64, t0=10.0)
    assert gate.garbled and usable(out) == []
    after = feed_timed(gate, device_output(protocol, 30.0), rate, chunk=64, t0=13.0)
    first = usable(after)[0].t
    # Usable again once the noise has left the window and the window stayed clean.
    assert 13.0 + policy.clean_after_s <= first <= 13.0 + policy.window_s + policy.clean_after_s + 1
    assert not gate.garbled


# -- the tracker on a timeline ----------------------------------------------------------------
POLICY = QualityPolicy(window_s=5, min_bad=10, max_bad_fraction=0.3, settle_s=2, clean_after_s=10)


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        # (t, good frames, bad events) per observation → verdict after each.
        ([(0, 5, 0), (1, 5, 0), (2, 5, 0)], ["settling", "settling", "clean"]),
        # Nine bad events are under min_bad: a rough start, not garbage.
        ([(0, 1, 9), (1, 20, 0)], ["settling", "settling"]),
        # Clean once the bad events left the window (at 5) and it stayed clean for 2 s.
        ([(0, 1, 9), (3, 20, 0), (8, 20, 0), (10, 20, 0)], ["settling"] * 3 + ["clean"]),
        ([(0, 10, 0), (2, 10, 0), (3, 0, 10)], ["settling", "clean", "garbled"]),
        # 10 bad against 100 good is 9 %: noisy, not garbled (max_bad_fraction 30 %).
        ([(0, 50, 0), (2, 50, 0), (3, 0, 10)], ["settling", "clean", "clean"]),
        # Garbled at 3; the bad events leave the window at 8; clean 10 s later.
        (
            [(0, 10, 0), (2, 10, 0), (3, 5, 20), (8, 10, 0), (17.9, 10, 0), (18, 10, 0)],
            ["settling", "clean", "garbled", "garbled", "garbled", "clean"],
        ),
    ],
)
def test_quality_verdicts_on_a_timeline(
    timeline: list[tuple[float, int, int]], expected: list[str]
) -> None:
    q = StreamQuality(POLICY)
    assert [q.observe(t, good, bad) for t, good, bad in timeline] == expected


def test_a_bad_policy_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="ok_bad_fraction"):
        QualityPolicy(ok_bad_fraction=0.3, max_bad_fraction=0.2)
    with pytest.raises(ValueError, match="window_s"):
        QualityPolicy(window_s=0)


# -- vigil decode reports the verdict ---------------------------------------------------------
def test_vigil_decode_reports_a_garbled_stream_and_uses_none_of_it() -> None:
    noise = random_bytes(20_000, SEED)
    out = io.StringIO()
    decode_stream("berrymed", io.BytesIO(noise), out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    verdicts = [x for x in lines if "stream" in x]
    assert verdicts and verdicts[0]["stream"] == "garbled"
    assert "check cable / baud rate" in verdicts[0]["detail"]
    values = [x for x in lines if x.get("channel") == "spo2"]
    assert values and all(x["value"] is None or x["status"] for x in values)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "decode", "--protocol", "berrymed", "-"],
        input=noise,
        capture_output=True,
        check=True,
    )
    assert b"; stream: garbled (" in proc.stderr


def test_vigil_decode_of_a_clean_capture_says_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "decode", "--protocol", "contec-5byte", "-"],
        input=device_output("contec-5byte", 3.0),
        capture_output=True,
        check=True,
    )
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert not [x for x in lines if "stream" in x or "error" in x]
    assert {(x["value"], tuple(x["status"])) for x in lines if x["channel"] == "spo2"} == {
        (97.0, ())
    }
    assert proc.stderr.endswith(b"; stream: clean\n")
