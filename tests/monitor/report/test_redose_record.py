"""A top-up dose in the session record: the journal keeps the first dose as the session's
dose time and its baseline; every dose mark is audited with its route and amount, and the
report lists the top-ups and says what each dose control did."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.api.routes.events import EVENT_ARGS, describe_error
from monitor.core.models import Control
from monitor.core.pipeline import RoomPipeline
from monitor.report import document, plots
from monitor.report.query import SessionQueries
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
        Control(1300, "discharge_review", {"outcome": "override"}, by="dr_k"),  # no reason
        Control(1310, "discharge_review", {"outcome": "override", "reason": "escort"}, by="dr_k"),
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
    record = await SessionQueries(rec.journal, store).record(sessions[0].id)
    doc = document.build(record)
    facts = dict(doc.facts)
    assert facts["Top-up doses"] == "00:20:10 IM 25 mg by dr_k"
    events = next(t for t in doc.tables if t.title == "Session events")
    assert [r[1:] for r in events.rows if r[1] in ("dose", "discharge review")] == [
        ["dose", "dr", "amount mg: 200; route: SL"],
        ["dose", "dr_k", "top-up dose 2; BP schedule restarted · amount mg: 25; route: IM"],
        ["dose", "dr_k", "ignored: a dose was marked less than 60 s ago by dr_k"],
        ["discharge review", "dr_k", "rejected: an override needs a reason"],
        [
            "discharge review",
            "dr_k",
            "override of 4 unmet criteria · outcome: override; reason: escort",
        ],
    ]
    reviews = next(t for t in doc.tables if t.title == "Discharge review")
    assert [r[1:3] for r in reviews.rows if r[2] == "review"] == [["dr_k", "review"]]
    assert [r[3] for r in reviews.rows if r[2] == "review"] == ["override: escort"]
    assert len(plots.figure(record).axes[0].lines) >= 2  # the dose and the top-up marks
    rec.close()
    await store.aclose()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"route": "rectal"}, "route: Input should be 'IV', 'IM', 'SL', 'IN' or 'PO'"),
        ({"amount_mg": 0}, "amount_mg: Input should be greater than 0"),
        ({"amount_mg": 1001}, "amount_mg: Input should be less than or equal to 1000"),
        ({"amount_mg": "inf"}, "amount_mg: Input should be a finite number"),
        ({"mg": 25}, "mg: Extra inputs are not permitted"),
    ],
)
def test_the_api_refuses_a_dose_it_cannot_record(args: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EVENT_ARGS["dose"].model_validate(args)
    assert describe_error(exc.value) == error
    assert EVENT_ARGS["dose"].model_validate({"route": "IM", "amount_mg": 25.5}).model_dump() == {
        "route": "IM",
        "amount_mg": 25.5,
    }


def test_the_api_takes_the_review_outcomes() -> None:
    model = EVENT_ARGS["discharge_review"]
    assert model.model_validate({"outcome": "override", "reason": "escort"}).model_dump(
        exclude_none=True
    ) == {"outcome": "override", "reason": "escort"}
    with pytest.raises(ValidationError):
        model.model_validate({"outcome": "maybe"})
