"""`vigil report SESSION`: a session report (HTML, PDF, CSV, FHIR, recording) from the journal
and InfluxDB; `vigil sessions`: list sessions."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from monitor.cli import app
from monitor.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.report.query import SessionQueries

PROGRESS_FROM_READINGS = 2000  # smaller exports finish before a bar would be seen

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file.", envvar="VIGIL_CONFIG")
]
JournalOpt = Annotated[
    Path | None, typer.Option("--journal", help="Journal file (default: from the config).")
]


T = TypeVar("T")


def run_query(
    config: Path | None, journal: Path | None, ask: Callable[[SessionQueries], Awaitable[T]]
) -> T:
    """Open the journal (read-only) and InfluxDB from the config, run `ask`, close both."""
    from monitor.report.query import SessionNotFound, SessionQueries
    from monitor.store.influx import InfluxStore
    from monitor.store.journal import Journal

    settings = settings_for(config, journal)
    j = Journal(settings.journal_path, readonly=True)
    store = InfluxStore(
        settings.influx_url,
        settings.influx_database,
        api=settings.influx_api,
        token=settings.influx_token,
        org=settings.influx_org,
        bucket=settings.influx_bucket,
    )

    async def go() -> T:
        try:
            queries = SessionQueries(
                j, store, timezone=settings.timezone, paper=settings.report_paper
            )
            return await ask(queries)
        finally:
            await store.aclose()

    try:
        return asyncio.run(go())
    except SessionNotFound as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        j.close()


def settings_for(config: Path | None, journal: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    if journal is not None:
        settings = settings.model_copy(update={"journal_path": journal})
    if not settings.journal_path.exists():
        typer.echo(f"vigil: no journal at {settings.journal_path}", err=True)
        raise typer.Exit(2)
    return settings


@app.command()
def report(
    session: Annotated[str, typer.Argument(help="Session id (see GET /api/sessions).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="html, pdf, csv, fhir or recording.")
    ] = "html",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file ('-' for stdout; default: a file "
            "named after the session in the current directory).",
        ),
    ] = None,
    config: ConfigOpt = None,
    journal: JournalOpt = None,
) -> None:
    """Write a session report: plots, alarms with time to acknowledge, notes, exports."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from monitor import report as reports

    if format not in reports.FORMATS:
        typer.echo(
            f"vigil: unknown format {format!r}; use one of {', '.join(reports.FORMATS)}", err=True
        )
        raise typer.Exit(2)
    from monitor.auth.audit import cli_actor

    rec = run_query(config, journal, lambda q: q.record(session, generated_by=cli_actor()))
    if rec.source == "journal":
        typer.echo("vigil: InfluxDB did not answer; the report comes from the journal", err=True)

    console = Console(stderr=True)
    if console.is_terminal and len(rec.readings) >= PROGRESS_FROM_READINGS:
        with Progress(
            TextColumn(f"{format} report {session}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} readings"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("export", total=len(rec.readings))
            body = reports.render(rec, format, lambda n: progress.advance(task, n))
    else:
        body = reports.render(rec, format)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        return
    path = output or Path(reports.filename(rec, format))
    path.write_bytes(body)
    typer.echo(
        f"{path} ({len(body)} bytes, {len(rec.readings)} readings, {len(rec.episodes)} alarms)"
    )
