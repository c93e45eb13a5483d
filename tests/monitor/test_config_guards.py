"""Issue #11 item 4: a configuration that would show one patient's vitals in another room,
hide a device, or sign with a guessable secret stops start-up, naming both places."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from alerts.secret_strength import MIN_SECRET_BITS, estimated_bits, weakness
from monitor.auth.setup import check_secrets
from monitor.config import ConfigError, load_settings

STRONG = "pSG3LgCq4cYdG0bq1vP9uTzWc2nXf7Jr8hKaQ1oE5sM"  # secrets.token_urlsafe(32)


def device(dev_id: str, line: str, protocol: str = "masimo-ascii") -> str:
    return f'[[rooms.devices]]\nid = "{dev_id}"\nprotocol = "{protocol}"\n{line}\n'


def room(room_id: str, *devices: str) -> str:
    return f'[[rooms]]\nid = "{room_id}"\n' + "".join(devices)


def refusal(tmp_path: Path, toml: str) -> list[str]:
    path = tmp_path / "vigil.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    head, *lines = str(err.value).split("\n")
    assert head == f"invalid configuration ({path}):"
    return [line.strip() for line in lines]


def test_two_rooms_on_one_serial_port_are_refused_naming_both(tmp_path: Path) -> None:
    toml = room("a", device("ox-a", 'port = "/dev/ttyUSB0"')) + room(
        "b",
        device("cuff-b", 'port = "/dev/ttyUSB1"', "suntech"),
        device("ox-b", 'port = "/dev/ttyUSB0"'),
    )
    assert refusal(tmp_path, toml) == [
        "rooms[1].devices[1].port: /dev/ttyUSB0 is already used by rooms[0].devices[0] "
        "(room a, device ox-a)"
    ]


def test_a_symlink_to_a_port_is_the_same_port(tmp_path: Path) -> None:
    # A real serial line (a pty) reached by its /dev name and by a by-id style symlink.
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        link = tmp_path / "usb-FTDI_FT232R-if00-port0"
        link.symlink_to(name)
        toml = room("a", device("ox-a", f'port = "{link}"')) + room(
            "b", device("ox-b", f'port = "{name}"')
        )
        assert refusal(tmp_path, toml) == [
            f"rooms[1].devices[0].port: {name} is already used by rooms[0].devices[0] "
            "(room a, device ox-a)"
        ]
    finally:
        os.close(master)
        os.close(slave)


def test_pyserial_urls_compare_as_written_and_loop_urls_never_collide(tmp_path: Path) -> None:
    same = room("a", device("ox-a", 'port = "socket://127.0.0.1:7000"')) + room(
        "b", device("ox-b", 'port = "socket://127.0.0.1:7000"')
    )
    assert refusal(tmp_path, same)[0].startswith(
        "rooms[1].devices[0].port: socket://127.0.0.1:7000 is already used by rooms[0]"
    )
    path = tmp_path / "ok.toml"
    path.write_text(
        room("a", device("ox-a", 'port = "socket://127.0.0.1:7000"'))
        + room("b", device("ox-b", 'port = "socket://127.0.0.1:7001"'))
        + room(
            "c", device("ox-c", 'port = "loop://"'), device("cuff-c", 'port = "loop://"', "suntech")
        )
    )
    assert [r.id for r in load_settings(path).rooms] == ["a", "b", "c"]


def test_ble_addresses_compare_without_case_per_transport(tmp_path: Path) -> None:
    toml = room("a", device("ox-a", 'address = "AA:BB:CC:DD:EE:01"', "ble")) + room(
        "b", device("ox-b", 'address = "aa:bb:cc:dd:ee:01"', "ble")
    )
    assert refusal(tmp_path, toml) == [
        "rooms[1].devices[0].address: aa:bb:cc:dd:ee:01 is already used by rooms[0].devices[0] "
        "(room a, device ox-a)"
    ]
    # One advertised name on two simulator transports is two devices.
    path = tmp_path / "ok.toml"
    path.write_text(
        room(
            "a",
            device("ox-a", 'address = "Vigil-PLX"\ntransport = "tcp-client:127.0.0.1:7755"', "ble"),
        )
        + room(
            "b",
            device("ox-b", 'address = "Vigil-PLX"\ntransport = "tcp-client:127.0.0.1:7756"', "ble"),
        )
    )
    assert len(load_settings(path).rooms) == 2


def test_device_ids_are_unique_across_rooms_and_room_ids_across_case(tmp_path: Path) -> None:
    toml = (
        room("a", device("ox", 'port = "/dev/ttyUSB0"'))
        + room("A", device("OX", 'port = "/dev/ttyUSB1"'))
        + room("a", device("ox-2", 'port = "/dev/ttyUSB2"'))
    )
    assert refusal(tmp_path, toml) == [
        "rooms[1].id: 'A' differs only by case from rooms[0].id 'a'",
        "rooms[1].devices[0].id: 'OX' is already used by rooms[0].devices[0] (room a, device ox)",
        "rooms[2].id: 'a' is rooms[0].id 'a'",
    ]


# -- secrets ----------------------------------------------------------------------------------
WEAK = [
    "changemechangemechangeme",
    "REPLACE_ME_WITH_A_RANDOM_VALUE",
    " " * 20,
    "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz",  # the suite's own old fixture
    "s" * 40,
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "correct horse battery staple",
]


@pytest.mark.parametrize("value", WEAK)
def test_low_entropy_secrets_are_weak(value: str) -> None:
    assert weakness(value) is not None


def test_generated_secrets_pass_with_margin() -> None:
    # The estimate of a random token varies with its letters; the weakest of many must
    # still clear the bar, or a clinic's freshly generated key would be refused.
    lowest = min(estimated_bits(secrets.token_urlsafe(32)) for _ in range(2000))
    assert lowest > MIN_SECRET_BITS * 1.25
    assert min(estimated_bits(secrets.token_hex(32)) for _ in range(500)) > MIN_SECRET_BITS
    assert weakness(STRONG) is None


@pytest.mark.parametrize("value", WEAK[:3])
def test_secret_key_and_alerts_secret_refuse_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    base = room("a", device("ox-a", 'port = "/dev/ttyUSB0"'))
    path = tmp_path / "vigil.toml"
    path.write_text(f'secret_key = "{value}"\n' + base)
    monkeypatch.delenv("VIGIL_SECRET_KEY", raising=False)
    with pytest.raises(
        ConfigError, match=r"^secret_key \(VIGIL_SECRET_KEY\) is missing, a default"
    ):
        check_secrets(load_settings(path))
    path.write_text(
        f'secret_key = "{STRONG}"\n[alerts]\nsecret = "{value}"\n'
        '[[alerts.contacts]]\nname = "N"\ntier = 1\nurls = ["json://127.0.0.1:9/x"]\n' + base
    )
    lines = refusal(tmp_path, path.read_text())
    assert len(lines) == 1 and lines[0].startswith("alerts.secret: set a random signing secret")
    path.write_text(f'secret_key = "{STRONG}"\n' + base)
    check_secrets(load_settings(path))  # a generated key starts


def test_two_devices_on_one_hl7_endpoint_are_refused(tmp_path: Path) -> None:
    toml = room("a", device("mon-a", 'hl7 = { mode = "connect", host = "10.0.0.5" }', "hl7"))
    toml += room("b", device("mon-b", 'hl7 = { mode = "connect", host = "10.0.0.5" }', "hl7"))
    assert refusal(tmp_path, toml) == [
        "rooms[1].devices[0].hl7: 10.0.0.5:2575 is already used by rooms[0].devices[0] "
        "(room a, device mon-a)"
    ]
