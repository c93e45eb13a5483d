"""IHE PCD-01 "Communicate PCD Data": readings as HL7 v2.6 ORU^R01 with MDC codes. Pure.

One message holds one room's readings of one moment (every reading) or its latest values of
one minute (one per minute): MSH, PID (pseudonym), PV1 (room), one OBR, then one OBX per
metric with
  OBX-3  the MDC metric code, OBX-6 its MDC unit,
  OBX-4  the containment MDS.VMD.CHAN.METRIC: MDS = the device (order of appearance in the
         message), VMD = oximetry 1 / NIBP 2 / respiration 3, CHAN 1, METRIC per channel,
  OBX-11 F for a valid value; X ("results cannot be obtained") with no value for a channel
         whose readings in that minute were all unusable (probe off, cuff error, ...),
  OBX-14 the reading's time, OBX-18 the device's id in Vigil.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.models import Reading
from monitor.hl7out.mdc import METRICS, MONITORING_OF_PATIENT, PROFILE_PCD_01
from monitor.hl7out.segments import SEGMENT_END, VIGIL, Endpoints, dtm, esc, msh, num, pid, pv1


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A channel with readings but no usable value (sent with OBX-11 X)."""

    t: float
    channel: str
    source: str


def sendable(r: Reading) -> bool:
    return r.usable and r.channel in METRICS


def encode_oru_r01(
    *,
    room: str,
    pseudonym: str,
    readings: Sequence[Reading],
    control_id: str,
    now: float,
    endpoints: Endpoints = VIGIL,
    unavailable: Sequence[Unavailable] = (),
) -> str:
    """The whole message (segments joined by CR, no MLLP framing). `readings` must be usable
    and mapped (`sendable`); at least one reading or unavailable channel."""
    items: list[Reading | Unavailable] = [*readings, *unavailable]
    if not items:
        raise ValueError("a PCD-01 message needs at least one observation")
    t0 = min(i.t for i in items)
    t1 = max(i.t for i in items)
    mds: dict[str, int] = {}
    for i in items:
        mds.setdefault(i.source, len(mds) + 1)
    filler = f"{esc(control_id)}^VIGIL"
    segments = [
        msh(endpoints, now=now, message_type="ORU^R01^ORU_R01", control_id=control_id,
            profile=PROFILE_PCD_01),
        pid(pseudonym),
        pv1(room),
        f"OBR|1|{filler}|{filler}|{MONITORING_OF_PATIENT}|||{dtm(t0)}|{dtm(t1)}",
    ]  # fmt: skip
    ordered = sorted(items, key=lambda i: (mds[i.source], _order(i.channel)))
    for n, item in enumerate(ordered, 1):
        m = METRICS[item.channel]
        sub = f"{mds[item.source]}.{m.vmd}.1.{m.metric}"
        if isinstance(item, Reading):
            assert item.value is not None
            value, status = num(item.value), "F"
        else:
            value, status = "", "X"
        segments.append(
            f"OBX|{n}|NM|{m.identifier}|{sub}|{value}|{m.units}|||||{status}|||{dtm(item.t)}"
            f"||||{esc(item.source)}^VIGIL"
        )
    return SEGMENT_END.join(segments)


def _order(channel: str) -> tuple[int, int]:
    m = METRICS[channel]
    return (m.vmd, m.metric)
