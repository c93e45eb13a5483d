"""GET /metrics: Prometheus text format behind a staff token, scraped by a real Debian
`prometheus` whose query API then returns Vigil's metrics."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from tests.conftest import Influxd, VigilProcess, free_port, wait_http
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def vigil(influxd: Influxd, tmp_path: Path) -> Iterator[VigilProcess]:
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_metrics"
influx_batch_s = 0.2
site = "clinic-east"

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.25 }}
""")
    proc = VigilProcess(config, tmp_path)
    yield proc
    proc.stop()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_need_a_token_and_count_what_runs(vigil: VigilProcess) -> None:
    with vigil.client(token="") as anonymous:
        assert anonymous.get("/metrics").status_code == 401
    viewer = vigil.user_token("it-scraper", "viewer")
    device = (("device", "A-ox"), ("protocol", "masimo-ascii"), ("room", "A"))
    last = [""]

    def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        with vigil.client(viewer) as c:
            r = c.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        last[0] = r.text
        m = samples(r.text)
        ready = m[("vigil_readings_total", ())] > 10 and m[("vigil_forwarded_total", ())] > 0
        return m if ready else {}

    m = wait_for(counted, 15, lambda: f"readings counted and forwarded:\n{last[0]}", every_s=0.3)
    assert m[("vigil_info", (("site", "clinic-east"), ("version", __version__)))] == 1
    assert m[("vigil_rooms", ())] == 1
    assert m[("vigil_device_connected", device)] == 1
    assert m[("vigil_device_frames_total", device)] > 0
    assert m[("vigil_influxdb_up", ())] == 1
    assert m[("vigil_alarms_active", (("kind", "physiological"), ("priority", "high")))] == 0
    assert ("vigil_event_loop_lag_seconds", (("stat", "p99"),)) in m
    assert m[("vigil_journal_backlog", ())] >= 0


def test_real_prometheus_scrapes_vigil(vigil: VigilProcess, tmp_path: Path) -> None:
    exe = shutil.which("prometheus")
    if exe is None:
        pytest.fail("prometheus is not installed: `apt-get install prometheus`")
    token = vigil.user_token("prometheus", "viewer")
    (tmp_path / "token").write_text(token)
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vigil
    authorization:
      credentials_file: {tmp_path / "token"}
    static_configs:
      - targets: ["127.0.0.1:{vigil.port}"]
""")
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={conf}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", 30, proc=proc)
        result = wait_for(
            lambda: httpx.get(
                f"{url}/api/v1/query", params={"query": "vigil_rooms"}, timeout=5
            ).json()["data"]["result"],
            30,
            lambda: (
                "a scrape of vigil_rooms; prometheus.log:\n"
                + (tmp_path / "prometheus.log").read_text()[-2000:]
            ),
            every_s=0.5,
        )
        assert result[0]["value"][1] == "1"
        assert result[0]["metric"]["job"] == "vigil"
        r = httpx.get(f"{url}/api/v1/query", params={"query": "vigil_info"}, timeout=5)
        assert r.json()["data"]["result"][0]["metric"]["site"] == "clinic-east"
        r = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=5)
        assert r.json()["data"]["result"][0]["value"][1] == "1"  # the token was accepted
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
