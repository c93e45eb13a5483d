"""`vigil users`: staff accounts (add, list, token, tokens, revoke-token, passwd, role, remove)."""

from __future__ import annotations

import getpass
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from monitor.auth import audit, tokens
from monitor.auth.setup import open_store
from monitor.auth.store import ROLES, AccountError, UserStore
from monitor.cli import app
from monitor.config import ConfigError, load_settings

users_app = typer.Typer(
    help="Staff accounts: roles " + " < ".join(ROLES) + ".", no_args_is_help=True
)
app.add_typer(users_app, name="users")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file.", envvar="VIGIL_CONFIG")
]


def _store(config: Path | None) -> UserStore:
    try:
        settings = load_settings(config)
        if settings.demo:
            # Accounts need the secret key and users_db, not rooms: a config still without
            # rooms, or VIGIL_SECRET_KEY alone, manages the accounts a configured Vigil uses
            # (the demo makes its own accounts at start, in another database).
            if not settings.secret_key:
                raise ConfigError(
                    "secret_key is not set: pass the configuration Vigil runs with, e.g. "
                    "`vigil users ... --config vigil.toml` (or set VIGIL_CONFIG or "
                    "VIGIL_SECRET_KEY)"
                )
            settings = settings.model_copy(update={"demo": False})
        return open_store(settings)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None


def _audit(config: Path | None, action: str, **details: object) -> None:
    """Record the change in the journal's audit trail (the running app's journal file)."""
    from monitor.store.journal import Journal

    journal = Journal(load_settings(config).journal_path)
    try:
        if audit.record(journal, action, audit.cli_actor(), via="cli", **details) is None:
            typer.echo(f"vigil: warning: not audited: {journal.last_error}", err=True)
    finally:
        journal.close()


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        typer.echo("vigil: the passwords differ", err=True)
        raise typer.Exit(1)
    return first


def _fail(exc: AccountError) -> typer.Exit:
    typer.echo(f"vigil: {exc}", err=True)
    return typer.Exit(1)


@users_app.command("add")
def add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer, nurse, clinician or admin.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Create a staff account."""
    store = _store(config)
    try:
        store.add_user(name, role, _password(password_stdin))
    except AccountError as exc:
        raise _fail(exc) from None
    _audit(config, audit.USER_ADDED, username=name, role=role)
    typer.echo(f"added {name} ({role})")


@users_app.command("passwd")
def passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Set a staff account's password."""
    store = _store(config)
    try:
        store.set_password(name, _password(password_stdin))
    except AccountError as exc:
        raise _fail(exc) from None
    _audit(config, audit.PASSWORD_CHANGED, username=name)
    typer.echo(f"password of {name} changed")


@users_app.command("role")
def role(name: str, new_role: str, config: ConfigOpt = None) -> None:
    """Change a staff account's role."""
    store = _store(config)
    before = store.get(name)
    try:
        store.set_role(name, new_role)
    except AccountError as exc:
        raise _fail(exc) from None
    _audit(
        config,
        audit.ROLE_CHANGED,
        username=name,
        role=new_role,
        was=before.role if before else None,
    )
    typer.echo(f"{name} is now {new_role}")


@users_app.command("remove")
def remove(name: str, config: ConfigOpt = None) -> None:
    """Delete a staff account with its tokens and sessions."""
    store = _store(config)
    before = store.get(name)
    try:
        store.remove_user(name)
    except AccountError as exc:
        raise _fail(exc) from None
    _audit(config, audit.USER_REMOVED, username=name, role=before.role if before else None)
    typer.echo(f"removed {name}")


@users_app.command("list")
def list_users(config: ConfigOpt = None) -> None:
    """List staff accounts."""
    for staff in _store(config).users():
        typer.echo(f"{staff.username}\t{staff.role}")


@users_app.command("token")
def token(
    name: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    days: Annotated[
        int, typer.Option(help=f"Days until it expires (1 to {tokens.MAX_DAYS}).")
    ] = tokens.DEFAULT_DAYS,
    config: ConfigOpt = None,
) -> None:
    """Create an API token acting as NAME (printed once; send as `Authorization: Bearer`).

    Its id is the part after `vgl_` up to the next `_`; `vigil users tokens NAME` lists it."""
    try:
        made = _store(config).issue_token(name, label, days)
    except AccountError as exc:
        raise _fail(exc) from None
    typer.echo(made.secret)
    _audit(
        config,
        audit.TOKEN_CREATED,
        username=name,
        label=label,
        token_id=made.info.id,
        expires=made.info.expires_t,
    )


def _when(t: float | None) -> str:
    return "-" if t is None else tokens.utc(t)


@users_app.command("tokens")
def list_tokens(name: str, config: ConfigOpt = None) -> None:
    """List NAME's API tokens: id, state, expiry, last use (never the secrets)."""
    try:
        infos = _store(config).user_tokens(name)
    except AccountError as exc:
        raise _fail(exc) from None
    now = time.time()
    typer.echo("id\tstate\tlabel\tcreated\texpires\tlast used\trevoked by")
    for i in infos:
        revoked = f"{i.revoked_by} at {tokens.utc(i.revoked_t)}" if i.revoked_t else "-"
        typer.echo(
            f"{i.id}\t{i.state(now)}\t{i.label or '-'}\t{_when(i.created_t)}\t"
            f"{_when(i.expires_t)}\t{_when(i.last_used_t)}\t{revoked}"
        )


@users_app.command("revoke-token")
def revoke_token(name: str, token_id: str, config: ConfigOpt = None) -> None:
    """Revoke NAME's API token TOKEN_ID at once (the account and its other tokens stay)."""
    actor = audit.cli_actor()
    try:
        info = _store(config).revoke_token(name, token_id, actor, time.time())
    except AccountError as exc:
        raise _fail(exc) from None
    _audit(config, audit.TOKEN_REVOKED, username=name, token_id=info.id, label=info.label)
    typer.echo(f"revoked token {info.id} of {name}")
