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
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli import app

if TYPE_CHECKING:
    from drivers.quality import QualityGated


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


def gated_decoder(protocol: str) -> QualityGated:
    """The protocol's decoder behind the stream-quality gate, as `vigil decode` uses it: it
    reports a garbled stream (and marks what it decodes meanwhile) but, unlike live use,
    does not hold back the first frames of a capture."""
    from drivers.quality import QualityGated
    from drivers.registry import protocol_info

    info = protocol_info(protocol)
    policy = replace(info.quality_policy, settle_s=0.0, settle_frames=0)
    return QualityGated(info.decoder(source=protocol), policy)


def decode_stream(
    protocol: str, stream: IO[bytes], out: IO[str], *, decoder: QualityGated | None = None
) -> tuple[int, Counter[str]]:
    """Decode everything in `stream`; returns (frames, dropped). Pure apart from the two files.

    Time for the quality gate comes from the position: serial bytes as if back to back at
    the protocol's line rate, BLE records at the protocol's frame rate. A line
    {"stream": "garbled" | "clean", ...} marks each change of the gate's verdict."""
    from drivers.registry import protocol_info

    info = protocol_info(protocol)
    gate = decoder if decoder is not None else gated_decoder(protocol)
    byte_s = (10 + (info.parity in "OE")) / (info.baudrate or 9600)
    record_s = 1.0 / info.frame_rate_hz
    garbled = False
    # Consecutive errors of one reason (a run of garbage bytes) print as one line.
    pending: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            out.write(json.dumps(pending) + "\n")
            pending = None

    def verdict(where: dict[str, int]) -> None:
        nonlocal garbled
        if gate.garbled == garbled:
            return
        garbled = gate.garbled
        line = {"stream": "garbled", "detail": gate.quality.detail} if garbled else {}
        emit({**(line or {"stream": "clean"}), **where})

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
            before = Counter(gate.dropped)
            for r in gate.feed(record, (lineno - 1) * record_s):
                emit(_reading_line(r, where))
            for e in _errors(before, gate.dropped, where):
                emit(e)
            verdict(where)
    else:
        offset = 0
        for chunk in _byte_chunks(stream):
            # One byte at a time so each reading and error carries the exact offset of the
            # byte that completed (or broke) its frame.
            for i in range(len(chunk)):
                before = Counter(gate.dropped) if gate.dropped else Counter()
                readings = gate.feed(chunk[i : i + 1], offset * byte_s)
                where = {"offset": offset}
                for r in readings:
                    emit(_reading_line(r, where))
                if gate.dropped != before:
                    for e in _errors(before, gate.dropped, where):
                        emit(e)
                verdict(where)
                offset += 1
            out.flush()
    flush()
    out.flush()
    return gate.frames, gate.dropped


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
    gate = gated_decoder(protocol)
    if source is None or source == "-":
        frames, dropped = decode_stream(protocol, sys.stdin.buffer, sys.stdout, decoder=gate)
    else:
        path = Path(source)
        if not path.is_file():
            typer.echo(f"vigil: cannot read {source}: not a file", err=True)
            raise typer.Exit(2)
        with path.open("rb") as fh:
            frames, dropped = decode_stream(protocol, fh, sys.stdout, decoder=gate)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())) or "none"
    held = gate.held.get("garbled", 0)
    stream = f"garbled ({held} readings marked garbled)" if held else "clean"
    typer.echo(f"{frames} frames decoded; dropped: {summary}; stream: {stream}", err=True)
