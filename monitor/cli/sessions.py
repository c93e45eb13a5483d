"""`vigil sessions ...` and `vigil stats`: the audit queries of the API on stdout.

`sessions list` and `stats` print for a person (clock times in the clinic's zone, labelled;
figures rounded) unless `--json` asks for the API's JSON; the other queries print JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli import app
from monitor.cli.report import ConfigOpt, JournalOpt, run_query

sessions_app = typer.Typer(help="Sessions: list them, and a session's timeline, alarms, readings.")
app.add_typer(sessions_app, name="sessions")

FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", help="ISO date or date-time (in the clinic's timezone) or POSIX seconds."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="The API's JSON instead of a table.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Inclusive: a bare date means all of it.")]


def _when(
    value: str | None, name: str, config: Path | None, *, end_of_day: bool = False
) -> float | None:
    from monitor.report.query import parse_when

    if value is None:
        return None
    try:
        return parse_when(value, end_of_day=end_of_day, timezone=_zone(config))
    except ValueError as exc:
        typer.echo(f"vigil: --{name}: {exc}", err=True)
        raise typer.Exit(2) from None


def _zone(config: Path | None) -> str:
    """The clinic's timezone from the config (a bad config stops here, naming the field)."""
    from monitor.config import ConfigError, load_settings

    try:
        return load_settings(config).timezone
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=1, ensure_ascii=False))


def session_table(rows: list[dict[str, Any]], zone: str, now: float) -> str:
    """Sessions as an aligned text table, clock times in `zone` (named in the header)."""
    from monitor import clinic_time

    def at(t: float | None) -> str:
        return clinic_time.local(t, zone).strftime("%Y-%m-%d %H:%M") if t is not None else "—"

    def who(t: float | None, by: str | None) -> str:
        return f"{at(t)} {by or '?'}" if t is not None else "—"

    head = ["session", "room", "patient", "started (by)", "dose (by)", "ended (by)"]
    table = [
        [
            s["id"],
            s["room"],
            s["patient"] or "—",
            who(s["started"], s["started_by"]),
            who(s["dose_t"], s["dosed_by"]),
            who(s["ended"], s["ended_by"]) if s["ended"] is not None else "still open",
        ]
        for s in rows
    ]
    widths = [max(len(str(r[i])) for r in [head, *table]) for i in range(len(head))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *table]
    ]
    lines.append(f"{len(table)} session(s); times in {clinic_time.label(zone, now)}")
    return "\n".join(lines)


def stats_text(stats: dict[str, Any]) -> str:
    """Clinic figures for a person: rounded, with units."""

    def secs(s: float | None) -> str:
        if s is None:
            return "—"
        return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"

    per = stats["alarms_per_session"]
    return "\n".join(
        [
            f"sessions                      {stats['sessions']}",
            f"alarms                        {stats['alarms']}",
            f"alarms per session            {'—' if per is None else f'{per:.1f}'}",
            f"acknowledged                  {stats['acknowledged']} of {stats['alarms']}",
            f"median time to acknowledge    {secs(stats['median_time_to_ack_s'])}",
            f"sessions with a high alarm    {stats['sessions_with_high_priority']}",
        ]
    )


def rounded(stats: dict[str, Any]) -> dict[str, Any]:
    """Figures to one decimal (2.3333333 alarms per session reads as 2.3)."""
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in stats.items()}


@sessions_app.command("list")
def list_sessions(
    room: Annotated[str | None, typer.Option(help="Only this room.")] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Sessions started in the range, oldest first (times in the clinic's timezone)."""
    t0, t1 = _when(start, "from", config), _when(end, "to", config, end_of_day=True)

    async def ask(q: Any) -> tuple[list[dict[str, Any]], str, float]:
        return [s.to_dict() for s in q.sessions(room, t0, t1)], q.timezone, q.clock()

    rows, zone, now = run_query(config, journal, ask)
    if as_json:
        _print(rows)
    else:
        typer.echo(session_table(rows, zone, now))


@sessions_app.command()
def timeline(session: str, config: ConfigOpt = None, journal: JournalOpt = None) -> None:
    """Controls, phases, alarm transitions, notes and notifications in time order."""
    _print(run_query(config, journal, lambda q: q.timeline(session)))


@sessions_app.command()
def alarms(session: str, config: ConfigOpt = None, journal: JournalOpt = None) -> None:
    """Alarm episodes with duration, time to acknowledge and who acknowledged."""

    async def ask(q: Any) -> list[dict[str, Any]]:
        rec = await q.record(session, with_readings=False)
        return [e.to_dict() for e in rec.episodes]

    _print(run_query(config, journal, ask))


@sessions_app.command()
def readings(
    session: str,
    start: FromOpt = None,
    end: ToOpt = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel (spo2, ...).")] = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Readings of the session in a window (the whole session by default)."""
    t0, t1 = _when(start, "from", config), _when(end, "to", config, end_of_day=True)

    async def ask(q: Any) -> list[dict[str, Any]]:
        s = q.session(session)
        a, b = q.window(s)
        rows, _ = await q.readings(s.room, max(a, t0 or a), min(b, t1 or b))
        return [
            {f: getattr(r, f) for f in r.__slots__}
            for r in rows
            if channel is None or r.channel == channel
        ]

    _print(run_query(config, journal, ask))


@app.command()
def stats(
    start: FromOpt = None,
    end: ToOpt = None,
    room: Annotated[str | None, typer.Option(help="Only this room.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Clinic figures: alarms per session, median time to acknowledge, sessions with
    high-priority alarms (rounded)."""
    t0, t1 = _when(start, "from", config), _when(end, "to", config, end_of_day=True)

    async def ask(q: Any) -> dict[str, Any]:
        return (await q.stats(t0, t1, room)).to_dict()  # type: ignore[no-any-return]

    figures = rounded(run_query(config, journal, ask))
    typer.echo(json.dumps(figures, indent=1) if as_json else stats_text(figures))
