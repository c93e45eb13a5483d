"""`vigil notify test CONTACT`: send a test page to every channel of one contact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli import app
from monitor.config import ConfigError, load_settings

notify_app = typer.Typer(help="Phone paging (alerts).", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("test")
def test(
    contact: Annotated[str, typer.Argument(help="A contact's name (alerts.contacts).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML config file.", envvar="VIGIL_CONFIG")
    ] = None,
) -> None:
    """Send a test page; exit 1 when any of the contact's channels could not be reached."""
    from alerts.message import channel_name
    from alerts.notifier import send_test

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        results = asyncio.run(send_test(settings.alerts, contact))
    except KeyError as exc:
        typer.echo(f"vigil: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    for channel, ok, why in results:
        typer.echo(
            f"{contact} via {channel_name(channel)}: {'delivered' if ok else 'FAILED: ' + why}"
        )
    if not all(ok for _, ok, _ in results):
        raise typer.Exit(1)
