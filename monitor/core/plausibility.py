"""Physiological plausibility: the one table every decoder and the core use.

A value outside these limits cannot come from a living patient on a working device: it is
line noise, a wrong baud rate or a device sentinel we do not know. Decoders keep such a
value (it is recorded, stored `valid=false`) with `Flag.IMPLAUSIBLE`, which keeps it out of
smoothing, baselines and rules (issue #11: SpO2 0 and PR < 20 / > 300 were stored valid).
"""

from __future__ import annotations

from monitor.core.models import Channel

SPO2_MIN_PCT = 1.0  # SpO2 0 is "no reading" (Contec/BerryMed send it with no finger)
SPO2_MAX_PCT = 100.0  # a saturation is a fraction; > 100 only leaks from sentinels (§4)
PULSE_MIN_BPM = 20.0  # below the 20–300 bpm range oximeters and cuffs display
PULSE_MAX_BPM = 300.0
SBP_MIN_MMHG = 40.0  # clinical-defaults.md: NIBP outside 40–300 mmHg is implausible
SBP_MAX_MMHG = 300.0
DBP_MIN_MMHG = 15.0  # below what an oscillometric cuff resolves as a diastolic
DBP_MAX_MMHG = 300.0
MAP_MIN_MMHG = 20.0  # between the DBP floor and the SBP floor
MAP_MAX_MMHG = 300.0
CUFF_MAX_MMHG = 320.0  # cuffs cut inflation at 300 (SunTech error 89 over-pressure) + margin
PI_MAX_PCT = 20.0  # perfusion index displays 0.02–20 %
RESP_MAX_PER_MIN = 150.0  # 0 is a real value (no breath); above 150/min nobody breathes
ETCO2_MAX_MMHG = 150.0  # capnographs display 0–99 mmHg (0–150 on some): beyond, not CO2

_RANGES: dict[Channel, tuple[float, float]] = {
    Channel.SPO2: (SPO2_MIN_PCT, SPO2_MAX_PCT),
    Channel.PULSE_RATE: (PULSE_MIN_BPM, PULSE_MAX_BPM),
    Channel.HEART_RATE: (PULSE_MIN_BPM, PULSE_MAX_BPM),
    Channel.PERFUSION_INDEX: (0.0, PI_MAX_PCT),
    Channel.SBP: (SBP_MIN_MMHG, SBP_MAX_MMHG),
    Channel.DBP: (DBP_MIN_MMHG, DBP_MAX_MMHG),
    Channel.MAP: (MAP_MIN_MMHG, MAP_MAX_MMHG),
    Channel.CUFF_PRESSURE: (0.0, CUFF_MAX_MMHG),  # 0: deflated
    Channel.RESP_RATE: (0.0, RESP_MAX_PER_MIN),
    Channel.ETCO2: (0.0, ETCO2_MAX_MMHG),
    Channel.APNEA: (0.0, 1.0),  # a flag, 1 = no breath detected by the source
}
#: Keyed by plain strings: looked up for every reading with its channel (an exact-str dict
#: is the fast kind).
PLAUSIBLE: dict[str, tuple[float, float]] = {ch.value: r for ch, r in _RANGES.items()}


def plausible(channel: str, value: float) -> bool:
    lo, hi = PLAUSIBLE[channel]
    return lo <= value <= hi


def pressures_plausible(sbp: float, dbp: float) -> bool:
    """A systolic at or below the diastolic is a failed measurement, not a patient."""
    return sbp > dbp
