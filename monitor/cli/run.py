"""`vigil run`: start the service (the demo of simulated rooms when no rooms are configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli import app
from monitor.config import ConfigError, load_settings
from monitor.redact import without_credentials


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
        updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        settings = settings.model_copy(update=updates)
        application = create_app(settings)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    shown_host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    typer.echo("Vigil is a secondary alarm system: keep the bedside devices' own alarms on.")
    if settings.demo:
        typer.echo(
            f"No rooms configured: running the demo with simulated rooms "
            f"{', '.join(r.id for r in settings.rooms)}."
        )
    if not settings.demo and not application.state.users.users():
        typer.echo("No staff accounts yet: create one with `vigil users add NAME --role admin`.")
    for username, role, password in application.state.demo_credentials:
        typer.echo(f"Demo login ({role}): {username} / {password}")
    typer.echo(f"Dashboard: http://{shown_host}:{settings.port}/")
    influx = without_credentials(settings.influx_url)  # 1.x basic auth may be in the URL
    typer.echo(f"InfluxDB:  {influx} (database {settings.influx_database})")
    # Open dashboards hold live streams; don't let them delay a stop by more than 2 s
    # (the journal's last window is committed in the app's shutdown, after this).
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
