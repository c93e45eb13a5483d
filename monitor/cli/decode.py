"""`vigil decode`: decode a device's output offline and print one JSON line per reading.

Serial protocols read raw bytes (a capture file, or `-` for stdin, e.g. piped from a port);
BLE characteristics read hex, one notification per line (the registry's `input` says
which). A frame the decoder rejects prints a line with an "error" key: field engineers use
this to check a device's output.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from monitor.cli import app


def _reading_line(r: Any, where: dict[str, int]) -> dict[str, Any]:
    d = {
        "channel": str(r.channel),
        "value": r.value,
        "unit": r.unit,
        "status": sorted(r.status),
    }
    if r.device_time is not None:
        d["device_time"] = r.device_time
    if r.original_unit is not None:
        d["original_unit"] = r.original_unit
    d.update(where)
    return d


def _errors(
    before: Counter[str], after: Counter[str], where: dict[str, int]
) -> Iterator[dict[str, Any]]:
    for reason, n in after.items():
        grown = n - before.get(reason, 0)
        if grown > 0:
            yield {"error": reason, "count": grown, **where}


def _byte_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    read = getattr(stream, "read1", stream.read)
    while chunk := read(65536):
        yield chunk


def decode_stream(protocol: str, stream: IO[bytes], out: IO[str]) -> tuple[int, Counter[str]]:
    """Decode everything in `stream`; returns (frames, dropped). Pure apart from the two files."""
    from drivers.registry import protocol_info

    info = protocol_info(protocol)
    decoder = info.decoder(source=protocol)
    # Consecutive errors of one reason (a run of garbage bytes) print as one line.
    pending: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            out.write(json.dumps(pending) + "\n")
            pending = None

    def emit(obj: dict[str, Any]) -> None:
        nonlocal pending
        if "error" in obj:
            if pending is not None and pending["error"] == obj["error"]:
                pending["count"] += obj["count"]
                return
            flush()
            pending = dict(obj)
            return
        flush()
        out.write(json.dumps(obj) + "\n")

    if info.input == "hex-lines":
        for lineno, raw in enumerate(stream, start=1):
            text = raw.decode("ascii", "replace").split("#", 1)[0]
            text = text.replace(" ", "").replace(":", "").replace("-", "").strip()
            if not text:
                continue
            where = {"line": lineno}
            try:
                record = bytes.fromhex(text)
            except ValueError:
                emit({"error": "bad_hex", "count": 1, **where})
                continue
            before = Counter(decoder.dropped)
            for r in decoder.feed(record, 0.0):
                emit(_reading_line(r, where))
            for e in _errors(before, decoder.dropped, where):
                emit(e)
    else:
        offset = 0
        for chunk in _byte_chunks(stream):
            # One byte at a time so each reading and error carries the exact offset of the
            # byte that completed (or broke) its frame.
            for i in range(len(chunk)):
                before = Counter(decoder.dropped) if decoder.dropped else Counter()
                readings = decoder.feed(chunk[i : i + 1], 0.0)
                where = {"offset": offset}
                for r in readings:
                    emit(_reading_line(r, where))
                if decoder.dropped != before:
                    for e in _errors(before, decoder.dropped, where):
                        emit(e)
                offset += 1
            out.flush()
    flush()
    out.flush()
    return decoder.frames, decoder.dropped


@app.command()
def decode(
    source: Annotated[
        str | None, typer.Argument(help="Capture file, or '-' for stdin.", show_default=False)
    ] = None,
    protocol: Annotated[str | None, typer.Option(help="Protocol id (see --list).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the protocol ids.")] = False,
) -> None:
    """Decode a device's output: one JSON line per reading, an "error" line per bad frame."""
    from drivers.registry import PROTOCOLS, protocol_info

    if list_:
        for pid, info in sorted(PROTOCOLS.items()):
            typer.echo(f"{pid:14} {info.transport:6} {info.input:9} {info.description}")
        return
    if protocol is None:
        typer.echo("vigil: give --protocol ID (see vigil decode --list)", err=True)
        raise typer.Exit(2)
    try:
        protocol_info(protocol)
    except ValueError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    if source is None or source == "-":
        frames, dropped = decode_stream(protocol, sys.stdin.buffer, sys.stdout)
    else:
        path = Path(source)
        if not path.is_file():
            typer.echo(f"vigil: cannot read {source}: not a file", err=True)
            raise typer.Exit(2)
        with path.open("rb") as fh:
            frames, dropped = decode_stream(protocol, fh, sys.stdout)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())) or "none"
    typer.echo(f"{frames} frames decoded; dropped: {summary}", err=True)
