"""Respiration sources: when their silence is a technical alarm (`resp_stale`).

Respiration comes only from some rooms (a capnograph, a multiparameter monitor over HL7), so
unlike SpO2 its absence is an alarm only where a source is configured or has been heard:
clinical-defaults.md "Respiration": `resp_stale` after 30 s without a respiration value from
a configured source. A source whose link is down is `device_disconnected`'s business.
Pure: the pipeline passes every time in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from monitor.core.models import Channel, Flag
from monitor.core.rules import RESPIRATION_CHANNELS

RESP_STALE = "resp_stale"
#: The capnograph says its sampling line is blocked (drivers/hl7/alerts.py): its CO2 values
#: carry Flag.LINE_BLOCKED and are never evaluated; clinical-defaults.md "Respiration".
CO2_LINE_BLOCKED = "co2_line_blocked"
#: A respiration rate with no value and only these flags is a source that measures but
#: counts no breath (a capnograph shows "---" when no breath comes): it reads as 0 /min, so
#: "no breath for 20 s" raises apnea even when the source has no apnea flag of its own.
#: Any other flag (sensor fault, demo, stored ...) keeps it a missing value (resp_stale).
NO_BREATH_FLAGS = frozenset({Flag.INVALID, Flag.DEVICE_ALARM})


def breaths_counted(
    channel: str, value: float | None, status: frozenset[str]
) -> tuple[float | None, frozenset[str]]:
    """The value and flags the core evaluates for this reading (see NO_BREATH_FLAGS)."""
    if channel == Channel.RESP_RATE and value is None and status <= NO_BREATH_FLAGS:
        return 0.0, status - {Flag.INVALID}
    return value, status


def resp_stale_reason(
    now: float,
    *,
    sources: Collection[str],
    last_valid: Mapping[str, float | None],
    session_started: float | None,
    down_since: Mapping[str, float],
    link_up: Mapping[str, float],
    after_s: float,
) -> str | None:
    """Why respiration is stale at `now`, or None when it is not (or nothing to watch)."""
    if not sources or all(s in down_since for s in sources):
        return None
    times = [t for ch in RESPIRATION_CHANNELS if (t := last_valid.get(ch)) is not None]
    last = max(times) if times else None
    ref = now if session_started is None else session_started
    if last is not None and last > ref:
        ref = last
    # A link that just came back gets the same grace as a new session.
    ref = max([ref, *(link_up[s] for s in sources if s in link_up)])
    if now - ref < after_s:
        return None
    heard = "no respiration value" if last is None else "no valid respiration value"
    return f"{heard} from {', '.join(sorted(sources))} for {now - ref:.0f} s"


def co2_line_blocked_reason(sources: Iterable[str]) -> str:
    """Why `co2_line_blocked` holds: which sources say their line is blocked."""
    return (
        f"{', '.join(sorted(sources))} reports its CO2 sampling line blocked (check the line "
        "and water trap): EtCO2 and breathing are not watched meanwhile"
    )
