"""The clinic's time zone: clock times, ISO 8601 with the offset and the label follow DST."""

from __future__ import annotations

import pytest

from monitor import clinic_time

WINTER = 1_795_395_600.0  # 2026-11-23 01:00:00 UTC
SUMMER = 1_783_814_400.0  # 2026-07-12 00:00:00 UTC


@pytest.mark.parametrize(
    ("t", "zone", "clock", "iso", "label"),
    [
        (WINTER, "Europe/Berlin", "2026-11-23 02:00:00 CET", "2026-11-23T02:00:00.000+01:00",
         "Europe/Berlin (CET, UTC+01:00)"),
        (SUMMER, "Europe/Berlin", "2026-07-12 02:00:00 CEST", "2026-07-12T02:00:00.000+02:00",
         "Europe/Berlin (CEST, UTC+02:00)"),
        (WINTER, "America/New_York", "2026-11-22 20:00:00 EST",
         "2026-11-22T20:00:00.000-05:00", "America/New_York (EST, UTC-05:00)"),
        (WINTER, "UTC", "2026-11-23 01:00:00 UTC", "2026-11-23T01:00:00.000+00:00",
         "UTC (UTC, UTC+00:00)"),
    ],
)  # fmt: skip
def test_clock_iso_label(t: float, zone: str, clock: str, iso: str, label: str) -> None:
    assert clinic_time.clock(t, zone) == clock
    assert clinic_time.iso(t, zone) == iso
    assert clinic_time.label(zone, t) == label


def test_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Atlantis'"):
        clinic_time.zone("Europe/Atlantis")
    assert clinic_time.clock(None, "UTC") == "—"


def test_dates_without_a_zone_are_the_clinics() -> None:
    from monitor.report.query import parse_when

    ny = "America/New_York"
    # 2026-11-22 in New York runs from 05:00 UTC that day to 05:00 UTC the next.
    assert parse_when("2026-11-22", timezone=ny) == 1_795_323_600.0
    assert parse_when("2026-11-22", timezone=ny, end_of_day=True) == 1_795_410_000.0
    assert parse_when("2026-11-22T20:00:00", timezone=ny) == WINTER
    assert parse_when("2026-11-23T01:00:00Z", timezone=ny) == WINTER  # a zone given wins
    # The day DST ends is 25 hours long.
    assert (
        parse_when("2026-11-01", timezone=ny, end_of_day=True)
        - parse_when("2026-11-01", timezone=ny)
        == 25 * 3600
    )
