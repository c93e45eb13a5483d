"""The [alerts] configuration: a mistake names the field; demo makes its own secret; an
empty tier falls back to the nearest lower one."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.config import AlertsConfig, Contact
from monitor.config import ConfigError, load_settings
from tests.alerts.test_tokens import STRONG


def write_config(tmp_path: Path, alerts: str, rooms: bool = True) -> Path:
    room = (
        '[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "x"\nprotocol = "masimo-ascii"\n'
        'port = "/dev/null"\n'
    )
    p = tmp_path / "v.toml"
    p.write_text(alerts + "\n" + (room if rooms else ""))
    return p


NURSE = '[[alerts.contacts]]\nname = "N"\ntier = 1\nurls = ["json://127.0.0.1:9/x"]\n'


@pytest.mark.parametrize(
    ("alerts", "field"),
    [
        ("[alerts]\n" + NURSE, "alerts.secret"),  # paging configured, no secret
        ('[alerts]\nsecret = "changeme"\n' + NURSE, "alerts.secret"),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n[[alerts.contacts]]\nname = "N"\ntier = 1\n'
            'urls = ["nosuch://x"]\n',
            "alerts.contacts.0.urls",
        ),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n' + NURSE.replace("tier = 1", "tier = 2"),
            "alerts",
        ),
        ("[alerts]\nrepeat_s = { high = 0 }\n", "alerts.repeat_s"),
        ('[alerts]\nack_base_url = "ftp://x"\n', "alerts.ack_base_url"),
        ('[alerts]\npushover_api_url = "api.pushover.net"\n', "alerts.pushover_api_url"),
        ("[alerts]\npushover_poll_s = 1\n", "alerts.pushover_poll_s"),
        ("[alerts]\npushover_callback = true\n", "pushover_callback: needs ack_base_url"),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n' + NURSE + "rooms = []\n",
            "alerts.contacts.0.rooms: an empty list would page this contact for every room",
        ),
    ],
    ids=[
        "no-secret",
        "placeholder-secret",
        "bad-url",
        "no-tier-1",
        "zero-repeat",
        "bad-base",
        "bad-pushover-api",
        "poll-too-fast",
        "callback-without-base",
        "empty-rooms",
    ],
)
def test_bad_alerts_config_names_the_field(tmp_path: Path, alerts: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, alerts))
    assert field in str(err.value)
    assert "json://127.0.0.1:9/x" not in str(err.value)  # URLs may hold tokens: never echoed


def test_demo_generates_a_secret(tmp_path: Path) -> None:
    a = load_settings(write_config(tmp_path, "[alerts]\n" + NURSE, rooms=False))
    b = load_settings(write_config(tmp_path, "[alerts]\n" + NURSE, rooms=False))
    sa, sb = a.alerts.secret.get_secret_value(), b.alerts.secret.get_secret_value()
    assert a.demo and len(sa) >= 32 and sa != sb


def test_contacts_fall_back_to_the_nearest_lower_tier() -> None:
    nurse = Contact(name="N", tier=1, urls=["json://h/x"], rooms=["B"])
    charge = Contact(name="C", tier=2, urls=["json://h/y"])
    cfg = AlertsConfig(contacts=[nurse, charge])
    assert cfg.contacts_for(3, "B") == (2, [charge])
    assert cfg.contacts_for(1, "B") == (1, [nurse])
    assert cfg.contacts_for(1, "Z") == (1, [])
    assert cfg.contacts_for(3, "B") == (2, [charge])  # asked again: the same answer
    # A live change replaces the contacts (monitor/live_config.py): answers follow it.
    doctor = Contact(name="D", tier=3, urls=["json://h/z"], rooms=["B"])
    changed = cfg.model_copy(update={"contacts": [nurse, charge, doctor]})
    assert changed.contacts_for(3, "B") == (3, [doctor])
    assert cfg.contacts_for(3, "B") == (2, [charge])
