"""`vigil run`: start the service (the demo of simulated rooms when no rooms are configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli import app
from monitor.config import ConfigError, load_settings


@app.command()
def run(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML config file.", envvar="VIGIL_CONFIG")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default 8000).")] = None,
) -> None:
    """Run Vigil: drivers, room pipelines, storage, the API and the dashboard."""
    import uvicorn

    from monitor.api.app import create_app

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    shown_host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    typer.echo("Vigil is a secondary alarm system: keep the bedside devices' own alarms on.")
    if settings.demo:
        typer.echo(
            f"No rooms configured: running the demo with simulated rooms "
            f"{', '.join(r.id for r in settings.rooms)}."
        )
    typer.echo(f"Dashboard: http://{shown_host}:{settings.port}/")
    typer.echo(f"InfluxDB:  {settings.influx_url} (database {settings.influx_database})")
    try:
        api = create_app(settings)
    except ConfigError as exc:  # e.g. a journal_path that cannot be opened
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(api, host=settings.host, port=settings.port, log_level="warning")
