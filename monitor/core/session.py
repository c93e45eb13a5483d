"""The session model of one room: phases and what the clinician said and did.

    idle ──session_start──▶ pre_dose ──dose──▶ dosed ──60 min──▶ recovery
    recovery ◀──criteria lapse── discharge_ready ◀──criteria met── recovery
    any session phase ──session_end──▶ ended ──session_start──▶ pre_dose (a new patient)

pre_dose captures the baseline; dosed is the acute window (BP every 5 min, peak at ~40 min);
recovery runs until every discharge criterion holds, then discharge_ready until a clinician
ends the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    IDLE = "idle"
    PRE_DOSE = "pre_dose"
    DOSED = "dosed"
    RECOVERY = "recovery"
    DISCHARGE_READY = "discharge_ready"
    ENDED = "ended"


IN_SESSION: frozenset[str] = frozenset(
    {Phase.PRE_DOSE, Phase.DOSED, Phase.RECOVERY, Phase.DISCHARGE_READY}
)
POST_DOSE: frozenset[str] = frozenset({Phase.DOSED, Phase.RECOVERY, Phase.DISCHARGE_READY})


@dataclass
class SessionInfo:
    """Who and when: the audit facts of one session (no patient identity beyond a pseudonym)."""

    started_t: float | None = None
    started_by: str | None = None
    pseudonym: str | None = None
    age: float | None = None
    dose_t: float | None = None
    dose_by: str | None = None
    baseline_confirmed_by: str | None = None
    baseline_confirmed_t: float | None = None
    discharge_reviewed_by: str | None = None
    discharge_reviewed_t: float | None = None
    ended_t: float | None = None
    ended_by: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}
