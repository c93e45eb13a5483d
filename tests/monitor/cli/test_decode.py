"""`vigil decode`, `vigil devices` and `vigil simulate` as a field engineer runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers import contec, nonin, suntech
from drivers.registry import PROTOCOLS, ProtocolInfo, register
from monitor.cli.decode import decode_stream
from monitor.core.models import Reading

ROOT = Path(__file__).resolve().parents[3]


def vigil(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines()]


def test_decode_file_of_bytes(tmp_path: Path) -> None:
    capture = tmp_path / "nonin.bin"
    bad = bytearray(nonin.encode_packet(80, 95))
    bad[7 * 5 + 4] ^= 0x55  # corrupt frame 8's checksum
    capture.write_bytes(
        b"\x01\x02\x03"
        + nonin.encode_packet(72, 97)
        + bytes(bad)
        + nonin.encode_packet(None, None, status=nonin.ST_SNSD)
    )
    proc = vigil("decode", "--protocol", "nonin-df2", str(capture))
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout) == [
        {"error": "resync_bytes", "count": 3, "offset": 9},
        {"channel": "pulse_rate", "value": 72.0, "unit": "bpm", "status": [], "offset": 127},
        {"channel": "spo2", "value": 97.0, "unit": "%", "status": [], "offset": 127},
        # Frame 8 of the second packet (bytes 163-167) fails its checksum: the packet is
        # lost, the decoder slides over that frame and relocks on frames 9-10 at byte 177,
        # then waits for the next SYNC.
        {"error": "bad_frame", "count": 1, "offset": 167},
        {"error": "incomplete_packet", "count": 1, "offset": 167},
        {"error": "resync_bytes", "count": 5, "offset": 172},
        {
            "channel": "pulse_rate",
            "value": None,
            "unit": "bpm",
            "status": ["invalid", "probe_off"],
            "offset": 377,
        },
        {
            "channel": "spo2",
            "value": None,
            "unit": "%",
            "status": ["invalid", "probe_off"],
            "offset": 377,
        },
    ]
    assert b"2 frames decoded" in proc.stderr


def test_decode_stdin_suntech() -> None:
    data = suntech.encode_bp_data(118, 76, 90, 64) + suntech.encode_bp_data(0, 0, 0, 0, error=85)
    proc = vigil("decode", "--protocol", "suntech", "-", stdin=data)
    out = lines(proc.stdout)
    assert [(o["channel"], o["value"]) for o in out] == [
        ("sbp", 118.0),
        ("dbp", 76.0),
        ("map", 90.0),
        ("pulse_rate", 64.0),
        ("sbp", None),
        ("dbp", None),
        ("map", None),
        ("pulse_rate", None),
    ]
    assert out[-1]["status"] == ["cuff_error", "invalid"]


def test_decode_list_and_bad_arguments(tmp_path: Path) -> None:
    proc = vigil("decode", "--list")
    ids = [line.split()[0] for line in proc.stdout.decode().splitlines()]
    serial_ids = {
        "masimo-ascii",
        "nonin-df2",
        "contec-5byte",
        "contec-9byte",
        "berrymed",
        "suntech",
    }
    assert ids == sorted(ids) and serial_ids <= set(ids)
    unknown = vigil("decode", "--protocol", "nope", "-", stdin=b"")
    assert unknown.returncode == 2 and b"unknown protocol 'nope'" in unknown.stderr
    missing = vigil("decode", "--protocol", "berrymed", str(tmp_path / "absent.bin"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr


@dataclass
class _EchoRecordDecoder:
    """A stand-in BLE decoder: one record = [channel index, value]; short records dropped."""

    source: str = ""
    protocol_id: str = "test-hex"
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0

    def feed(self, data: bytes, t: float) -> list[Reading]:
        if len(data) < 2:
            self.dropped["short_record"] += 1
            return []
        self.frames += 1
        return [Reading(t, "heart_rate", float(data[1]), "bpm", frozenset(), self.source)]


def test_hex_lines_mode_comes_from_the_registry_flag() -> None:
    register(ProtocolInfo("test-hex", "test", "ble", decoder=_EchoRecordDecoder, input="hex-lines"))
    try:
        out = io.StringIO()
        frames, dropped = decode_stream(
            "test-hex", io.BytesIO(b"00 48\n# a comment\n\n01\nzz\n00:3c\n"), out
        )
    finally:
        del PROTOCOLS["test-hex"]
    assert (frames, dropped) == (2, {"short_record": 1})
    assert [json.loads(x) for x in out.getvalue().splitlines()] == [
        {"channel": "heart_rate", "value": 72.0, "unit": "bpm", "status": [], "line": 1},
        {"error": "short_record", "count": 1, "line": 4},
        {"error": "bad_hex", "count": 1, "line": 5},
        {"channel": "heart_rate", "value": 60.0, "unit": "bpm", "status": [], "line": 6},
    ]


def test_devices_lists_ports_and_says_ble_is_unavailable() -> None:
    proc = vigil("devices", "--ble-timeout", "0.5")
    text = proc.stdout.decode()
    assert proc.returncode == 0
    assert "Serial ports:" in text and "BLE scanning unavailable" in text


@pytest.mark.parametrize("protocol", ["contec-5byte", "suntech"])
def test_simulate_pty_serves_a_real_device(protocol: str) -> None:
    import serial

    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "simulate", "--protocol", protocol, "--pty"],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().decode().strip()
        with serial.serial_for_url(port, timeout=3) as ser:
            if protocol == "suntech":
                ser.write(suntech.encode_command(suntech.START_ADULT))
                assert ser.read(4) == suntech.encode_ack("O")
            else:
                data = ser.read(10)
                assert contec.ContecLegacyDecoder().feed(data, 0.0)
    finally:
        proc.terminate()
        proc.wait(10)


def test_simulate_rejects_unknown_protocol_and_scenario() -> None:
    assert b"unknown protocol" in vigil("simulate", "--protocol", "x", "--pty").stderr
    assert b"unknown scenario" in vigil("simulate", "--scenario", "x", "--pty").stderr


def test_decode_ble_characteristic_hex_lines() -> None:
    # Blood Pressure Measurement 0x2A35: flags 0 (mmHg), SFLOAT 120/80/92 (GATT Supplement
    # layout, protocols.md §2.1), then a record too short for its flags.
    proc = vigil("decode", "--protocol", "ble-2a35", "-", stdin=b"00 7800 5000 5c00\n01\n")
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout) == [
        {"channel": "sbp", "value": 120.0, "unit": "mmHg", "status": [], "line": 1},
        {"channel": "dbp", "value": 80.0, "unit": "mmHg", "status": [], "line": 1},
        {"channel": "map", "value": 92.0, "unit": "mmHg", "status": [], "line": 1},
        {"error": "short", "count": 1, "line": 2},
    ]
    ids = {line.split()[0] for line in vigil("decode", "--list").stdout.decode().splitlines()}
    assert {"ble-2a35", "ble-2a36", "ble-2a5e", "ble-2a5f", "ble-2a37"} <= ids
