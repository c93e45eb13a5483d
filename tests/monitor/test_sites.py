"""Two sites, one store: two Vigil instances (each its own rooms, its own `site`) write into
one real influxd; each site's data is queryable apart, and each instance's own history and
report queries see only its site, even where room ids are the same."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings
from tests.conftest import Influxd, VigilProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

DB = "vigil_sites"


def site_config(path: Path, influx: str, site: str, rooms: list[str], pulse: int) -> Path:
    text = f'influx_url = "{influx}"\ninflux_database = "{DB}"\ninflux_batch_s = 0.2\n'
    text += f'site = "{site}"\n'
    for room in rooms:
        text += f"""
[[rooms]]
id = "{room}"
[[rooms.devices]]
id = "{room}-ox"
protocol = "masimo-ascii"
[rooms.devices.simulate]
scenario = "steady"
interval_s = 0.25
options = {{ pulse_rate = {pulse}, wobble = false }}
"""
    path.write_text(text)
    return path


@pytest.fixture
def two_sites(influxd: Influxd, tmp_path: Path) -> Iterator[tuple[VigilProcess, VigilProcess]]:
    (tmp_path / "n").mkdir()
    (tmp_path / "s").mkdir()
    # Room "A" exists at both sites: only the site tells their points apart.
    north = VigilProcess(
        site_config(tmp_path / "n" / "v.toml", influxd.url, "north", ["A", "N1"], 60),
        tmp_path / "n",
    )
    try:
        south = VigilProcess(
            site_config(tmp_path / "s" / "v.toml", influxd.url, "south", ["A", "S1"], 90),
            tmp_path / "s",
        )
    except Exception:
        north.stop()
        raise
    yield north, south
    north.stop()
    south.stop()


def test_two_sites_share_one_influxd_and_stay_apart(
    two_sites: tuple[VigilProcess, VigilProcess], influxd: Influxd
) -> None:
    north, south = two_sites
    q = "SELECT count(value) FROM reading WHERE channel = 'pulse_rate' GROUP BY site, room"
    seen: dict[tuple[object, object], object] = {}

    def stored() -> dict[tuple[object, object], object]:
        seen.clear()
        seen.update({(r["site"], r["room"]): r["count"] for r in influxd.query(q, db=DB)})
        ready = len(seen) == 4 and all(int(str(c)) >= 4 for c in seen.values())
        return dict(seen) if ready else {}

    counts = wait_for(stored, 20, lambda: f"both sites' rooms stored; saw {seen}", every_s=0.3)
    assert set(counts) == {("north", "A"), ("north", "N1"), ("south", "A"), ("south", "S1")}
    # Each site's points carry its own values, room A included.
    for site, pulse in (("north", 60.0), ("south", 90.0)):
        rows = influxd.query(
            f"SELECT DISTINCT(value) FROM reading WHERE site = '{site}' "
            "AND channel = 'pulse_rate' AND room = 'A'",
            db=DB,
        )
        assert [r["distinct"] for r in rows] == [pulse]
    # Every measurement this Vigil writes is tagged (devices' link states too).
    untagged = influxd.query("SELECT count(state) FROM device WHERE site = ''", db=DB)
    assert untagged == []
    # Each instance's own history of room A shows its site's readings only.
    for app, pulse in ((north, 60.0), (south, 90.0)):
        r = app.get("/api/rooms/A/history", params={"since": time.time() - 120})
        assert r.status_code == 200, r.text
        trend = r.json()["trend"]["pulse_rate"]
        assert trend and {v for _, v in trend} == {pulse}


def test_site_must_be_a_simple_name(tmp_path: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text('site = "north wing"\n[[rooms]]\nid = "A"\n')
    with pytest.raises(ConfigError, match=r"site: String should match pattern"):
        load_settings(cfg)


def test_site_tag_joins_the_tags_of_any_point() -> None:
    from monitor.store.lineproto import site_filter, with_tag

    line = r'reading,room=Room\ A,source=ox value=97.0,status="a b" 1'
    assert with_tag(line, "site", "north") == (
        r'reading,room=Room\ A,source=ox,site=north value=97.0,status="a b" 1'
    )
    assert with_tag('phase phase="dosed" 1', "site", "s") == 'phase,site=s phase="dosed" 1'
    with pytest.raises(ValueError, match="not a line-protocol point"):
        with_tag("garbage", "site", "s")
    assert site_filter("north") == "(site = 'north' OR site = '')"
