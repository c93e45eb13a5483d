"""Vigil's configuration: a TOML file plus VIGIL_* environment variables.

Environment variables win over the file (VIGIL_INFLUX_URL=..., VIGIL_PORT=...). A config
that does not validate stops start-up with a message naming the field (`ConfigError`).
With no rooms configured, Vigil runs the demo: simulated rooms.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alerts.config import HTTP_URL
from monitor.config_guards import config_conflicts
from monitor.errors import ConfigError as ConfigError  # its home: monitor/errors.py
from monitor.hl7_device import HL7_PROTOCOL, Hl7Config, check_hl7_device
from monitor.hl7out.config import AlertsSettings, Hl7OutConfig
from monitor.rules_config import RulesConfig

BLE_PROTOCOL = "ble"
EscalatingPriority = Literal["high", "medium"]  # low-priority alarms never page a phone


def _default_escalation() -> dict[EscalatingPriority, list[float]]:
    """clinical-defaults.md: high to tier 2 after 60 s, tier 3 after 120 s; medium 120/240."""
    return {"high": [60.0, 120.0], "medium": [120.0, 240.0]}


# Strict types in the rooms, rules and alerts tables: `baudrate = "9600"` or
# `enabled = "false"` is a mistake in the file to fix, not a value to guess from (an integer
# still stands for a float: TOML's `delay_s = 20`). Top-level settings stay lax: VIGIL_*
# environment variables are strings.


class SimulatorConfig(BaseModel):
    """Run a simulated device in-process and read it through the real driver."""

    model_config = ConfigDict(extra="forbid", strict=True)
    scenario: str = "steady"
    options: dict[str, Any] = Field(default_factory=dict)
    interval_s: float | None = Field(default=None, gt=0, le=60)  # None: the device's own rate
    # Options of the simulated device itself (e.g. SunTech {"measure_s": 5}).
    device_options: dict[str, Any] = Field(default_factory=dict)
    # BLE only: the GATT services the simulated peripheral offers ("bps", "plxs", "hrs" or
    # a combination such as "plxs+hrs").
    profile: str = Field("plxs", pattern=r"^(bps|plxs|hrs)(\+(bps|plxs|hrs))*$")

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, v: str) -> str:
        from drivers.sim.scenarios import scenario

        # Else the room's device fails only once Vigil runs. Options are checked there.
        scenario(v)  # ValueError naming the known scenarios
        return v


class DeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # A serial protocol id from drivers.registry (`vigil decode --list`), or "ble" for a
    # Bluetooth LE device offering the standard BP / pulse-oximeter / heart-rate services.
    protocol: str
    port: str | None = None  # device path or pyserial URL; None with a simulator
    address: str | None = None  # BLE: MAC address, CoreBluetooth UUID or advertised name
    # BLE: read through a bumble central on this transport instead of bleak, e.g.
    # "tcp-client:127.0.0.1:7755" for a `vigil simulate --ble` peripheral, or "usb:0".
    transport: str | None = None
    baudrate: int | None = Field(default=None, gt=0)  # None: the protocol's own baud rate
    simulate: SimulatorConfig | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # per-protocol driver options
    hl7: Hl7Config | None = None  # protocol "hl7": listen/connect, vendor, mapping

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, v: str) -> str:
        from drivers.registry import protocol_info

        if v == BLE_PROTOCOL:
            return v
        protocol_info(v)  # ValueError naming the known ids
        return v

    @field_validator("transport")
    @classmethod
    def _known_transport(cls, v: str | None) -> str | None:
        from drivers.ble.hci_link import check_transport_spec

        return None if v is None else check_transport_spec(v, central=True)

    @model_validator(mode="after")
    def _protocol_options(self) -> DeviceConfig:
        from drivers.registry import protocol_info

        if self.protocol == HL7_PROTOCOL:
            check_hl7_device(self)
            return self
        if self.hl7 is not None:
            raise ValueError('hl7: only for protocol = "hl7"')
        if self.protocol == BLE_PROTOCOL:
            if self.port is not None:
                raise ValueError("port: a BLE device has an 'address', not a serial 'port'")
            if self.address is None and self.simulate is None:
                raise ValueError("give either 'address' (a BLE device) or 'simulate'")
            if self.options:
                raise ValueError("options: BLE devices take no protocol options")
            if self.transport is not None and self.address is None:
                raise ValueError("transport: give the device's 'address' (name) to read on it")
            if self.transport is not None and self.simulate is not None:
                raise ValueError("transport: a device read over a transport has no 'simulate'")
            return self
        info = protocol_info(self.protocol)
        if info.transport != "serial":
            # BLE ids are characteristic decoders for `vigil decode`; a BLE device is
            # configured with protocol = "ble" and its services are discovered.
            raise ValueError(
                f"protocol {self.protocol!r} is a BLE characteristic decoder; "
                f"configure a BLE device with protocol = {BLE_PROTOCOL!r}"
            )
        if self.address is not None:
            raise ValueError("address: only BLE devices have an address; use 'port'")
        if self.transport is not None:
            raise ValueError("transport: only BLE devices have a bumble transport")
        allowed = info.options
        for key, value in self.options.items():
            if key not in allowed:
                raise ValueError(
                    f"options.{key}: not an option of protocol {self.protocol!r} "
                    f"(allowed: {', '.join(sorted(allowed)) or 'none'})"
                )
            expected = allowed[key]
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not (numeric if expected is float else isinstance(value, expected)):
                raise ValueError(f"options.{key}: expected {expected.__name__}")
        return self

    @model_validator(mode="after")
    def _port_or_sim(self) -> DeviceConfig:
        if (
            self.protocol not in (BLE_PROTOCOL, HL7_PROTOCOL)
            and self.port is None
            and self.simulate is None
        ):
            raise ValueError("give either 'port' (a serial device) or 'simulate'")
        return self


class RoomConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = ""
    devices: list[DeviceConfig] = Field(default_factory=list)
    # Demo only: start a session at once and mark the dose after this many seconds.
    auto_session_dose_after_s: float | None = Field(None, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "vigil"
    influx_api: Literal[1, 2] = 1
    influx_token: str = ""
    influx_org: str = ""
    influx_bucket: str = ""
    influx_batch_s: float = Field(1.0, gt=0)
    # This Vigil's site, tagged on every InfluxDB point: several sites (one Vigil each, alarms
    # stay local) can share one store and be told apart (README "Scaling out").
    site: str = Field("default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rooms: list[RoomConfig] = Field(default_factory=list)
    # The local journal (SQLite): everything is written here first, then sent to InfluxDB.
    journal_path: Path = Path(".vigil/journal.sqlite3")
    # Group commit: journal rows are committed (one fsync) at most this long after they are
    # queued; a crash loses at most this window. Nothing is forwarded before it is committed.
    journal_commit_window_s: float = Field(0.1, gt=0, le=5)
    # Prune readings older than this many days from the journal once InfluxDB has them
    # (audit entries, sessions and events are never pruned). None or 0: keep everything.
    journal_retention_days: float | None = Field(None, ge=0)
    # InfluxDB unreachable this long raises `storage_degraded` (clinical-defaults.md: 60 s).
    storage_degraded_after_s: float = Field(60.0, gt=0)
    # A session a stopped Vigil left open is resumed at start-up (its state rebuilt from the
    # journal, monitor/resume.py) when it started less than this many hours ago; an older
    # one is closed. 0: close every one.
    resume_max_age_h: float = Field(6.0, ge=0)
    # The live stream sends a room's readings at most once per this many seconds (the newest
    # values); alarm, phase and device messages never wait (monitor/stream_coalescing.py).
    stream_interval_s: float = Field(0.25, ge=0, le=10)
    demo: bool = False
    # Seconds an alarm may stay unacknowledged before tier 2, then tier 3, is paged
    # (clinical-defaults.md "Escalation to phones"). Low-priority alarms never escalate.
    escalation_after_s: dict[EscalatingPriority, list[float]] = Field(
        default_factory=_default_escalation
    )
    # Alarm rules and clinical policies ([rules] table; defaults: clinical-defaults.md).
    rules: RulesConfig = Field(default_factory=RulesConfig)
    # Paging: contacts per tier, repeat intervals, acknowledge links (alerts/config.py).
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    # IHE PCD-01 readings to an EHR over HL7 v2 / MLLP ([hl7_out]; monitor/hl7out/).
    hl7_out: Hl7OutConfig = Field(default_factory=Hl7OutConfig)
    # Staff accounts (issue #6). The key hashes API tokens and session ids; outside the demo
    # Vigil refuses to start when it is missing or a known default (monitor.auth.setup).
    secret_key: str = ""
    users_db: Path | None = None  # default .vigil/users.db (.vigil/demo-users.db in the demo)
    # The clinic's time zone (IANA name): reports, the CLI and the dashboard show clock times
    # in it, labelled. Default UTC, not the machine's zone: a container's zone is UTC anyway
    # and a default that changes with the host would make two exports of one session differ.
    timezone: str = "UTC"
    report_paper: Literal["A4", "letter"] = "A4"  # the PDF report's page size

    _toml_data: dict[str, Any] = {}

    @field_validator("influx_url")
    @classmethod
    def _influx_http_url(cls, v: str) -> str:
        # Without a scheme the client fails only once running (health "degraded").
        if not re.fullmatch(HTTP_URL, v):
            raise ValueError("give an http:// or https:// URL, e.g. http://127.0.0.1:8086")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from monitor.clinic_time import zone

        zone(v)  # ValueError names the zone; _describe prefixes the field
        return v

    @model_validator(mode="after")
    def _contact_rooms(self) -> Settings:
        # Only configured rooms: the demo's rooms are filled in later (load_settings).
        if self.rooms:
            self.alerts.check_rooms([r.id for r in self.rooms])
        return self

    @model_validator(mode="after")
    def _alerts_secret(self) -> Settings:
        # No rooms configured means the demo (load_settings), which may generate a secret.
        self.alerts = self.alerts.with_secret(demo=not self.rooms)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first so VIGIL_* overrides the file (which arrives as init kwargs).
        return (env_settings, init_settings)


def demo_rooms() -> list[RoomConfig]:
    """Two simulated rooms, each with an oximeter and a cuff, over serial and over BLE.

    Room A is steady: a Masimo Rad-8 on a serial line and a BLE blood-pressure cuff.
    Room B desaturates about three minutes in: a BLE pulse oximeter (PLX service) and a
    SunTech cuff on a serial line, started by Vigil's BP schedule.
    """
    return [
        RoomConfig(
            id="A",
            name="Room A (steady)",
            devices=[
                DeviceConfig(
                    id="A-oximeter",
                    protocol="masimo-ascii",
                    simulate=SimulatorConfig(scenario="steady"),
                ),
                DeviceConfig(
                    id="A-cuff",
                    protocol=BLE_PROTOCOL,
                    simulate=SimulatorConfig(
                        scenario="steady", profile="bps", options={"bp_interval_s": 60}
                    ),
                ),
            ],
            auto_session_dose_after_s=150,
        ),
        RoomConfig(
            id="B",
            name="Room B (desaturates)",
            devices=[
                DeviceConfig(
                    id="B-oximeter",
                    protocol=BLE_PROTOCOL,
                    simulate=SimulatorConfig(
                        scenario="desaturation",
                        profile="plxs",
                        options={"desat_start_s": 180, "desat_duration_s": 90},
                    ),
                ),
                DeviceConfig(
                    id="B-cuff",
                    protocol="suntech",
                    simulate=SimulatorConfig(scenario="steady", device_options={"measure_s": 5}),
                ),
            ],
            auto_session_dose_after_s=150,
        ),
    ]


# A validator's message may start with the field it is about ("options.poll: ..."), below the
# model it validates: that field joins the location, so each line reads "<field>: <message>".
_FIELD_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): (.+)", re.DOTALL)


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        msg = e["msg"]
        if e["type"] == "value_error":
            msg = str(e.get("ctx", {}).get("error", msg))  # our own words, no "Value error, "
        elif e["type"] == "extra_forbidden":
            msg = "unknown setting (check its spelling)"
        own = _FIELD_PREFIX.fullmatch(msg)
        if own:
            loc.append(own[1])
            msg = own[2]
        lines.append(f"  {'.'.join(loc) or '(top level)'}: {msg}")
    return "\n".join(lines)


DEMO_DIR = Path(".vigil/demo")  # the demo's own state, apart from a clinic's record


def _demo_state(settings: Settings) -> Settings:
    """The demo keeps its journal (sessions, audit chain) and acknowledge tokens under
    DEMO_DIR unless their paths were set, so a demo never writes into a clinic's record."""
    update: dict[str, Any] = {}
    if "journal_path" not in settings.model_fields_set:
        update["journal_path"] = DEMO_DIR / "journal.sqlite3"
    if "token_db" not in settings.alerts.model_fields_set:
        alerts = settings.alerts.model_copy(update={"token_db": DEMO_DIR / "ack_tokens.sqlite"})
        update["alerts"] = alerts
    return settings.model_copy(update=update) if update else settings


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file (if any) and the environment; fill in the demo when no rooms."""
    data: dict[str, Any] = {}
    source = "environment"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return settings_from_data(data, source)


def settings_from_data(data: dict[str, Any], source: str) -> Settings:
    """Validate a parsed config (the file's tables) as start-up does; the admin API's edits
    go through here too, so there is one validator (monitor/config_store.py)."""
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    if settings.demo and settings.rooms:
        # The demo is what Vigil runs when no rooms are configured. Switched on by hand for
        # real rooms it would skip the secret checks and add demo-* accounts (an admin too)
        # whose passwords are printed to the log.
        raise ConfigError(
            f"invalid configuration ({source}):\n  demo: Vigil sets it itself when no rooms "
            "are configured; remove it (or VIGIL_DEMO) from a configuration with rooms"
        )
    if not settings.rooms:
        settings = settings.model_copy(update={"rooms": demo_rooms(), "demo": True})
        settings = _demo_state(settings)
    conflicts = config_conflicts(settings.rooms)
    if conflicts:
        raise ConfigError("\n  ".join([f"invalid configuration ({source}):", *conflicts]))
    return settings
