"""A realistic session record for the report tests: an hour with a dose, two baselines, a
desaturation acknowledged by a nurse that then resolved by itself, a latched high BP alarm, a
technical alarm, notes (one long), refused and applied controls, a paging record."""

from __future__ import annotations

import math

from monitor.report.model import AlarmRow, PhaseRow, ReadingRow, SessionRecord, episodes
from monitor.store.journal import AuditEntry, SessionRow

T0 = 1_795_395_600.0  # 2026-11-23 01:00:00 UTC = 02:00 CET
LIMITS = {
    "spo2_low": [{"channel": "spo2", "comparator": "<", "limit": 90, "priority": "medium"}],
    "spo2_drop": [
        {"channel": "spo2", "comparator": "<", "limit": 93, "priority": "low", "relative": True}
    ],
    "bp_rise": [
        {"channel": "sbp", "comparator": ">=", "limit": 152, "priority": "medium",
         "relative": True},
        {"channel": "dbp", "comparator": ">=", "limit": 98, "priority": "medium",
         "relative": True},
    ],
    "hr_high": [{"channel": "pulse_rate", "comparator": ">", "limit": 120, "priority": "medium"}],
}  # fmt: skip


def _audit(n: int, t: float, kind: str, who: str | None, payload: dict[str, object]) -> AuditEntry:
    return AuditEntry(n, t, kind, who, "A", "A-1", payload, "", "")


def session_record(
    *, timezone: str = "Europe/Berlin", paper: str = "A4", minutes: int = 60
) -> SessionRecord:
    end = T0 + minutes * 60
    session = SessionRow("A-1", "A", "JD-042", T0, "dr.k", T0 + 600, "nurse.m", end, "dr.k")
    readings = []
    for i in range(0, minutes * 60, 5):
        t = T0 + i
        dip = 1400 <= i <= 1500
        spo2 = 86.0 if dip else 97.0 + math.sin(i / 300)
        readings.append(ReadingRow(t, "spo2", round(spo2, 1), True, "", "oximeter"))
        readings.append(ReadingRow(t, "pulse_rate", 72.0 + 10 * math.sin(i / 600), True, "", "ox"))
    readings.append(ReadingRow(T0 + 2000, "spo2", None, False, "probe_off", "oximeter"))
    for i in range(0, minutes * 60, 300):
        t = T0 + i
        sbp = 122.0 + (40 if 2100 <= i <= 2700 else 0)
        for ch, v in (("sbp", sbp), ("dbp", 78.0 + (i > 2000) * 12), ("map", 93.0)):
            readings.append(ReadingRow(t, ch, v, True, "", "cuff"))
    ack_t = T0 + 1430
    alarms = [
        AlarmRow(T0 + 1410, "spo2_low", "physiological", "medium", "active", 86, 90, 97),
        AlarmRow(T0 + 1430, "spo2_low", "physiological", "medium", "acknowledged", 86, 90, 97,
                 "acknowledged by nurse.m", "nurse.m", acknowledged_by="nurse.m",
                 acknowledged_t=ack_t),
        AlarmRow(T0 + 1510, "spo2_low", "physiological", "medium", "cleared", 97, 90, 97,
                 "", "", worst=84, acknowledged_by="nurse.m", acknowledged_t=ack_t,
                 ended="resolved"),
        AlarmRow(T0 + 1405, "spo2_drop", "physiological", "low", "active", 88, 93, 97),
        AlarmRow(T0 + 1505, "spo2_drop", "physiological", "low", "cleared", 96, 93, 97,
                 ended="resolved"),
        AlarmRow(T0 + 2100, "bp_rise", "physiological", "medium", "active", 162, 152, 122),
        AlarmRow(T0 + 2220, "bp_rise", "physiological", "medium", "escalated", 162, 152, 122,
                 tier=2),
        AlarmRow(T0 + 2800, "bp_rise", "physiological", "medium", "cleared", 125, 152, 122,
                 ended="resolved"),
        AlarmRow(T0 + 2000, "probe_off", "technical", "low", "active", None, None, None,
                 "oximeter probe off"),
        AlarmRow(T0 + 2030, "probe_off", "technical", "low", "cleared", None, None, None,
                 ended="resolved"),
    ]  # fmt: skip
    base1 = {"spo2": 97.0, "pulse_rate": 71, "sbp": 122, "dbp": 78, "map": 93}
    audit = [
        _audit(1, T0, "control", "dr.k", {"event": "session_start", "args": {}, "outcome": "ok"}),
        _audit(2, T0 + 300, "baseline", "dr.k", {"baseline": base1, "limits": LIMITS}),
        _audit(3, T0 + 540, "baseline", "nurse.m",
               {"baseline": {**base1, "sbp": 124}, "limits": LIMITS}),
        _audit(4, T0 + 600, "control", "nurse.m",
               {"event": "dose", "args": {"route": "IM", "amount_mg": 35}, "outcome": "ok"}),
        _audit(5, T0 + 900, "control", "nurse.m",
               {"event": "dose", "args": {}, "outcome": "ignored: dose in phase dosed"}),
        _audit(6, T0 + 1200, "note", "nurse.m", {"text": "calm, eyes closed"}),
        _audit(7, T0 + 1600, "note", "dr.k", {"text": "Patient reported nausea; positioned on the "
               "left side, oxygen 2 l/min by nasal cannula for ten minutes, reassessed after "
               "that with SpO2 back to 97 % and no further complaints. " * 2}),
        _audit(8, T0 + 2230, "notification", None,
               {"event": "sent", "condition": "bp_rise", "channel": "pover", "tier": 2,
                "contact": "charge-nurse", "result": "delivered"}),
        _audit(9, T0 + 3300, "discharge_review", "dr.k", {"text": "fit for discharge"}),
        _audit(10, end, "control", "dr.k",
               {"event": "session_end", "args": {}, "outcome": "ok"}),
    ]  # fmt: skip
    phases = [
        PhaseRow(T0, "pre_dose", "started by dr.k"),
        PhaseRow(T0 + 600, "dosed", "dose marked by nurse.m"),
        PhaseRow(T0 + 3300, "discharge_ready", "criteria met"),
        PhaseRow(end, "ended", "ended by dr.k"),
    ]
    return SessionRecord(
        session=session,
        end=end,
        readings=readings,
        alarms=alarms,
        phases=phases,
        audit=audit,
        episodes=episodes(alarms),
        timezone=timezone,
        paper=paper,
        generated_at=end + 120,
        generated_by="auditor.a",
        audit_chain="intact (10 entries verified)",
    )
