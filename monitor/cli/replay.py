"""`vigil replay RECORDING [--config FILE]`: run a recorded session through the core at full
speed and print one JSON line per alarm transition and phase change (deterministic).

The recording is parsed as it is replayed (a million readings need not sit in memory): plain
reading lines by msgspec (monitor/replay_lines.py), the rest with orjson; the output is held
until the end, so a bad line still prints nothing but the error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from monitor.cli import app
from monitor.config import ConfigError, load_settings
from monitor.core.models import AlarmEvent, PhaseEvent
from monitor.core.recording import RecordingError, event_line, iter_recording
from monitor.core.replay import replay as run_replay
from monitor.replay_lines import plain_reading


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="JSONL recording (one input per line).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML config file (its rules apply).")
    ] = None,
) -> None:
    """Replay a recording against the (configured) rules; print alarm and phase lines."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    out: list[str] = []
    try:
        with recording.open("rb") as fh:
            for event in run_replay(
                iter_recording(fh, orjson.loads, plain_reading),
                policy=settings.rules.to_core(),
                escalation_after_s={
                    str(k): list(v) for k, v in settings.escalation_after_s.items()
                },
            ):
                if isinstance(event, AlarmEvent | PhaseEvent):
                    out.append(event_line(event) + "\n")
    except OSError as exc:
        typer.echo(f"vigil: cannot read {recording}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except RecordingError as exc:
        typer.echo(f"vigil: {recording}: {exc}", err=True)
        raise typer.Exit(2) from None
    sys.stdout.writelines(out)
    sys.stdout.flush()
