"""IEEE 11073-10101 (MDC) codes of Vigil's channels as HL7 v2 sends them: one table for the
HL7 simulator (drivers/sim/hl7.py) and the IHE PCD-01 sender (monitor/hl7out/). Pure data;
where each code was checked is said in monitor/hl7out/mdc.py's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    code: int
    name: str
    unit_code: int
    unit_name: str
    vmd: int  # containment: which virtual medical device of the MDS (OBX-4 "mds.vmd.chan.metric")
    metric: int

    @property
    def identifier(self) -> str:
        return f"{self.code}^{self.name}^MDC"

    @property
    def units(self) -> str:
        return f"{self.unit_code}^{self.unit_name}^MDC"


PERCENT = (262688, "MDC_DIM_PERCENT")
BEAT_PER_MIN = (264864, "MDC_DIM_BEAT_PER_MIN")
MMHG = (266016, "MDC_DIM_MMHG")
RESP_PER_MIN = (264928, "MDC_DIM_RESP_PER_MIN")

#: Vigil channel -> its MDC metric. Channels without an entry (perfusion index, cuff pressure,
#: heart rate from a BLE heart-rate service) are not sent: no code we could verify fits them.
METRICS: dict[str, Metric] = {
    "spo2": Metric(150456, "MDC_PULS_OXIM_SAT_O2", *PERCENT, vmd=1, metric=1),
    "pulse_rate": Metric(149530, "MDC_PULS_OXIM_PULS_RATE", *BEAT_PER_MIN, vmd=1, metric=2),
    "sbp": Metric(150021, "MDC_PRESS_BLD_NONINV_SYS", *MMHG, vmd=2, metric=1),
    "dbp": Metric(150022, "MDC_PRESS_BLD_NONINV_DIA", *MMHG, vmd=2, metric=2),
    "map": Metric(150023, "MDC_PRESS_BLD_NONINV_MEAN", *MMHG, vmd=2, metric=3),
    "resp_rate": Metric(151562, "MDC_RESP_RATE", *RESP_PER_MIN, vmd=3, metric=1),
    "etco2": Metric(151708, "MDC_AWAY_CO2_ET", *MMHG, vmd=3, metric=2),
}

# IHE PCD ACM (ORU^R40, PCD-04): the alert's facets, which the HL7 simulator sends, the decoder
# reads (drivers/hl7/alerts.py) and Vigil's alarm-manager output writes (monitor/hl7out/acm.py).
EVT_ALARM = "196616^MDC_EVT_ALARM^MDC"  # OBR-4, and the event of a technical alarm
ATTR_ALERT_SOURCE = "68480^MDC_ATTR_ALERT_SOURCE^MDC"
ATTR_EVENT_PHASE = "68481^MDC_ATTR_EVENT_PHASE^MDC"
ATTR_ALARM_STATE = "68482^MDC_ATTR_ALARM_STATE^MDC"
ATTR_ALARM_INACTIVATION_STATE = "68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC"
# MSH-21 message profile of an ACM report (IHE PCD TF-2).
PROFILE_ACM = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.1^ISO"
