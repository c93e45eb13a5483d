"""The `vigil` command. Each subcommand lives in its own module and registers on `app`."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="vigil",
    help="Vigil: in-session safety monitor for KAP. A secondary alarm system; it does not "
    "replace the bedside devices' own alarms.",
    no_args_is_help=True,
    add_completion=False,
)

# Subcommand modules register themselves on `app` when imported.
from monitor.cli import audit as _audit  # noqa: E402,F401
from monitor.cli import decode as _decode  # noqa: E402,F401
from monitor.cli import devices as _devices  # noqa: E402,F401
from monitor.cli import notify as _notify  # noqa: E402,F401
from monitor.cli import replay as _replay  # noqa: E402,F401
from monitor.cli import report as _report  # noqa: E402,F401
from monitor.cli import run as _run  # noqa: E402,F401
from monitor.cli import sessions as _sessions  # noqa: E402,F401
from monitor.cli import simulate as _simulate  # noqa: E402,F401
from monitor.cli import users as _users  # noqa: E402,F401


def main() -> None:
    app()
