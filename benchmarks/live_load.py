"""The live benchmark's dashboard load: many /api/stream clients in a process of their own.

`python -m benchmarks.live_load --port P --token T --clients N [--path /api/stream]` keeps N
raw HTTP connections reading the stream (a client the hub cuts off for falling behind
reconnects, as the dashboard does) until its stdin closes, then prints one JSON line: events
and bytes received, reconnects. Raw sockets, no parsing beyond counting: the clients' own
CPU is what the box can spare for them, not a measure of Vigil.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


async def client(port: int, token: str, path: str, stats: dict[str, int]) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats["connect_failures"] += 1
            await asyncio.sleep(1.0)
            continue
        stats["connects"] += 1
        try:
            writer.write(request)
            while data := await reader.read(65536):
                stats["bytes"] += len(data)
                stats["events"] += data.count(b"\ndata:") + data.startswith(b"data:")
        except OSError:
            pass
        finally:
            writer.close()
        await asyncio.sleep(0.5)  # the dashboard's reconnect delay


async def run(port: int, token: str, path: str, n: int) -> dict[str, int]:
    stats = {"connects": 0, "connect_failures": 0, "events": 0, "bytes": 0}
    tasks = [asyncio.create_task(client(port, token, path, stats)) for _ in range(n)]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    stats["reconnects"] = stats["connects"] - n
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--path", default="/api/stream")
    a = ap.parse_args()
    print(json.dumps(asyncio.run(run(a.port, a.token, a.path, a.clients))), flush=True)


if __name__ == "__main__":
    main()
