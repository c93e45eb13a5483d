"""`vigil sessions ...` and `vigil stats`: the audit queries of the API, as JSON on stdout."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from monitor.cli import app
from monitor.cli.report import ConfigOpt, JournalOpt, run_query

sessions_app = typer.Typer(help="Sessions: list them, and a session's timeline, alarms, readings.")
app.add_typer(sessions_app, name="sessions")

FromOpt = Annotated[
    str | None, typer.Option("--from", help="ISO date or date-time (UTC) or POSIX seconds.")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Inclusive: a bare date means all of it.")]


def _when(value: str | None, name: str, *, end_of_day: bool = False) -> float | None:
    from monitor.report.query import parse_when

    if value is None:
        return None
    try:
        return parse_when(value, end_of_day=end_of_day)
    except ValueError as exc:
        typer.echo(f"vigil: --{name}: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=1, ensure_ascii=False))


@sessions_app.command("list")
def list_sessions(
    room: Annotated[str | None, typer.Option(help="Only this room.")] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Sessions started in the range, oldest first."""
    t0, t1 = _when(start, "from"), _when(end, "to", end_of_day=True)

    async def ask(q: Any) -> list[dict[str, Any]]:
        return [s.to_dict() for s in q.sessions(room, t0, t1)]

    _print(run_query(config, journal, ask))


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
    t0, t1 = _when(start, "from"), _when(end, "to", end_of_day=True)

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
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Clinic figures: alarms per session, median time to acknowledge, sessions with
    high-priority alarms."""
    t0, t1 = _when(start, "from"), _when(end, "to", end_of_day=True)

    async def ask(q: Any) -> dict[str, Any]:
        return (await q.stats(t0, t1, room)).to_dict()  # type: ignore[no-any-return]

    _print(run_query(config, journal, ask))
