"""HL7 devices in the config: a mistake stops start-up with one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings
from monitor.core.pipeline import RoomPipeline
from monitor.hl7_device import resp_sources

ROOM = '[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "A-mon"\nprotocol = "{protocol}"\n'

BAD = [
    ('hl7 = { vendor = "acme" }', "hl7",
     "rooms.0.devices.0.hl7.vendor: unknown vendor 'acme'; known: comen, edan, "
     "ge, mindray, mindray-pcd, philips"),
    ('hl7 = { mapping = { "160" = "oxygen" } }', "hl7",
     "rooms.0.devices.0.hl7.mapping.160: unknown channel 'oxygen'; known: apnea, dbp, etco2, "
     "heart_rate, map, nibp_pulse_rate, pulse_rate, resp_rate, sbp, spo2, co2_line_blocked, "
     "ignore"),
    ('hl7 = { mode = "push" }', "hl7",
     "rooms.0.devices.0.hl7.mode: Input should be 'listen' or 'connect'"),
    ('hl7 = { port = 70000 }', "hl7",
     "rooms.0.devices.0.hl7.port: Input should be less than or equal to 65535"),
    ('port = "/dev/ttyUSB0"', "hl7",
     "rooms.0.devices.0.port: an HL7 device is configured in its 'hl7' table"),
    ("", "hl7", "rooms.0.devices.0.hl7: give the 'hl7' table (mode, host, port) or 'simulate'"),
    ('port = "/dev/ttyUSB0"\nhl7 = { port = 2575 }', "masimo-ascii",
     "rooms.0.devices.0.hl7: only for protocol = \"hl7\""),
    ('simulate = { scenario = "apnea", device_options = { measure_s = 5 } }', "hl7",
     "rooms.0.devices.0.simulate.device_options: unknown ['measure_s']; known: ack_mode, "
     "bp_interval_s, vendor"),
    ('simulate = { scenario = "apnea", device_options = { vendor = "philips" } }', "hl7",
     "rooms.0.devices.0.simulate.device_options.vendor: 'philips'; known: mdc, mindray"),
]  # fmt: skip


@pytest.mark.parametrize(("device", "protocol", "message"), BAD)
def test_bad_hl7_device_names_the_field(
    tmp_path: Path, device: str, protocol: str, message: str
) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(ROOM.format(protocol=protocol) + device + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).splitlines()[1:] == [f"  {message}"]


def test_good_hl7_devices_and_their_respiration_sources(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(
        ROOM.format(protocol="hl7")
        + 'hl7 = { mode = "connect", host = "10.0.0.5", vendor = "mindray", '
        '"mapping" = { "MDC:151594" = "resp_rate", "9001" = "co2_line_blocked" } }\n'
        '[[rooms.devices]]\nid = "A-nibp"\nprotocol = "hl7"\nhl7 = { port = 2576, '
        "respiration = false }\n"
    )
    room = load_settings(path).rooms[0]
    assert room.devices[0].hl7 is not None and room.devices[0].hl7.mode == "connect"
    assert room.devices[0].hl7.mapping["9001"] == "co2_line_blocked"  # a vendor's alert code
    assert resp_sources(room.devices) == ["A-mon"]
    # The configured source makes resp_stale possible before any respiration value.
    p = RoomPipeline("A", resp_sources=resp_sources(room.devices))
    assert p._resp_sources == {"A-mon"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mllp", "localhost:2575"], "--mllp: give connect:HOST:PORT"),
        (["--mllp", "connect:127.0.0.1:2575", "--pty"], "--pty is a serial simulator option"),
        (["--mllp", "serve:127.0.0.1:2575", "--device-options", '{"measure_s": 5}'],
         "unknown device options ['measure_s']"),
    ],
)  # fmt: skip
def test_simulate_hl7_refuses_bad_arguments(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    result = CliRunner().invoke(app, ["simulate", "--protocol", "hl7", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_an_hl7_monitors_nibp_is_a_cuff_from_its_first_message(tmp_path: Path) -> None:
    """A NIBP pulse rate that comes before the first SBP is still the cuff's, never mixed
    into the oximeter's pulse rate."""
    from monitor.core.models import Reading
    from monitor.devices import configured_cuffs

    path = tmp_path / "vigil.toml"
    path.write_text(ROOM.format(protocol="hl7") + "hl7 = { port = 2575 }\n")
    room = load_settings(path).rooms[0]
    assert configured_cuffs(room) == ["A-mon/nibp"]
    p = RoomPipeline("A", cuff_sources=configured_cuffs(room))
    p.feed(Reading(1.0, "pulse_rate", 70, "bpm", source="A-mon"))
    p.feed(Reading(2.0, "pulse_rate", 95, "bpm", source="A-mon/nibp"))
    assert p.smoothed["pulse_rate"] == 70
