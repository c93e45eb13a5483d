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
- MDC_AWAY_CO2_ET 151708 (partition 2, term 20636: 2 * 65536 + 20636): the official
  profile "endtidales CO2" of the German Medizininformatik-Initiative's ICU module binds
  urn:iso:std:iso:11073:10101#151708 together with LOINC 19891-1, SNOMED CT 250790007 and
  mm[Hg], with RTMMS's definition "Partial pressure of carbon dioxide in airway gas measured
  at the end of expiration." (a national profile built on the RTMMS term list); OpenICE's
  RTMMS-derived rosetta agrees. No second normative list (IHE PCD Rosetta, HL7 PoCD, DICOM
  ventilation CIDs) was reachable to confirm it. (Public samples also carry wrong ones,
  e.g. 151708 given to MDC_VOL_AWAY_TIDAL, or 68165.. for the ACM attributes below.)
- MDC_EVT_APNEA 199680 (partition 3, term 3072), which HL7 in reads: DICOM PS3.16 CID 3038
  "Pattern Event" lists MDC 3:3072 "Apnea" under "Codes reprinted by permission of IEEE",
  an authoritative reprint of ISO/IEEE 11073-10101 (3 * 65536 + 3072 = 199680).
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
