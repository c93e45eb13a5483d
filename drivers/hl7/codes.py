"""Which OBX is which channel: IEEE 11073 MDC codes, LOINC, and vendor-local codes, as data.

An OBX-3 identifier is `code^text^system[^alt code^alt text^alt system]`. A monitor in IHE
PCD-01 mode (Philips IntelliVue via IntelliBridge/PIC iX, GE CARESCAPE Gateway, Mindray
eGateway/BeneVision, Edan and Comen in their PCD-01 profile) names observations by MDC code
(system `MDC`); some also or instead send LOINC (`LN`). Older Mindray monitors (PDS / iPM /
T series "HL7 output") send their own numeric parameter ids with no system: that table is
`VENDOR_LOCAL["mindray"]`, switched on by the device's `vendor`. A clinic adds or replaces
any entry with the device's `mapping` option.

Sources (checked here against the term lists named; "public sample" marks codes only seen
in integrations, never in a normative list):
- MDC numeric codes: ISO/IEEE 11073-10101 via the RTMMS term list as republished in HL7
  Denmark's DK Core "IEEE Basic Observation" value set (151562/151570/151578/151594/151602/
  151650/151658 respiration rates, 149546 non-invasive pulse rate) and issue #15's list
  (150456, 149530, 150021/22/23; units 262688, 264864, 266016). 151708 (end-tidal CO2,
  MDC_AWAY_CO2_ET, newer name MDC_CONC_AWAY_CO2_ET): the Medizininformatik-Initiative ICU
  profile (with LOINC 19891-1, mm[Hg]); 147842 (MDC_ECG_HEART_RATE): MD PnP OpenICE's
  rosetta terms (public sample). 264928 MDC_DIM_RESP_PER_MIN: public sample.
  MDC_EVT_APNEA 199680 (partition 3, code 3072): DICOM PS3.16 CID 3038, an IEEE-permitted
  reprint of 11073-10101 (monitor/hl7out/mdc.py says more).
- LOINC: loinc.org (59408-5 / 2708-6 SpO2, 8889-8 pulse rate by oximetry, 8867-4 heart rate,
  8480-6 / 8462-4 / 8478-0 NIBP, 9279-1 respiratory rate, 19891-1 end-tidal CO2 partial
  pressure; 19889-5 is its volume fraction in %, accepted only with a pressure unit).
- Mindray legacy ids (101 HR, 151 RR, 160 SpO2, 161 PR, 170/171/172 NIBP sys/dia/mean,
  173 NIBP PR, 250 EtCO2): two independent public Mindray PDS/iPM integrations (public
  sample; no vendor manual was reachable).
- Edan, Comen, Philips, GE: their HL7 outputs we could verify use the MDC codes above; no
  vendor-local tables are shipped for them (map local codes with `mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from monitor.core.models import Channel


@dataclass(frozen=True, slots=True)
class Target:
    """What an OBX becomes: a channel, and whether it is the cuff's (NIBP) measurement.

    A multiparameter monitor is oximeter and cuff at once; its NIBP values (and the NIBP
    pulse rate) are sent under the sub-source `<device>/nibp` so the core never mistakes the
    oximeter's pulse rate for the cuff's."""

    channel: str
    nibp: bool = False
    # Measured from the gas a sidestream capnograph samples: void while its line is blocked.
    co2: bool = False
    # An explicit unit is required (a code whose quantity is not the channel's, see LOINC).
    unit_required: bool = False


SPO2 = Target(Channel.SPO2)
PULSE = Target(Channel.PULSE_RATE)
HEART = Target(Channel.HEART_RATE)
SBP, DBP, MAP = Target(Channel.SBP, True), Target(Channel.DBP, True), Target(Channel.MAP, True)
NIBP_PULSE = Target(Channel.PULSE_RATE, True)
# A respiration rate of unknown method counts as capnographic (the safe side when the line
# is blocked); impedance, acoustic, pleth and airway-pressure rates do not need the line.
RESP = Target(Channel.RESP_RATE, co2=True)
RESP_NOT_CO2 = Target(Channel.RESP_RATE)
ETCO2 = Target(Channel.ETCO2, co2=True)
# LOINC 19889-5 is the CO2 volume fraction (%): only taken with a pressure unit given.
ETCO2_FRACTION = Target(Channel.ETCO2, co2=True, unit_required=True)
APNEA = Target(Channel.APNEA, co2=True)

#: Names a clinic may use in a device's `mapping` (plus "ignore").
TARGETS: Final = MappingProxyType(
    {
        "spo2": SPO2,
        "pulse_rate": PULSE,
        "heart_rate": HEART,
        "sbp": SBP,
        "dbp": DBP,
        "map": MAP,
        "nibp_pulse_rate": NIBP_PULSE,
        "resp_rate": RESP,
        "etco2": ETCO2,
        "apnea": APNEA,
    }
)
IGNORE = "ignore"
#: Device-reported conditions a clinic may map a vendor's alert code to (drivers/hl7/alerts.py).
CO2_LINE_BLOCKED = "co2_line_blocked"
CONDITIONS: Final = frozenset({CO2_LINE_BLOCKED})

#: IEEE 11073-10101, by numeric code and by reference id.
MDC: Final = MappingProxyType(
    {
        "150456": SPO2, "MDC_PULS_OXIM_SAT_O2": SPO2,
        "149530": PULSE, "MDC_PULS_OXIM_PULS_RATE": PULSE,
        "147842": HEART, "MDC_ECG_HEART_RATE": HEART,
        "150021": SBP, "MDC_PRESS_BLD_NONINV_SYS": SBP,
        "150022": DBP, "MDC_PRESS_BLD_NONINV_DIA": DBP,
        "150023": MAP, "MDC_PRESS_BLD_NONINV_MEAN": MAP,
        "149546": NIBP_PULSE, "MDC_PULS_RATE_NON_INV": NIBP_PULSE,
        # Respiration rate by any method: unspecified, airway flow, transthoracic impedance,
        # CO2 (capnography), airway pressure, acoustic, pleth-derived.
        "151562": RESP, "MDC_RESP_RATE": RESP,
        "151570": RESP, "MDC_AWAY_RESP_RATE": RESP,
        "151578": RESP_NOT_CO2, "MDC_TTHOR_RESP_RATE": RESP_NOT_CO2,
        "151594": RESP, "MDC_CO2_RESP_RATE": RESP,
        "151602": RESP_NOT_CO2, "MDC_PRESS_RESP_RATE": RESP_NOT_CO2,
        "151650": RESP_NOT_CO2, "MDC_ACOUSTIC_RESP_RATE": RESP_NOT_CO2,
        "151658": RESP_NOT_CO2, "MDC_PULS_OXIM_PLETH_RESP_RATE": RESP_NOT_CO2,
        "151708": ETCO2, "MDC_AWAY_CO2_ET": ETCO2, "MDC_CONC_AWAY_CO2_ET": ETCO2,
        # Apnea as an event observation (value 1/0 or Y/N): MDC 3:3072 = 3 * 65536 + 3072.
        "199680": APNEA, "MDC_EVT_APNEA": APNEA,
    }
)  # fmt: skip

LOINC: Final = MappingProxyType(
    {
        "59408-5": SPO2,
        "2708-6": SPO2,
        "8889-8": PULSE,
        "8867-4": HEART,
        "8480-6": SBP,
        "8462-4": DBP,
        "8478-0": MAP,
        "9279-1": RESP,
        # 19891-1 is EtCO2 as a partial pressure (mm[Hg]); 19889-5 is its volume fraction
        # (%), convertible only with the ambient pressure: taken only in a pressure unit.
        "19891-1": ETCO2,
        "19889-5": ETCO2_FRACTION,
    }
)

VENDOR_LOCAL: Final = MappingProxyType(
    {
        "mindray": MappingProxyType(
            {
                "101": HEART,
                "151": RESP,
                "160": SPO2,
                "161": PULSE,
                "170": SBP,
                "171": DBP,
                "172": MAP,
                "173": NIBP_PULSE,
                "250": ETCO2,
            }
        ),
    }
)
#: Vendors whose HL7 output is MDC/LOINC coded (accepted in config, no local table).
MDC_VENDORS: Final = frozenset({"philips", "ge", "edan", "comen", "mindray-pcd"})
VENDORS: Final = frozenset(VENDOR_LOCAL) | MDC_VENDORS

MDC_SYSTEMS: Final = frozenset({"MDC", "ISO11073", "MDC11073", "IEEE11073", "ISO/IEEE11073"})
LOINC_SYSTEMS: Final = frozenset({"LN", "LOINC"})

KPA_TO_MMHG = 7.50062  # 1 kPa = 7.50062 mmHg

#: Unit (OBX-6 code or text) -> (unit family, factor to the family's canonical unit).
UNITS: Final = MappingProxyType(
    {
        "%": ("%", 1.0), "262688": ("%", 1.0), "MDC_DIM_PERCENT": ("%", 1.0),
        "/min": ("/min", 1.0), "1/min": ("/min", 1.0), "bpm": ("/min", 1.0),
        "{beats}/min": ("/min", 1.0), "beats/min": ("/min", 1.0), "{beat}/min": ("/min", 1.0),
        "264864": ("/min", 1.0), "MDC_DIM_BEAT_PER_MIN": ("/min", 1.0),
        "264928": ("/min", 1.0), "MDC_DIM_RESP_PER_MIN": ("/min", 1.0),
        "rpm": ("/min", 1.0), "brpm": ("/min", 1.0), "{breaths}/min": ("/min", 1.0),
        "breaths/min": ("/min", 1.0),
        "mmHg": ("mmHg", 1.0), "mm[Hg]": ("mmHg", 1.0), "mm Hg": ("mmHg", 1.0),
        "266016": ("mmHg", 1.0), "MDC_DIM_MMHG": ("mmHg", 1.0),
        "kPa": ("mmHg", KPA_TO_MMHG), "MDC_DIM_KILO_PASCAL": ("mmHg", KPA_TO_MMHG),
    }
)  # fmt: skip
#: The unit family each channel needs (CO2 in % depends on barometric pressure: refused).
CHANNEL_UNIT_FAMILY: Final = MappingProxyType(
    {
        Channel.SPO2: "%",
        Channel.PULSE_RATE: "/min",
        Channel.HEART_RATE: "/min",
        Channel.RESP_RATE: "/min",
        Channel.SBP: "mmHg",
        Channel.DBP: "mmHg",
        Channel.MAP: "mmHg",
        Channel.ETCO2: "mmHg",
    }
)
