"""Blocking work off the event loop: the one way every route does it.

`vigil run` serves the API on the asyncio loop that also runs every room's pipeline, the live
stream and the notifier: whatever a route does on that loop, alarms wait for. So a route never
calls blocking code directly (SQLite reads, which first wait for the journal's group commit;
report rendering; argon2; encoding a large JSON body): it awaits Starlette's
`run_in_threadpool(fn, *args)`, which runs `fn` in a worker thread. That is the pool FastAPI
runs plain `def` routes and sync dependencies in (capped, 40 threads), apart from the
runtime's own executor (InfluxDB writes, journal pruning), so a burst of report requests
cannot hold up storage. Large JSON answers are also encoded there (`json_off_loop`).

Thread safety: the journal lends each read its own connection (`Journal._reader`), the user
store opens one per operation and the acknowledge-token store serialises its one connection.
State owned by the loop (rooms, pipelines, the hub) is read on the loop, never in `fn`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

__all__ = ["encode_json", "json_off_loop"]

# Items per json.dumps call: a worker thread holds the GIL for a whole call (the C encoder
# never lets go), so one call for 100,000 rows stops the event loop's thread for ~0.4 s as
# surely as running it there. A chunk of 2,000 takes a few ms.
CHUNK = 2_000


def _dumps(value: Any) -> str:
    # As Starlette's JSONResponse: compact, UTF-8, and NaN refused (it is not JSON).
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode_json(value: Any) -> bytes:
    """`value` as JSON, large lists (also inside dicts) encoded a chunk at a time."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, list) and len(value) > CHUNK:
        parts = (_dumps(value[i : i + CHUNK])[1:-1] for i in range(0, len(value), CHUNK))
        return "[" + ",".join(parts) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    return _dumps(value)


async def json_off_loop(build: Callable[[], Any]) -> Response:
    """Build a large JSON answer and encode it in a worker thread.

    FastAPI validates and encodes a value a route returns on the event loop: for a long
    session's readings (~100,000 rows) that alone stalls the loop for seconds. A response
    object is sent as it is, so it is made in the thread. `build` returns plain JSON types."""

    def work() -> Response:
        return Response(encode_json(build()), media_type="application/json")

    return await run_in_threadpool(work)
