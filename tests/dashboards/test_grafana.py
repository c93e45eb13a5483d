"""Every InfluxQL query of the provisioned Grafana dashboard runs on a real influxd and finds
the data Vigil writes (Grafana's macros replaced as Grafana would)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from monitor.core.models import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    DeviceState,
    LinkState,
    PhaseEvent,
    Priority,
    Reading,
)
from monitor.store import lineproto
from tests.conftest import ROOT, Influxd

GRAFANA = ROOT / "dashboards" / "grafana"
DB = "vigil"  # the provisioned data source reads database "vigil"


def queries(dash: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (f"{p['title']} {t['refId']}", t["query"]) for p in dash["panels"] for t in p["targets"]
    ]
    found += [(a["name"], a["query"]) for a in dash["annotations"]["list"]]
    found += [(v["name"], v["query"]) for v in dash["templating"]["list"]]
    return found


def expand(q: str, site: str = ".*") -> str:
    return (
        q.replace("$timeFilter", "time > now() - 1h")
        .replace("$__interval", "10s")
        .replace("$room", ".*")
        .replace("$site", site)
    )


def test_dashboard_queries_find_vigil_data(influxd: Influxd) -> None:
    httpx.post(f"{influxd.url}/query", params={"q": f"CREATE DATABASE {DB}"}).raise_for_status()
    now = time.time()
    lines = [
        lineproto.reading_line("A", Reading(now - 30 + i, ch, v, "x", source="A-ox"))
        for i in range(3)
        for ch, v in (
            ("spo2", 96.0),
            ("pulse_rate", 70.0),
            ("sbp", 120.0),
            ("dbp", 80.0),
            ("map", 93.0),
            ("resp_rate", 14.0),
            ("etco2", 38.0),
        )
    ]
    lines.append(lineproto.phase_line(PhaseEvent(now - 20, "A", "dosed")))
    lines.append(lineproto.device_line("A", DeviceState(now - 25, "A-ox", LinkState.CONNECTED)))
    alarm = AlarmEvent(
        now - 10,
        "A",
        "spo2_low",
        AlarmKind.PHYSIOLOGICAL,
        "spo2",
        Priority.MEDIUM,
        AlarmState.ACTIVE,
        value=88.0,
        limit=90.0,
        reason="SpO2 88 % < 90 %",
    )
    lines.append(lineproto.alarm_line(alarm))
    # Two sites share the store (README "Scaling out"): the same points from site "north",
    # and another room's readings from site "south".
    lines = [lineproto.with_tag(line, "site", "north") for line in lines]
    lines += [
        lineproto.with_tag(
            lineproto.reading_line("S1", Reading(now - 30 + i, "spo2", 95.0, "%", source="S1-ox")),
            "site",
            "south",
        )
        for i in range(3)
    ]
    httpx.post(
        f"{influxd.url}/write", params={"db": DB}, content="\n".join(lines)
    ).raise_for_status()

    dash = json.loads((GRAFANA / "dashboards" / "vigil-session.json").read_text())
    results = {name: len(influxd.query(expand(q), db=DB)) > 0 for name, q in queries(dash)}
    assert results == {name: True for name in results}
    assert len(results) == 14
    # The site selector lists both sites; picking one narrows rooms and series to it.
    by_name = dict(queries(dash))
    # (Other tests' Vigils may write into this database too, as site "default".)
    assert {r["value"] for r in influxd.query(by_name["site"], db=DB)} >= {"north", "south"}
    rooms = influxd.query(expand(by_name["room"], "south"), db=DB)
    assert {r["value"] for r in rooms} == {"S1"}
    spo2 = next(q for name, q in queries(dash) if name.startswith("SpO"))
    assert {r["room"] for r in influxd.query(expand(spo2, "north"), db=DB)} == {"A"}
    assert {r["room"] for r in influxd.query(expand(spo2), db=DB)} >= {"A", "S1"}


def test_provisioning_points_at_the_dashboard_data_source() -> None:
    ds = (GRAFANA / "provisioning" / "datasources" / "influxdb.yml").read_text()
    uid = re.search(r"uid:\s*(\S+)", ds)
    assert uid is not None and "type: influxdb" in ds and "dbName: vigil" in ds
    dash = json.loads((GRAFANA / "dashboards" / "vigil-session.json").read_text())
    used = {t["datasource"]["uid"] for p in dash["panels"] for t in p["targets"]}
    assert used == {uid.group(1)}
    provider = (GRAFANA / "provisioning" / "dashboards" / "vigil.yml").read_text()
    assert "path: /var/lib/grafana/dashboards/vigil" in provider
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "./dashboards/grafana/dashboards:/var/lib/grafana/dashboards/vigil:ro" in compose
