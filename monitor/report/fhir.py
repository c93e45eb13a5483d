"""A session's vital signs as a FHIR R4 Bundle (type collection) of Observations for the EHR.

One Observation per valid reading of SpO2, pulse rate and blood pressure, coded in LOINC and
UCUM. The subject is the session (an identifier, never a name: Vigil holds no identity);
the EHR links it to the patient. The bundle is checked against the `fhir.resources` models
(R4B, the R4-compatible release it ships) before it is returned.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from monitor.report.model import ReadingRow, SessionRecord
from monitor.report.progress import Tick, no_tick
from monitor.report.tabular import iso

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SESSION_SYSTEM = "urn:vigil:session"
# channel: (LOINC code, display, UCUM code, unit shown)
CODES: dict[str, tuple[str, str, str, str]] = {
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "pulse_rate": ("8889-8", "Heart rate by Pulse oximetry", "/min", "beats/minute"),
    "sbp": ("8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg"),
    "dbp": ("8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg"),
    "map": ("8478-0", "Mean blood pressure", "mm[Hg]", "mmHg"),
}
_NS = uuid.UUID("6c4d9c1e-5b0a-4f3e-9d3a-7a1f00c0ffee")


def observation(r: ReadingRow, session_id: str) -> dict[str, Any]:
    code, display, ucum, unit = CODES[r.channel]
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                        "display": "Vital Signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"identifier": {"system": SESSION_SYSTEM, "value": session_id}},
        "effectiveDateTime": iso(r.t),
        "valueQuantity": {"value": r.value, "unit": unit, "system": UCUM, "code": ucum},
        **({"device": {"display": r.source}} if r.source else {}),
    }


def bundle(rec: SessionRecord, tick: Tick = no_tick) -> dict[str, Any]:
    sid = rec.session.id
    entries = []
    for n, r in enumerate(rec.readings, 1):
        if r.channel in CODES and r.valid and r.value is not None:
            # Stable ids: the same reading exported twice is the same resource.
            rid = uuid.uuid5(_NS, f"{sid}/{r.channel}/{r.t:.6f}")
            entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": observation(r, sid)})
        if n % 1000 == 0:
            tick(1000)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NS, sid)),
        "type": "collection",
        "timestamp": iso(rec.end),
        "entry": entries,
    }


def validate(data: dict[str, Any]) -> None:
    """Raise (pydantic ValidationError) when the bundle is not a valid FHIR Bundle."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(data)


VALIDATE_CHUNK = 500  # entries are independent: validating the bundle in slices is the same


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    data = bundle(rec)
    entries = data["entry"]
    per_entry = len(rec.readings) / max(1, len(entries))  # progress is counted in readings
    for start in range(0, max(1, len(entries)), VALIDATE_CHUNK):
        chunk = entries[start : start + VALIDATE_CHUNK]
        validate({**data, "entry": chunk})
        tick(round(len(chunk) * per_entry))
    return json.dumps(data, indent=1).encode()
