"""IEEE 11073-10101 (MDC) codes for Vigil's channels, and the ACM alarm vocabulary. Pure data.

A numeric MDC code is partition * 65536 + term code. Every code below was checked:

- Term codes and partitions: the IEEE 11073-20601 / -104xx nomenclature headers (partition
  SCADA = 2, DIM = 4, EVT = 3, e.g. MDC_PULS_OXIM_SAT_O2 = 19384, MDC_PULS_OXIM_PULS_RATE =
  18458, MDC_PRESS_BLD_NONINV_SYS/DIA/MEAN = 18949/18950/18951, MDC_DIM_PERCENT = 544,
  MDC_DIM_BEAT_PER_MIN = 2720, MDC_DIM_MMHG = 3872, MDC_DIM_RESP_PER_MIN = 2784).
- Context-free codes as published by HL7 for urn:iso:std:iso:11073:10101 (RTMMS content):
  150456 and 262688 in the FHIR DeviceMetric example (system https://rtmms.nist.gov);
  150020/150021/150022/150023 in the HL7 Personal Health Device IG blood-pressure examples;
  151562 MDC_RESP_RATE ("Rate of breathing; method not specified") in HL7 Denmark's
  IEEEBasicObservation value set.
- MDC_AWAY_CO2_ET 151708: the value every capnograph mapping we found agrees on (OpenICE's
  RTMMS-derived names), not found in an HL7-published list: re-check against RTMMS before a
  site relies on EtCO2 codes. (Public samples also carry wrong ones, e.g. 151708 given to
  MDC_VOL_AWAY_TIDAL, or 68165.. for the ACM attributes below.)
- ACM attributes 68480..68484 and events 196616 / 196648 / 196670: the IHE PCD Technical
  Framework ACM (Report Alert, PCD-04) and its connectathon messages (Mindray / Philips IEM).
"""

from __future__ import annotations

from drivers.hl7.mdc import (
    ATTR_ALARM_INACTIVATION_STATE,
    ATTR_ALARM_STATE,
    ATTR_ALERT_SOURCE,
    ATTR_EVENT_PHASE,
    BEAT_PER_MIN,
    EVT_ALARM,
    METRICS,
    MMHG,
    PERCENT,
    PROFILE_ACM,
    RESP_PER_MIN,
    Metric,
)

__all__ = [
    "ATTR_ALARM_INACTIVATION_STATE",
    "ATTR_ALARM_STATE",
    "ATTR_ALERT_SOURCE",
    "ATTR_EVENT_PHASE",
    "BEAT_PER_MIN",
    "EVT_ALARM",
    "METRICS",
    "MMHG",
    "PERCENT",
    "PROFILE_ACM",
    "RESP_PER_MIN",
    "Metric",
]

EVT_HI = "196648^MDC_EVT_HI^MDC"  # a value above its limit
EVT_LO = "196670^MDC_EVT_LO^MDC"  # a value below its limit

# MSH-21 message profiles (IHE PCD TF-2).
PROFILE_PCD_01 = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
# OBR-4 of a PCD-01 message: SNOMED CT "monitoring of patient" (IHE PCD TF-2).
MONITORING_OF_PATIENT = "182777000^monitoring of patient^SCT"
