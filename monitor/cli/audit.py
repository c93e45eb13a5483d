"""`vigil audit verify`: walk the journal's hash chain; name the first bad entry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from monitor.cli import app
from monitor.cli.report import ConfigOpt, JournalOpt, settings_for

audit_app = typer.Typer(help="The audit trail: check that no entry was edited or deleted.")
app.add_typer(audit_app, name="audit")


@audit_app.command()
def verify(config: ConfigOpt = None, journal: JournalOpt = None) -> None:
    """Check every audit entry's hash and link; exit 1 naming the first entry that fails."""
    from monitor.store.journal import Journal

    settings = settings_for(config, journal)
    j = Journal(Path(settings.journal_path), readonly=True)
    try:
        result = j.verify()
    finally:
        j.close()
    if result.ok:
        typer.echo(f"audit chain intact: {result.checked} entries ({settings.journal_path})")
        return
    bad = result.bad
    when = datetime.fromtimestamp(bad.t, UTC).isoformat() if bad is not None else "?"
    kind = bad.kind if bad is not None else "?"
    typer.echo(
        f"audit chain BROKEN at entry {result.bad_id} ({when}, {kind}): {result.reason}; "
        f"{result.checked} entries before it are intact",
        err=True,
    )
    raise typer.Exit(1)
