"""What each session event needs: the role allowed to send it, and its arguments.

Nurses acknowledge, pause audio and write notes; clinicians run the session (start, baseline,
dose, end, discharge review). Arguments are checked here so the core never sees garbage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.core.session import DOSE_MAX_MG, DOSE_ROUTES


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArgs(_Args):
    pass


class SessionStartArgs(_Args):
    # Pseudonym or initials only: short, no free text that invites a full name.
    pseudonym: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9._-]+$")
    # Age in years, optional: above 65 the pre-dose BP advisory threshold is SBP > 150.
    age: int | None = Field(None, ge=0, le=130)


class AckArgs(_Args):
    condition: str = Field(min_length=1, max_length=64)


class AudioPauseArgs(_Args):
    seconds: float | None = Field(None, gt=0, le=300)


class BaselineArgs(_Args):
    spo2: float | None = Field(None, ge=50, le=100)
    pulse_rate: float | None = Field(None, ge=20, le=250)
    sbp: float | None = Field(None, ge=50, le=260)
    dbp: float | None = Field(None, ge=20, le=180)
    etco2: float | None = Field(None, ge=5, le=100)  # mmHg, for etco2_rise


class DoseArgs(_Args):
    # Both optional: a dose mark without them is still a dose mark (the time is what the BP
    # schedule needs); given, they go into the session's record.
    route: Literal[DOSE_ROUTES] | None = None  # type: ignore[valid-type]
    amount_mg: float | None = Field(None, gt=0, le=DOSE_MAX_MG, allow_inf_nan=False)


class NoteArgs(_Args):
    text: str = Field(min_length=1, max_length=2000)


class DischargeArgs(BaseModel):
    # The review's items are the core's to define; accept them as given, check what we know.
    model_config = ConfigDict(extra="allow")
    text: str | None = Field(None, max_length=2000)
    ready: bool | None = None  # the older form: true = ready, false = not_ready
    outcome: Literal["ready", "not_ready", "override"] | None = None
    reason: str | None = Field(None, max_length=2000)  # required (by the core) for override


EVENT_ARGS: dict[str, type[BaseModel]] = {
    "session_start": SessionStartArgs,
    "dose": DoseArgs,
    "session_end": NoArgs,
    "ack": AckArgs,
    "audio_pause": AudioPauseArgs,
    "baseline": BaselineArgs,
    "confirm_baseline": NoArgs,
    "note": NoteArgs,
    "discharge_review": DischargeArgs,
}

EVENT_ROLE: dict[str, str] = {
    "ack": "nurse",
    "audio_pause": "nurse",
    "note": "nurse",
    "session_start": "clinician",
    "dose": "clinician",
    "session_end": "clinician",
    "baseline": "clinician",
    "confirm_baseline": "clinician",
    "discharge_review": "clinician",
}


def describe_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()
    )
