"""`vigil run`: start the service (the demo of simulated rooms when no rooms are configured)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli import app
from monitor.config import ConfigError, load_settings
from monitor.fd_limit import raise_open_files_limit
from monitor.redact import without_credentials

#: Open dashboards' streams end at once on a stop; this bounds anything else still running
#: (the journal's last window is committed in the app's shutdown, after this).
GRACEFUL_S = 2


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
    from monitor.api.server import StreamEndingServer
    from monitor.watchdog import SystemdNotify

    try:
        settings = load_settings(config)
        updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        settings = settings.model_copy(update=updates)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    if fd_warning := raise_open_files_limit(sum(len(r.devices) for r in settings.rooms)):
        typer.echo(f"vigil: {fd_warning}", err=True)
    # Before anything is printed or started: a port held by another server would otherwise
    # be announced as our dashboard.
    sock = listen_socket(settings.host, settings.port)
    try:
        application = create_app(settings, config)
    except ConfigError as exc:
        sock.close()
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    # Vigil's own warnings (a device that cannot be opened, storage trouble) on the console,
    # with a time; other libraries stay at warnings.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("monitor").setLevel(logging.INFO)
    server = StreamEndingServer(
        uvicorn.Config(
            application,
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_S,
        ),
        application.state.vigil.hub,
        # Only when systemd runs it (NOTIFY_SOCKET): deploy/vigil.service.
        SystemdNotify(status=application.state.vigil.status_line),
    )
    server.catch_stop_signals()  # before "Dashboard:": a stop asked from then on is kept
    shown_host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    typer.echo("Vigil is a secondary alarm system: keep the bedside devices' own alarms on.")
    if settings.demo:
        typer.echo(
            f"No rooms configured: running the demo with simulated rooms "
            f"{', '.join(r.id for r in settings.rooms)}."
        )
    if not settings.demo and not application.state.users.users():
        with_config = f" --config {config}" if config is not None else ""
        typer.echo(
            "No staff accounts yet: create one with "
            f"`vigil users add NAME --role admin{with_config}`."
        )
    for username, role, password in application.state.demo_credentials:
        typer.echo(f"Demo login ({role}): {username} / {password}")
    typer.echo(f"Dashboard: http://{shown_host}:{sock.getsockname()[1]}/")
    influx = without_credentials(settings.influx_url)  # 1.x basic auth may be in the URL
    typer.echo(f"InfluxDB:  {influx} (database {settings.influx_database})")
    # Once stopped, uvicorn raises again the signal it handled; it comes back to the server's
    # own handler (catch_stop_signals), so a Ctrl-C or systemd's stop ends with exit 0.
    server.run(sockets=[sock])


def listen_socket(host: str, port: int) -> socket.socket:
    """The bound listening socket, or exit 2 with one line naming the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        typer.echo(
            f"vigil: cannot listen on {host}:{port}: {exc.strerror or exc} (another program, "
            "or another Vigil, may be using it); choose another port with --port N or VIGIL_PORT",
            err=True,
        )
        raise typer.Exit(2) from None
    return sock
