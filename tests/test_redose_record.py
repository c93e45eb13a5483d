"""A top-up dose in the session record: the journal keeps the first dose as the session's
dose time and its baseline; every dose mark is audited with its route and amount."""

from __future__ import annotations

from pathlib import Path

from monitor.core.models import Control
from monitor.core.pipeline import RoomPipeline
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal
from monitor.store.recorder import Recorder
from tests.conftest import Influxd


async def test_a_top_up_is_audited_and_leaves_the_sessions_dose_and_baseline(
    influxd: Influxd, tmp_path: Path
) -> None:
    store = InfluxStore(influxd.url, "vigil_redose")
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), store)
    p = RoomPipeline("A")
    controls = [
        Control(0, "session_start", {"pseudonym": "P-1"}, by="dr"),
        Control(5, "baseline", {"spo2": 97, "sbp": 120, "dbp": 80}, by="dr"),
        Control(10, "dose", {"route": "SL", "amount_mg": 200}, by="dr"),
        Control(1210, "dose", {"route": "IM", "amount_mg": 25}, by="dr_k"),
        Control(1215, "dose", {"route": "IM"}, by="dr_k"),  # a double tap: refused
        Control(9000, "session_end", by="dr"),
    ]
    for c in controls:
        p.control(c)
        outcome = str(p.log[-1]["outcome"])
        rec.control_before("A", c, outcome)
        rec.control_after("A", c, p.snapshot(), outcome)
    assert rec.sync()
    sessions = rec.journal.sessions(room="A")
    assert [(s.dose_t, s.dosed_by, s.ended) for s in sessions] == [(10, "dr", 9000)]
    doses = [
        (e.t, e.who, e.payload["args"], e.payload["outcome"])
        for e in rec.journal.audit_entries(kinds=["control"])
        if e.payload["event"] == "dose"
    ]
    assert doses == [
        (10, "dr", {"route": "SL", "amount_mg": 200}, "ok"),
        (
            1210,
            "dr_k",
            {"route": "IM", "amount_mg": 25},
            "ok: top-up dose 2; BP schedule restarted",
        ),
        (1215, "dr_k", {"route": "IM"}, "ignored: a dose was marked less than 60 s ago by dr_k"),
    ]
    # Baseline entries: the one entered and the one the first dose put in use; none at the
    # top-up (the baseline stays the pre-first-dose one).
    assert [e.t for e in rec.journal.audit_entries(kinds=["baseline"])] == [5, 10]
    rec.close()
    await store.aclose()
