"""Writes line protocol to InfluxDB in batches and runs InfluxQL queries.

API 1 (default): the 1.x HTTP API (`/write`, `/query`), served natively by 1.x and as the
compatibility API by 2.x/3.x. API 2: influxdb-client's synchronous write (never its
background batching, which drops data silently on errors). Queries are InfluxQL either way.
A failed batch stays queued and is retried; alarms never wait on storage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

import httpx

from monitor.redact import scrub, without_credentials
from monitor.store.lineproto import site_filter, with_tag_all

log = logging.getLogger(__name__)

MAX_BATCH_LINES = 5000
MAX_BUFFER_LINES = 2_000_000  # ~ weeks of a clinic's data; the journal will hold the rest


class InfluxStore:
    def __init__(
        self,
        url: str,
        database: str,
        *,
        api: int = 1,
        token: str = "",
        org: str = "",
        bucket: str = "",
        batch_s: float = 1.0,
        site: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.api = api
        self.token = token
        self.org = org
        self.bucket = bucket or database
        self.batch_s = batch_s
        # Tagged on every point as it leaves (journal, memory queue, paging records alike);
        # "" (tests, tools) writes untagged points.
        self.site = site
        self._pending: deque[str] = deque()
        self.status = "starting"
        self.last_error = ""
        self.last_ok: float | None = None
        self.written = 0
        self.overflow_dropped = 0
        headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10.0)

    # -- writing ----------------------------------------------------------------------------
    def enqueue(self, line: str) -> None:
        if len(self._pending) >= MAX_BUFFER_LINES:
            self._pending.popleft()
            self.overflow_dropped += 1
        self._pending.append(line)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def ensure_database(self) -> None:
        if self.api == 1:
            r = await self._http.post("/query", data={"q": f'CREATE DATABASE "{self.database}"'})
            r.raise_for_status()

    async def flush(self) -> bool:
        """Write everything pending; False (and the lines kept) when InfluxDB refuses."""
        while self._pending:
            batch = [self._pending[i] for i in range(min(MAX_BATCH_LINES, len(self._pending)))]
            try:
                await self._write(batch)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the data queued
                self.status = "degraded"
                self.last_error = f"{type(exc).__name__}: {exc}"
                return False
            for _ in batch:
                self._pending.popleft()
            self.written += len(batch)
        self.status = "ok"
        self.last_error = ""
        self.last_ok = time.time()
        return True

    def prepare(self, lines: list[str]) -> list[str]:
        """The lines as they are sent: with this site's tag."""
        if not self.site:
            return lines
        return with_tag_all(lines, "site", self.site)

    async def write(self, lines: list[str], *, prepared: bool = False) -> None:
        """Write these lines now (the journal forwarder's path; `prepared`: they went through
        `prepare()` already); raise when InfluxDB refuses."""
        try:
            await self._write(lines, prepared=prepared)
        except Exception as exc:
            self.status = "degraded"
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise
        self.written += len(lines)
        self.status = "ok"
        self.last_error = ""
        self.last_ok = time.time()

    async def _write(self, batch: list[str], *, prepared: bool = False) -> None:
        if not prepared:
            batch = self.prepare(batch)
        body = "\n".join(batch).encode()
        if self.api == 1:
            r = await self._http.post(
                "/write", params={"db": self.database, "precision": "ns"}, content=body
            )
            if r.status_code == 404 and "database not found" in r.text:
                await self.ensure_database()
                r = await self._http.post(
                    "/write", params={"db": self.database, "precision": "ns"}, content=body
                )
            if r.status_code >= 300:
                raise RuntimeError(f"HTTP {r.status_code}: {r.text.strip()[:200]}")
        else:
            await asyncio.to_thread(self._write_v2, body.decode())

    def _write_v2(self, body: str) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        with InfluxDBClient(url=self.url, token=self.token, org=self.org) as client:
            client.write_api(write_options=SYNCHRONOUS).write(
                bucket=self.bucket, org=self.org, record=body, write_precision="ns"
            )

    async def run(self) -> None:
        """Flush forever, every batch interval."""
        try:
            await self.ensure_database()
        except Exception as exc:  # noqa: BLE001 - the flush loop reports and retries
            self.last_error = f"{type(exc).__name__}: {exc}"
        while True:
            await self.flush()
            await asyncio.sleep(self.batch_s)

    # -- reading ----------------------------------------------------------------------------
    def site_condition(self) -> str:
        """InfluxQL condition selecting this site's points (every point without a site)."""
        return site_filter(self.site) if self.site else "(site = '' OR site != '')"

    async def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL; return rows as dicts with the series' tags merged in."""
        r = await self._http.get(
            "/query", params={"db": self.database, "q": influxql, "epoch": "ns"}
        )
        r.raise_for_status()
        # Decoding a page of a long session (10,000 rows) takes tens of ms: in a thread, so
        # the event loop that runs the rooms' pipelines never waits for it.
        return await asyncio.to_thread(_rows, r.content)

    async def aclose(self) -> None:
        await self._http.aclose()

    def health(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "url": without_credentials(self.url),  # public: /api/health
            "api": self.api,
            "pending": self.pending,
            "written": self.written,
            "last_ok": self.last_ok,
            "last_error": scrub(self.last_error, self.url),
        }


def _rows(body: bytes) -> list[dict[str, Any]]:
    """An InfluxQL answer as rows: dicts with the series' tags merged in."""
    rows: list[dict[str, Any]] = []
    for result in json.loads(body).get("results", []):
        if "error" in result:
            raise RuntimeError(result["error"])
        for series in result.get("series", []):
            tags = series.get("tags", {})
            for values in series.get("values", []):
                row = dict(zip(series["columns"], values, strict=True))
                row.update(tags)
                rows.append(row)
    return rows
