"""Settings of the HL7 outputs: `[hl7_out]` (PCD-01 readings) and the MLLP target both it and
`[alerts.alarm_manager]` (ACM alarms) use. Validated at start-up, naming the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.config import AlertsConfig
from monitor.hl7out.segments import Endpoints

_NAME = r"^[A-Za-z0-9 _.-]*$"  # MSH-3..6 components: no HL7 delimiters


class MllpTarget(BaseModel):
    """An HL7 receiver reached over MLLP/TCP."""

    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool = False
    host: str = Field("", pattern=r"^[A-Za-z0-9.:_-]*$")  # a name or an IPv4/IPv6 address
    port: int = Field(2575, ge=1, le=65535)  # 2575: HL7's registered port
    connect_timeout_s: float = Field(5.0, gt=0, le=60)
    ack_timeout_s: float = Field(10.0, gt=0, le=120)  # per message
    # MSH-3..6. Vigil is the sending application; the receiving side as the receiver wants.
    sending_application: str = Field("VIGIL", min_length=1, max_length=64, pattern=_NAME)
    sending_facility: str = Field("", max_length=64, pattern=_NAME)
    receiving_application: str = Field("", max_length=64, pattern=_NAME)
    receiving_facility: str = Field("", max_length=64, pattern=_NAME)

    @model_validator(mode="after")
    def _host_when_enabled(self) -> MllpTarget:
        if self.enabled and not self.host:
            raise ValueError("host: give the receiver's host name or address (enabled = true)")
        return self

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            self.sending_application,
            self.sending_facility,
            self.receiving_application,
            self.receiving_facility,
        )


class Hl7OutConfig(MllpTarget):
    """IHE PCD-01: every room's usable readings to an EHR / integration engine."""

    # "every_reading": each reading as it comes (grouped per room and moment);
    # "per_minute": one message per room and minute with the latest value of each channel.
    periodicity: Literal["every_reading", "per_minute"] = "per_minute"
    # The receiver unreachable this long raises `hl7_out_down` (low priority, technical).
    down_after_s: float = Field(60.0, gt=0, le=3600)
    # A message the receiver answers with AE/AR is tried this many times, then skipped
    # (counted in /api/health), so one message it cannot take never blocks the outbox.
    reject_attempts: int = Field(3, ge=1, le=20)


class AlarmManagerConfig(MllpTarget):
    """`[alerts.alarm_manager]`: a hospital alarm manager that takes IHE PCD ACM ORU^R40
    alarm reports over MLLP (monitor/hl7out/alarm_manager.py says why it is not a contact
    URL)."""


class AlertsSettings(AlertsConfig):
    """`[alerts]`: the phones (alerts.config) and, beside them, every alarm transition to an
    alarm manager as HL7 ORU^R40 (off unless enabled). Declared here, not in alerts: paging
    does not depend on HL7 (docs/architecture.md)."""

    alarm_manager: AlarmManagerConfig = Field(default_factory=AlarmManagerConfig)
