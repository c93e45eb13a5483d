"""The config file round trip of the admin page: validated as start-up validates, written
back with its comments, atomically, with the previous version kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.config_store import (
    ConfigChangeError,
    ConfigStore,
    set_condition,
    set_contact,
    set_device,
    set_room,
)

SECRET = "Vq3xT9mLp2Zr7KwB4nYc8HdF1sJg6QeU0aRtXoNi5Pk"  # random: main checks entropy
FILE = f"""\
# Vigil at the clinic. Owner: IT (ticket 4711).
influx_url = "http://127.0.0.1:8086"

[[rooms]]
id = "A"   # the big room
name = "Room A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady" }}

[alerts]
secret = "{SECRET}"
[[alerts.contacts]]
name = "Ana"
tier = 1
urls = ["json://127.0.0.1:9/hook?token=t0ken"]

[rules.conditions.spo2_low]
delay_s = 20   # our director's choice
"""


@pytest.fixture
def store(tmp_path: Path) -> ConfigStore:
    path = tmp_path / "vigil.toml"
    path.write_text(FILE)
    path.chmod(0o600)
    return ConfigStore(path)


def test_a_change_keeps_the_rest_of_the_file_word_for_word(store: ConfigStore) -> None:
    store.change(set_condition("map_rise", {"enabled": False}))
    assert store.path.read_text() == FILE + "\n[rules.conditions.map_rise]\nenabled = false\n"
    assert store.backup.read_text() == FILE
    assert os.stat(store.path).st_mode & 0o777 == 0o600  # a file with secrets stays private
    assert not load_settings(store.path).rules.conditions["map_rise"].enabled


def test_devices_rooms_and_contacts_are_written_as_people_write_them(store: ConfigStore) -> None:
    store.change(set_device("A", "A-cuff", {"protocol": "suntech", "port": "/dev/ttyUSB1"}))
    b_ox = {"id": "B-ox", "protocol": "masimo-ascii", "simulate": {"scenario": "steady"}}
    store.change(set_room("B", {"name": "Room B", "devices": [b_ox]}))
    store.change(set_contact("Ana", {"tier": 1, "rooms": ["A", "B"]}))  # URLs kept
    text = store.path.read_text()
    assert '[[rooms.devices]]\nid = "A-cuff"\nprotocol = "suntech"\nport = "/dev/ttyUSB1"\n' in text
    assert 'id = "B"\nname = "Room B"\n\n[[rooms.devices]]\nid = "B-ox"\n' in text
    assert 'simulate = {scenario = "steady"}' in text
    assert "# Vigil at the clinic. Owner: IT (ticket 4711)." in text
    assert 'id = "A"   # the big room' in text
    s = load_settings(store.path)
    assert [d.id for r in s.rooms for d in r.devices] == ["A-ox", "A-cuff", "B-ox"]
    (ana,) = s.alerts.contacts
    assert (ana.rooms, ana.urls) == (["A", "B"], ["json://127.0.0.1:9/hook?token=t0ken"])
    with pytest.raises(ConfigChangeError, match="alerts.contacts.0.rooms: unknown room id 'B'"):
        store.change(set_room("B", None))  # Ana is still paged for it
    store.change(set_contact("Ana", {"tier": 1}))  # rooms left out: every room
    store.change(set_room("B", None))
    store.change(set_device("A", "A-cuff", None))
    assert [r.id for r in load_settings(store.path).rooms] == ["A"]


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (set_condition("spo2_low", {"delay_s": -1}), "rules.conditions.spo2_low.delay_s: "),
        (set_condition("spo2_lo", {"delay_s": 5}), "rules.conditions.spo2_lo: unknown condition"),
        (
            set_device("A", "A-2", {"protocol": "masimo-ascii", "baudrate": "9600"}),
            "rooms.0.devices.1.baudrate: Input should be a valid integer",
        ),  # fmt: skip
        (
            set_device("A", "A-2", {"protocol": "nonexistent", "port": "/dev/x"}),
            "rooms.0.devices.1.protocol: ",
        ),  # fmt: skip
        (
            set_contact("Bo", {"tier": 2, "urls": ["nonsense"]}),
            "alerts.contacts.1.urls: not a valid Apprise URL (scheme '?')",
        ),  # fmt: skip
        # A contact still pages room A: removing the room is refused, naming the contact.
        (set_contact("Ana", {"tier": 1, "rooms": ["Z"]}), "alerts.contacts.0.rooms: unknown room"),
        (set_room("A", None), "rooms: the last room cannot be removed"),
    ],
)
def test_an_invalid_change_names_the_field_and_writes_nothing(
    store: ConfigStore, edit: object, error: str
) -> None:
    with pytest.raises(ConfigChangeError) as caught:
        store.change(edit)  # type: ignore[arg-type]
    assert any(e.startswith(error) for e in caught.value.errors), caught.value.errors
    assert store.path.read_text() == FILE
    assert not store.backup.exists()
    assert [p.name for p in store.path.parent.iterdir()] == ["vigil.toml"]  # no temp file left


def test_a_hand_edit_made_meanwhile_is_kept(store: ConfigStore) -> None:
    store.path.write_text(FILE.replace('name = "Room A"', 'name = "Room A (east)"'))
    store.change(set_condition("hr_high", {"delay_s": 30}))
    assert load_settings(store.path).rooms[0].name == "Room A (east)"


def test_unknown_targets_are_key_errors(store: ConfigStore) -> None:
    with pytest.raises(KeyError, match="no device 'nope'"):
        store.change(set_device("A", "nope", None))
    with pytest.raises(KeyError, match="no room 'Z'"):
        store.change(set_device("Z", "x", {"protocol": "masimo-ascii"}))
