"""The post-dose BP schedule: when a cuff reading is due, late, and when to ask the cuff.

clinical-defaults.md "BP schedule": every 5 min for 60 min after the dose (the 40-min
reading, at the expected BP peak, is mandatory), then every 15 min until discharge. A slot
is satisfied by a reading taken no earlier than half an interval before it; a slot still
unsatisfied `late_after_s` after its time makes `bp_overdue`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from monitor.core.policy import BpSchedulePolicy


@dataclass(frozen=True, slots=True)
class BpRequest:
    """Ask the room's cuff to measure now (the runtime starts cuffs that accept commands;
    otherwise the dashboard shows "BP due")."""

    t: float
    room: str
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"type": "bp_request"}
        d.update(asdict(self))
        return d


class BpSchedule:
    """Slots after one dose mark and which of them readings have satisfied."""

    def __init__(self, policy: BpSchedulePolicy, dose_t: float) -> None:
        self.policy = policy
        self.dose_t = dose_t
        self.next_due: float = self._first_slot_after(dose_t)
        self.requested_for: float | None = None  # the slot the cuff was last asked for

    def _offsets(self) -> Iterator[float]:
        """Slot offsets from the dose, ascending, without end."""
        p = self.policy
        dense = [
            p.dense_interval_s * k for k in range(1, int(p.dense_until_s // p.dense_interval_s) + 1)
        ]
        head = sorted(set(dense) | {m for m in p.mandatory_s if m > 0})
        yield from head
        last = max(head[-1] if head else 0.0, p.dense_until_s)
        k = 1
        while True:
            yield last + p.sparse_interval_s * k
            k += 1

    def _tolerance(self, offset: float) -> float:
        p = self.policy
        return (p.dense_interval_s if offset <= p.dense_until_s else p.sparse_interval_s) / 2.0

    def _first_slot_after(self, t: float) -> float:
        """The first slot a reading at `t` does not satisfy."""
        rel = t - self.dose_t
        for offset in self._offsets():
            if offset - self._tolerance(offset) > rel:
                return self.dose_t + offset
        raise AssertionError("unreachable: the slot sequence is endless")

    def reading(self, t: float) -> None:
        """A valid cuff reading arrived at `t`."""
        if t >= self.next_due - self._tolerance(self.next_due - self.dose_t):
            self.next_due = self._first_slot_after(t)

    def is_mandatory(self, slot_t: float) -> bool:
        return any(abs(slot_t - self.dose_t - m) < 1e-6 for m in self.policy.mandatory_s)

    def overdue_for(self, now: float) -> float | None:
        """Seconds the due slot is late beyond the grace (None: not overdue)."""
        late = now - self.next_due - self.policy.late_after_s
        return late if late >= 0 else None

    def request(self, now: float, room: str) -> list[BpRequest]:
        """Ask the cuff for the due slot once, when its time has come."""
        due = self.next_due
        if now < due or self.requested_for == due:
            return []
        self.requested_for = due
        return [BpRequest(now, room, f"scheduled BP at {(due - self.dose_t) / 60:g} min")]
