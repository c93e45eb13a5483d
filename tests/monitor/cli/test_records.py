"""`vigil sessions list` and `vigil stats` for a person: clock times in the clinic's timezone
(labelled), rounded figures; `--json` keeps the API's shape. A bad `timezone` stops start-up
naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import ConfigError, load_settings
from monitor.store.journal import Journal

T0 = 1_795_395_600.0  # 2026-11-23 01:00:00 UTC = 2026-11-22 20:00 in New York (EST)


SECRET_KEY = "nb1vylDbo8-KZk6FUmjelKoZNfM1wggZ5a_cRFrjJAU"  # secrets.token_urlsafe(32)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite3"
    j = Journal(path)
    j.start_session("A", T0, "JD-042", "dr.k")
    j.mark_dose("A", T0 + 600, "nurse.m")
    j.end_session("A", T0 + 3600, "dr.k")
    j.start_session("B", T0 + 7200, "", "nurse.m")
    j.close()
    return path


def config(tmp_path: Path, zone: str) -> Path:
    path = tmp_path / "vigil.toml"
    # A room makes it a clinic's config (not the demo); the InfluxDB port is closed on
    # purpose: the journal answers.
    path.write_text(
        f'timezone = "{zone}"\ninflux_url = "http://127.0.0.1:9"\nsecret_key = "{SECRET_KEY}"\n'
        '[[rooms]]\nid = "A"\n'
    )
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sessions_list_reads_in_the_clinics_zone(tmp_path: Path, journal: Path) -> None:
    cfg = config(tmp_path, "America/New_York")
    out = run("sessions", "list", "--config", str(cfg), "--journal", str(journal))
    lines = out.splitlines()
    assert lines[0].split() == ["session", "room", "patient", "started", "(by)", "dose", "(by)",
                                "ended", "(by)"]  # fmt: skip
    a, b = lines[1], lines[2]
    assert "2026-11-22 20:00 dr.k" in a and "2026-11-22 20:10 nurse.m" in a
    assert "2026-11-22 21:00 dr.k" in a
    assert "2026-11-22 22:00 nurse.m" in b and b.endswith("still open")
    assert lines[-1].startswith("2 session(s); times in America/New_York (EST, UTC-05:00)")
    assert "1795395600" not in out  # no raw Unix timestamps
    # --from is a date in the clinic's zone: Nov 22 there holds both sessions, Nov 23 none.
    day = run("sessions", "list", "--from", "2026-11-23", "--config", str(cfg),
              "--journal", str(journal))  # fmt: skip
    assert day.splitlines()[-1].startswith("0 session(s)")
    raw = json.loads(run("sessions", "list", "--json", "--config", str(cfg), "--journal",
                         str(journal)))  # fmt: skip
    assert [s["started"] for s in raw] == [T0, T0 + 7200]


def test_stats_are_rounded(tmp_path: Path, journal: Path) -> None:
    cfg = config(tmp_path, "UTC")
    out = run("stats", "--config", str(cfg), "--journal", str(journal))
    assert out.splitlines() == [
        "sessions                      2",
        "alarms                        0",
        "alarms per session            0.0",
        "acknowledged                  0 of 0",
        "median time to acknowledge    —",
        "sessions with a high alarm    0",
    ]
    figures = json.loads(run("stats", "--json", "--config", str(cfg), "--journal", str(journal)))
    assert figures["alarms_per_session"] == 0.0 and figures["sessions"] == 2


def test_rounding_of_clinic_figures() -> None:
    from monitor.cli.sessions import rounded, stats_text

    figures = {
        "sessions": 3,
        "alarms": 7,
        "alarms_per_session": 7 / 3,
        "acknowledged": 5,
        "median_time_to_ack_s": 41.23456,
        "sessions_with_high_priority": 1,
    }
    assert rounded(figures)["alarms_per_session"] == 2.3
    text = stats_text(rounded(figures))
    assert "alarms per session            2.3" in text
    assert "median time to acknowledge    41 s" in text


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CET+1", ""])
def test_unknown_timezone_stops_start_up_naming_the_field(tmp_path: Path, zone: str) -> None:
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone"):
        load_settings(config(tmp_path, zone))


def test_timezone_default_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(f'secret_key = "{SECRET_KEY}"\n[[rooms]]\nid = "A"\n')
    assert load_settings(path).timezone == "UTC"
