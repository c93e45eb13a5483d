"""Vigil's configuration: a TOML file plus VIGIL_* environment variables.

Environment variables win over the file (VIGIL_INFLUX_URL=..., VIGIL_PORT=...). A config
that does not validate stops start-up with a message naming the field (`ConfigError`).
With no rooms configured, Vigil runs the demo: simulated rooms.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class ConfigError(Exception):
    """The configuration is invalid; the message names the field."""


class SimulatorConfig(BaseModel):
    """Run a simulated device in-process and read it through the real driver."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = "steady"
    options: dict[str, Any] = Field(default_factory=dict)
    interval_s: float = Field(1.0, gt=0, le=60)


class DeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    protocol: Literal["masimo-ascii"]
    port: str | None = None  # device path or pyserial URL; None with a simulator
    baudrate: int = Field(9600, gt=0)
    simulate: SimulatorConfig | None = None

    @model_validator(mode="after")
    def _port_or_sim(self) -> DeviceConfig:
        if self.port is None and self.simulate is None:
            raise ValueError("give either 'port' (a serial device) or 'simulate'")
        return self


class RoomConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    rooms: list[RoomConfig] = Field(default_factory=list)
    # The local journal (SQLite): everything is written here first, then sent to InfluxDB.
    journal_path: Path = Path(".vigil/journal.sqlite3")
    # InfluxDB unreachable this long raises `storage_degraded` (clinical-defaults.md: 60 s).
    storage_degraded_after_s: float = Field(60.0, gt=0)
    demo: bool = False
    # Seconds an alarm may stay unacknowledged before tier 2, then tier 3, is paged
    # (clinical-defaults.md "Escalation to phones"). Low-priority alarms never escalate.
    escalation_after_s: dict[Literal["high", "medium"], list[float]] = Field(
        default_factory=lambda: {"high": [60.0, 120.0], "medium": [120.0, 240.0]}
    )

    _toml_data: dict[str, Any] = {}

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
    """Two simulated rooms: one steady, one that desaturates after a few minutes."""
    return [
        RoomConfig(
            id="A",
            name="Room A (steady)",
            devices=[
                DeviceConfig(
                    id="A-oximeter",
                    protocol="masimo-ascii",
                    simulate=SimulatorConfig(scenario="steady"),
                )
            ],
            auto_session_dose_after_s=150,
        ),
        RoomConfig(
            id="B",
            name="Room B (desaturates)",
            devices=[
                DeviceConfig(
                    id="B-oximeter",
                    protocol="masimo-ascii",
                    simulate=SimulatorConfig(
                        scenario="desaturation",
                        options={"desat_start_s": 180, "desat_duration_s": 90},
                    ),
                )
            ],
            auto_session_dose_after_s=150,
        ),
    ]


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


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
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    if not settings.rooms:
        settings = settings.model_copy(update={"rooms": demo_rooms(), "demo": True})
    ids = [r.id for r in settings.rooms]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"invalid configuration ({source}):\n  rooms: duplicate id {dupes}")
    return settings
