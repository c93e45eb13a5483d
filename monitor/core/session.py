"""The session model of one room: phases and what the clinician said and did.

    idle ──session_start──▶ pre_dose ──dose──▶ dosed ──60 min──▶ recovery
    dosed / recovery / discharge_ready ──dose (a top-up)──▶ dosed
    recovery ◀──criteria lapse── discharge_ready ◀──criteria met── recovery
    any session phase ──session_end──▶ ended ──session_start──▶ pre_dose (a new patient)

pre_dose captures the baseline; dosed is the acute window (BP every 5 min, peak at ~40 min);
recovery runs until every discharge criterion holds, then discharge_ready until a clinician
ends the session.

Re-dosing (IM/SL top-ups are common in KAP): every dose is kept in `doses`; the BP schedule,
the acute window and the discharge clock follow the latest one, while the baseline stays the
one taken before the first (`dose_t`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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

#: Routes a dose mark may name (IV infusion, IM injection, sublingual troche, intranasal,
#: oral); the API offers the same list.
DOSE_ROUTES: tuple[str, ...] = ("IV", "IM", "SL", "IN", "PO")
#: Largest amount a dose mark accepts (mg): anything above is a typing error, not a dose.
DOSE_MAX_MG = 1000.0


@dataclass
class SessionInfo:
    """Who and when: the audit facts of one session (no patient identity beyond a pseudonym)."""

    started_t: float | None = None
    started_by: str | None = None
    pseudonym: str | None = None
    age: float | None = None
    dose_t: float | None = None
    dose_by: str | None = None
    # Every dose mark, first to last: {"t", "by", "route"?, "amount_mg"?}.
    doses: list[dict[str, Any]] = field(default_factory=list)
    baseline_confirmed_by: str | None = None
    baseline_confirmed_t: float | None = None
    discharge_reviewed_by: str | None = None
    discharge_reviewed_t: float | None = None
    discharge_outcome: str | None = None  # ready | override (a review that discharges)
    # Every review recorded: {"t", "by", "outcome", "reason"?, "unmet"}.
    discharge_reviews: list[dict[str, Any]] = field(default_factory=list)
    ended_t: float | None = None
    ended_by: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_dose_t(self) -> float | None:
        """The latest dose mark: the BP schedule and the discharge clock run from it."""
        return self.doses[-1]["t"] if self.doses else self.dose_t

    def copy(self) -> SessionInfo:
        """A copy that the session going on does not change (its lists copied)."""
        return replace(
            self,
            doses=list(self.doses),
            discharge_reviews=list(self.discharge_reviews),
            notes=list(self.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        d = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}
        d["last_dose_t"] = self.last_dose_t
        return d
