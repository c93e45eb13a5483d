"""A session's vital signs as a FHIR R4 Bundle (type collection) for the EHR.

Observations follow the R4 vital-signs profiles (http://hl7.org/fhir/R4/observation-vitalsigns
.html), named in `meta.profile`: SpO2 carries LOINC 2708-6 (the profile's required code) with
59408-5 (by pulse oximetry); pulse 8867-4 (heart rate) with 8889-8 (by pulse oximetry); blood
pressure is one 85354-9 panel with systolic 8480-6 and diastolic 8462-4 components (mean
8478-0 as a third when measured); respiratory rate 9279-1; EtCO2 19891-1 (a partial pressure
in mm[Hg], as Vigil measures it: 19889-5 is the volume fraction in %, which needs the ambient
pressure to convert; the MII ICU module binds 19891-1 with MDC 151708) under the base
vital-signs profile (R4 has none of its own). A reading the device marked invalid is an
Observation with no value and a `dataAbsentReason` naming its status: the record shows the
gap, never a number that was not measured.

The subject is a Patient resource that holds only the session's pseudonym (Vigil holds no
identity; the EHR links it); each data source is a Device resource. References point at the
Bundle's own `urn:uuid:` entries, so they resolve inside it. Ids are stable (uuid5): the same
session exported twice is the same Bundle. The bundle is checked against the `fhir.resources`
models before it is returned; tests/monitor/report/test_fhir_profiles.py validates it against
the official R4 StructureDefinitions.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

from monitor.clinic_time import iso
from monitor.report.model import ReadingRow, SessionRecord
from monitor.report.progress import Tick, no_tick

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PROFILE = "http://hl7.org/fhir/StructureDefinition/"
PSEUDONYM_SYSTEM = "urn:vigil:pseudonym"
SESSION_SYSTEM = "urn:vigil:session"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ],
    "text": "Vital Signs",
}


Coding = tuple[str, str]  # (LOINC code, display)

# channel: (profile id, LOINC codings (the profile's required code first), UCUM code, unit)
SINGLE: dict[str, tuple[str, list[Coding], str, str]] = {
    "spo2": (
        "oxygensat",
        [
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        "%",
        "%",
    ),
    "pulse_rate": (
        "heartrate",
        [("8867-4", "Heart rate"), ("8889-8", "Heart rate by Pulse oximetry")],
        "/min",
        "beats/minute",
    ),
    "resp_rate": ("resprate", [("9279-1", "Respiratory rate")], "/min", "breaths/minute"),
    "etco2": (
        "vitalsigns",
        [("19891-1", "Carbon dioxide [Partial pressure] in Exhaled gas --at end expiration")],
        "mm[Hg]",
        "mmHg",
    ),
}
BP_PANEL: Coding = ("85354-9", "Blood pressure panel with all children optional")
# BP channel: component coding; systolic and diastolic are the profile's required components.
BP_COMPONENTS: dict[str, Coding] = {
    "sbp": ("8480-6", "Systolic blood pressure"),
    "dbp": ("8462-4", "Diastolic blood pressure"),
    "map": ("8478-0", "Mean blood pressure"),
}
BP_REQUIRED = ("sbp", "dbp")
_NS = uuid.UUID("6c4d9c1e-5b0a-4f3e-9d3a-7a1f00c0ffee")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _code(codings: list[Coding]) -> dict[str, Any]:
    return {
        "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codings],
        "text": codings[0][1],
    }


def _quantity(value: float, ucum: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": ucum}


def _absent(status: str) -> dict[str, Any]:
    """Why a reading has no value: the device said it was not valid (its status as text)."""
    return {
        "coding": [{"system": DATA_ABSENT, "code": "error", "display": "Error"}],
        "text": f"device status: {status}" if status else "no valid value",
    }


def _value(r: ReadingRow | None, ucum: str, unit: str) -> dict[str, Any]:
    """`valueQuantity`, or `dataAbsentReason` for an invalid or missing reading."""
    if r is not None and r.valid and r.value is not None:
        return {"valueQuantity": _quantity(r.value, ucum, unit)}
    return {"dataAbsentReason": _absent(r.status if r is not None else "not measured")}


class _Refs:
    """The Bundle's Patient and Device entries, and references to them."""

    def __init__(self, rec: SessionRecord) -> None:
        sid = rec.session.id
        self.patient_url = f"urn:uuid:{_id(sid, 'patient')}"
        self.devices: dict[str, str] = {}  # source -> fullUrl
        self.sid = sid

    def device(self, source: str) -> dict[str, str] | None:
        if not source:
            return None
        if source not in self.devices:
            self.devices[source] = f"urn:uuid:{_id(self.sid, 'device', source)}"
        return {"reference": self.devices[source], "display": source}


def _observation(
    refs: _Refs, rec: SessionRecord, t: float, profile: str, codings: list[Coding], source: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE + profile]},
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": _code(codings),
        "subject": {"reference": refs.patient_url},
        "effectiveDateTime": iso(t, rec.timezone),
        **({"device": d} if (d := refs.device(source)) else {}),
    }


def _bp_groups(rows: list[ReadingRow]) -> Iterator[tuple[float, str, dict[str, ReadingRow]]]:
    """One cuff measurement = the BP readings of one source at one time."""
    groups: dict[tuple[float, str], dict[str, ReadingRow]] = {}
    for r in rows:
        groups.setdefault((round(r.t, 3), r.source), {})[r.channel] = r
    for (_, source), g in groups.items():
        yield min(r.t for r in g.values()), source, g


def observations(rec: SessionRecord, refs: _Refs, tick: Tick = no_tick) -> list[dict[str, Any]]:
    out: list[tuple[float, dict[str, Any]]] = []
    bp: list[ReadingRow] = []
    for n, r in enumerate(rec.readings, 1):
        if n % 1000 == 0:
            tick(1000)
        if r.channel in BP_COMPONENTS:
            bp.append(r)
            continue
        if r.channel not in SINGLE:
            continue
        profile, codings, ucum, unit = SINGLE[r.channel]
        obs = _observation(refs, rec, r.t, profile, codings, r.source)
        obs["id"] = _id(rec.session.id, r.channel, f"{r.t:.6f}")
        obs.update(_value(r, ucum, unit))
        out.append((r.t, obs))
    for t, source, g in _bp_groups(bp):
        obs = _observation(refs, rec, t, "bp", [BP_PANEL], source)
        obs["id"] = _id(rec.session.id, "bp", f"{t:.6f}", source)
        channels = [*BP_REQUIRED, *(c for c in BP_COMPONENTS if c not in BP_REQUIRED and c in g)]
        obs["component"] = [
            {"code": _code([BP_COMPONENTS[ch]]), **_value(g.get(ch), "mm[Hg]", "mmHg")}
            for ch in channels
        ]
        out.append((t, obs))
    out.sort(key=lambda x: x[0])
    return [o for _, o in out]


def _patient(rec: SessionRecord, refs: _Refs) -> dict[str, Any]:
    """Pseudonym only: no name, birth date or other identity (Vigil holds none)."""
    identifiers = [{"system": SESSION_SYSTEM, "value": rec.session.id}]
    if rec.session.patient:
        identifiers.insert(0, {"system": PSEUDONYM_SYSTEM, "value": rec.session.patient})
    return {
        "resourceType": "Patient",
        "id": refs.patient_url.removeprefix("urn:uuid:"),
        "identifier": identifiers,
    }


def _device(source: str, url: str) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": url.removeprefix("urn:uuid:"),
        "deviceName": [{"name": source, "type": "user-friendly-name"}],
    }


def bundle(rec: SessionRecord, tick: Tick = no_tick) -> dict[str, Any]:
    refs = _Refs(rec)
    obs = observations(rec, refs, tick)
    resources = [
        (refs.patient_url, _patient(rec, refs)),
        *((url, _device(src, url)) for src, url in refs.devices.items()),
        *((f"urn:uuid:{o['id']}", o) for o in obs),
    ]
    return {
        "resourceType": "Bundle",
        "id": _id(rec.session.id),
        "type": "collection",
        "timestamp": iso(rec.end, rec.timezone),
        "entry": [{"fullUrl": url, "resource": r} for url, r in resources],
    }


def validate(data: dict[str, Any]) -> None:
    """Raise (pydantic ValidationError) when the bundle is not a valid FHIR Bundle."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(data)


def _shape(entry: dict[str, Any]) -> tuple[object, ...]:
    """What makes two entries differ in structure (not in values): one of each is validated."""
    r = entry["resource"]
    return (
        r["resourceType"],
        tuple(r.get("meta", {}).get("profile", [])),
        "valueQuantity" in r,
        "device" in r,
        tuple("valueQuantity" in c for c in r.get("component", [])),
    )


def _quantities(entry: dict[str, Any]) -> Iterator[Any]:
    r = entry["resource"]
    for q in [r.get("valueQuantity"), *(c.get("valueQuantity") for c in r.get("component", []))]:
        if q is not None:
            yield q["value"]


def render(rec: SessionRecord, tick: Tick = no_tick) -> bytes:
    """The Bundle as JSON. Entries are built by the same code for every reading, so one entry
    of each structure is checked against the `fhir.resources` models (a long session's
    hundred thousand Observations took minutes to validate one by one), and every value is
    checked to be a finite number (JSON has no NaN)."""
    data = bundle(rec, tick)
    shapes: dict[tuple[object, ...], dict[str, Any]] = {}
    for e in data["entry"]:
        shapes.setdefault(_shape(e), e)
        for v in _quantities(e):
            if not (isinstance(v, int | float) and math.isfinite(v)):
                raise ValueError(f"{e['fullUrl']}: value {v!r} is not a finite number")
    validate({**data, "entry": list(shapes.values())})
    return json.dumps(data, indent=1).encode()
