"""The `vigil` command. Each subcommand lives in its own module and registers on `app`.

`vigil X` imports only X's module: `vigil replay` need not pay for the web app, the
store and the report renderer before its first line (~0.3 s). `vigil`, `vigil --help`
and any name not in COMMANDS import them all, so the help lists every subcommand, and
`from monitor.cli import app` (tests) gets the complete app too.
"""

from __future__ import annotations

import importlib
import sys

import typer

_app = typer.Typer(
    name="vigil",
    help="Vigil: in-session safety monitor for KAP. A secondary alarm system; it does not "
    "replace the bedside devices' own alarms.",
    no_args_is_help=True,
    add_completion=False,
)

#: Each subcommand (or command group) and the module that registers it; tests check this
#: against the complete app, so a new subcommand cannot be left out.
COMMANDS: dict[str, str] = {
    "audit": "audit",
    "decode": "decode",
    "devices": "devices",
    "notify": "notify",
    "replay": "replay",
    "report": "report",
    "run": "run",
    "sessions": "sessions",
    "stats": "sessions",
    "simulate": "simulate",
    "users": "users",
}
_loading = False


@_app.callback()
def _vigil() -> None:
    # A callback keeps `app` a group when only one subcommand module is loaded (typer
    # would otherwise run that command for any arguments).
    pass


def _load(modules: set[str]) -> typer.Typer:
    global _loading
    _loading = True  # the modules' own `from monitor.cli import app` gets the bare app
    try:
        for module in dict.fromkeys(COMMANDS.values()):  # in order: the help's order
            if module not in modules:
                continue
            importlib.import_module(f"monitor.cli.{module}")
    finally:
        _loading = False
    return _app


def __getattr__(name: str) -> typer.Typer:
    """`app`: complete (every subcommand module imported) unless a module is asking."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _loading:
        return _app
    globals()["app"] = _load(set(COMMANDS.values()))
    return _app


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else None
    module = COMMANDS.get(command) if command is not None else None
    _load({module} if module is not None else set(COMMANDS.values()))()
