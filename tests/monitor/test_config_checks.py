"""Start-up checks of a clinic's configuration that stop mistakes which would otherwise show
only at run time (a room nobody is paged for, a storage URL without a scheme, a misspelled
rule, a string where a number belongs), each with one line "<field>: <message>"."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings

STRONG = "iqJ-5JOLosDu3CGa8BJP_znVeRhlRkoRMrTCXzp9ykc"  # secrets.token_urlsafe(32)
SECRET = '[alerts]\nsecret = "' + STRONG + '"\n'
URL = 'urls = ["json://127.0.0.1:9/x"]'


def contact(name: str, tier: int, rooms: str = "") -> str:
    return f'[[alerts.contacts]]\nname = "{name}"\ntier = {tier}\n{URL}\n{rooms}\n'


def rooms(*ids: str, device: str = "", room: str = "") -> str:
    return "".join(
        f'[[rooms]]\nid = "{i}"\n{room}\n'
        f'[[rooms.devices]]\nid = "{i}-ox"\nprotocol = "masimo-ascii"\nport = "/dev/ttyUSB-{i}"\n'
        f"{device}\n"
        for i in ids
    )


KNOWN_CONDITIONS = (
    "apnea, bp_high, bp_low, bp_rise, bp_severe, etco2_high, etco2_low, etco2_rise, hr_high, "
    "hr_low, hr_severe_high, hr_severe_low, map_rise, resp_rate_high, resp_rate_low, spo2_drop, "
    "spo2_low, spo2_severe"
)

BAD: list[tuple[str, str, str]] = [
    (
        "contact-room-case",
        SECRET + contact("N", 1, 'rooms = ["a"]') + rooms("A"),
        "alerts.contacts.0.rooms: unknown room id 'a' (configured rooms: A; ids are "
        "case-sensitive)",
    ),
    (
        "room-without-tier-1",
        SECRET + contact("N", 1, 'rooms = ["A"]') + contact("C", 2) + rooms("A", "B"),
        "alerts.contacts: no tier-1 contact (room nurse) covers room B: its alarms would page "
        "nobody at once; add B to a tier-1 contact's rooms, or leave that contact's rooms out "
        "(every room)",
    ),
    (
        "influx-url-no-scheme",
        'influx_url = "127.0.0.1:8086"\n' + rooms("A"),
        "influx_url: give an http:// or https:// URL, e.g. http://127.0.0.1:8086",
    ),
    (
        "influx-url-other-scheme",
        'influx_url = "udp://127.0.0.1:8089"\n' + rooms("A"),
        "influx_url: give an http:// or https:// URL, e.g. http://127.0.0.1:8086",
    ),
    (
        "misspelled-condition",
        "[rules.conditions.spo2_lo]\ndelay_s = 20\n" + rooms("A"),
        f"rules.conditions.spo2_lo: unknown condition 'spo2_lo' (known: {KNOWN_CONDITIONS}); "
        "a new condition needs 'priority' and 'limits'",
    ),
    (
        "baudrate-string",
        rooms("A", device='baudrate = "9600"'),
        "rooms.0.devices.0.baudrate: Input should be a valid integer",
    ),
    (
        "port-number",
        rooms("A", device="").replace('"/dev/ttyUSB-A"', "0"),
        "rooms.0.devices.0.port: Input should be a valid string",
    ),
    (
        "interval-string",
        rooms("A", device="").replace('port = "/dev/ttyUSB-A"', 'simulate = { interval_s = "1" }'),
        "rooms.0.devices.0.simulate.interval_s: Input should be a valid number",
    ),
    (
        "unknown-scenario",
        rooms("A").replace('port = "/dev/ttyUSB-A"', 'simulate = { scenario = "desat" }'),
        "rooms.0.devices.0.simulate.scenario: unknown scenario 'desat'; known: apnea, "
        "co2_line_blocked, cuff_error, desaturation, disconnect_return, hypertensive_surge, "
        "hypoventilation, motion_artefact, post_dose_rise, probe_off, steady",
    ),
    (
        "dose-after-string",
        rooms("A", room='auto_session_dose_after_s = "5"'),
        "rooms.0.auto_session_dose_after_s: Input should be a valid number",
    ),
    (
        "enabled-string",
        '[rules.conditions.spo2_low]\nenabled = "false"\n' + rooms("A"),
        "rules.conditions.spo2_low.enabled: Input should be a valid boolean",
    ),
    (
        "delay-string",
        '[rules.conditions.spo2_low]\ndelay_s = "20"\n' + rooms("A"),
        "rules.conditions.spo2_low.delay_s: Input should be a valid number",
    ),
    (
        "stale-string",
        '[rules.technical]\nstale_after_s = "10"\n' + rooms("A"),
        "rules.technical.stale_after_s: Input should be a valid number",
    ),
    (
        "tier-string",
        SECRET + contact("N", 1).replace("tier = 1", 'tier = "1"') + rooms("A"),
        "alerts.contacts.0.tier: Input should be a valid integer",
    ),
    # The wording: the validator's own field joins the location, without pydantic's
    # "Value error, " or "(top level)".
    (
        "secret-wording",
        "[alerts]\n" + contact("N", 1) + rooms("A"),
        "alerts.secret: set a random signing secret of at least 32 characters for acknowledge "
        "links, e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`",
    ),
    (
        "device-option-wording",
        rooms("A").replace("masimo-ascii", "suntech") + "options = { poll = 1 }\n",
        "rooms.0.devices.0.options.poll: not an option of protocol 'suntech' (allowed: "
        "ack_timeout_s, measurement_timeout_s, poll_s)",
    ),
    (
        "unknown-field-wording",
        rooms("A", device="baud = 9600"),
        "rooms.0.devices.0.baud: unknown setting (check its spelling)",
    ),
]


@pytest.mark.parametrize(("toml", "line"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_stops_start_up_with_one_line_naming_the_field(
    tmp_path: Path, toml: str, line: str
) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"invalid configuration ({path}):\n  {line}"


def test_influx_url_from_the_environment_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(rooms("A"))
    monkeypatch.setenv("VIGIL_INFLUX_URL", "localhost:8086")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).endswith("\n  influx_url: give an http:// or https:// URL, e.g. "
                                   "http://127.0.0.1:8086")  # fmt: skip


GOOD: list[tuple[str, str]] = [
    (
        "contacts-cover-every-room",
        SECRET
        + contact("N", 1, 'rooms = ["A"]')
        + contact("M", 1, 'rooms = ["B"]')
        + rooms("A", "B"),
    ),  # fmt: skip
    ("one-contact-every-room", SECRET + contact("N", 1) + rooms("A", "B")),
    ("no-paging-configured", rooms("A", "B")),
    ("https-influx-with-path", 'influx_url = "https://influx.clinic.lan:8086/x"\n' + rooms("A")),
    # TOML-natural forms stay accepted: an integer where seconds may be fractional.
    (
        "integer-seconds",
        "[rules.conditions.spo2_low]\ndelay_s = 20\n"
        "[rules.technical]\nstale_after_s = 12\n" + rooms("A", device="baudrate = 9600"),
    ),  # fmt: skip
]


@pytest.mark.parametrize("toml", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_good_config_starts(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(toml)
    assert load_settings(path).rooms
