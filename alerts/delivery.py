"""Delivery: the pages handed over, the tasks that send them, retries with backoff.

Pages are sent from an event loop of their own (alerts/paging_thread.py), so a main loop
busy with hundreds of dashboards cannot hold a page back. `put` (on the main loop) hands a
delivery over; what a delivery reports (its records, a tier reached or not) is handed back
to the main loop, where the journal, the stream and the rooms live. Pushover pages are sent
by their receipts' owner on the main loop (alerts/pushover_receipts.py).

Each delivery runs as its own task, started as it is put (so a dead channel's
timeouts and backoff never hold up other pages), with at most `workers` sends in flight,
retrying each URL with exponential backoff. A page whose alarm was acknowledged or ended
while it waited is withdrawn, not sent. Which channel sends a URL is decided in one place,
`alerts.channels.route`; how a tier's outcome raises or clears `notify_failed` is
alerts/failures.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from alerts import pushover
from alerts.channels import channel_of, deliver, route
from alerts.config import AlertsConfig, Contact
from alerts.failures import PagingFailures
from alerts.host import PagingHost
from alerts.message import Message, render
from alerts.paging_thread import PagingThread, run_on
from alerts.policy import NOTIFY_FAILED, Page, PageKind
from alerts.records import Record
from alerts.tokens import AckTokens

log = logging.getLogger("alerts.notifier")  # the logger these lines always came from

#: Sends a Pushover page to the recipients not reached yet (alerts/pushover_receipts.py).
SendPushover = Callable[
    [Page, Contact, str, pushover.PushoverTarget, list[pushover.Recipient], Message],
    Coroutine[Any, Any, tuple[bool, str]],  # a coroutine: it runs on the main loop
]


def backoff_s(config: AlertsConfig, attempt: int) -> float:
    """The wait after failed attempt `attempt` (1-based): doubling, capped."""
    wait: float = min(config.backoff_initial_s * 2 ** (attempt - 1), config.backoff_max_s)
    return wait


@dataclass(frozen=True, slots=True)
class Delivery:
    page: Page
    tier: int  # the tier whose contacts receive it (may be lower than asked: see contacts_for)
    contacts: tuple[Contact, ...]


class Deliveries:
    def __init__(
        self,
        config: AlertsConfig,
        *,
        base_url: str,
        room_names: Mapping[str, str],
        host: PagingHost,
        clock: Callable[[], float],
        tokens: AckTokens,
        record: Record,
        still_wanted: Callable[[Page], bool],
        send_pushover: SendPushover,
        failures: PagingFailures,
    ) -> None:
        self.config = config
        self.base_url = base_url
        self.room_names = room_names
        self.host = host
        self.clock = clock
        self.tokens = tokens
        self.record = record
        self.still_wanted = still_wanted
        self.send_pushover = send_pushover
        self.failures = failures
        self.thread = PagingThread()
        self._inbox: deque[Delivery] = deque()  # from the main loop; deque appends are atomic
        self._wake_pending = False
        # Used on the paging thread's loop only.
        self._running: set[asyncio.Task[None]] | None = None  # None: no worker running
        self._send_slots = asyncio.Semaphore(config.workers)  # sends in flight
        self._main: asyncio.AbstractEventLoop | None = None  # set when the worker starts

    def put(self, d: Delivery) -> None:
        """From the main loop (or any thread): the paging thread starts it at once."""
        self._inbox.append(d)
        # One wake-up for the pages put before the paging thread gets to them: each wake-up
        # is a write to its loop's self-pipe, which hands the GIL over mid-burst.
        if not self._wake_pending:
            self._wake_pending = True
            self.thread.call_soon(self._take_inbox)

    def _take_inbox(self) -> None:
        """On the paging loop. Cleared before taking, so a page put meanwhile wakes it again."""
        self._wake_pending = False
        running = self._running
        if running is None:
            return  # no worker (yet, or between restarts): it takes them when it starts
        while self._inbox:
            # Each delivery runs as its own task so a slow or dead channel (timeouts,
            # backoff) never holds up pages behind it; `workers` bounds the sends in flight.
            # Started here, not through a queue: on this loop every turn costs a GIL
            # hand-over, so a page takes as few turns as it can.
            task = asyncio.get_running_loop().create_task(
                self._deliver_tier_logged(self._inbox.popleft())
            )
            running.add(task)
            task.add_done_callback(running.discard)

    async def worker(self) -> None:
        """Supervised on the main loop like every part of Vigil; it works on the paging
        thread: a failure there comes back here, and cancelling here cancels it there."""
        self._main = asyncio.get_running_loop()
        await self.thread.run(self._work())

    async def aclose(self) -> None:
        await self.thread.aclose()

    def _on_main(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Hand a call over to the main loop (records, the stream, the rooms' controls)."""
        assert self._main is not None, "the worker sets the main loop before any delivery"
        self._main.call_soon_threadsafe(partial(fn, *args, **kwargs))

    async def _work(self) -> None:
        """On the paging loop while the worker runs: deliveries start as they are put."""
        self._running = set()
        try:
            self._take_inbox()  # those put before it started
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            running, self._running = self._running, None
            for task in list(running):
                task.cancel()

    async def _deliver_tier_logged(self, d: Delivery) -> None:
        try:
            await self._deliver_tier(d)
        except Exception:
            log.exception("notifier: delivery of %r failed", d)

    async def _deliver_tier(self, d: Delivery) -> None:
        sends = [(c, url) for c in d.contacts for url in c.urls]
        if len(sends) == 1:  # the usual tier: one phone; no task of its own (a turn fewer)
            results = [await self._deliver_url(d, *sends[0])]
        else:
            results = await asyncio.gather(*(self._deliver_url(d, c, u) for c, u in sends))
        if d.page.condition == NOTIFY_FAILED:
            return  # never alarm about failing to page about a paging failure
        if any(r is True for r in results):
            self._on_main(self.failures.tier_reached, d.page.room, d.tier)
        elif all(r is False for r in results):  # withdrawn pages prove nothing either way
            why = "no contact configured" if not sends else "every channel failed"
            self._on_main(self.failures.tier_unreachable, d.page, d.tier, why)

    async def _deliver_url(self, d: Delivery, contact: Contact, url: str) -> bool | None:
        """True delivered, False undeliverable after every retry, None withdrawn."""
        page = d.page
        now = self.clock()
        ack_url = None
        cfg = self.config
        channel = channel_of(url)
        if page.kind != PageKind.TEST:
            token, _ = self.tokens.issue(
                room=page.room,
                condition=page.condition,
                since=page.alarm.since,
                contact=contact.name,
                channel=channel,
                now=now,
            )
            ack_url = f"{self.base_url}/ack/{token}"
        message = render(
            page,
            room_name=self.room_names.get(page.room, page.room),
            ack_url=ack_url,
            dose_t=self.host.dose_time(page.room),
        )
        r = route(url, ack_url=ack_url, priority=page.priority, expire_cap_s=cfg.token_ttl_s)
        unsent = list(r.pushover.recipients) if r.pushover else []

        def attempted(attempt: int, result: str, detail: str, **more: Any) -> None:
            self._on_main(
                self.record,
                "delivery",
                t=self.clock(),  # when it happened, not when the main loop recorded it
                room=page.room,
                condition=page.condition,
                tier=d.tier,
                priority=page.priority.value,
                kind=page.kind.value,
                contact=contact.name,
                channel=channel,
                attempt=attempt,
                result=result,
                detail=detail,
                **more,
            )

        for attempt in range(1, cfg.retry_attempts + 1):
            # The policy lives on the main loop; one look-up of its state is safe from here.
            if not self.still_wanted(page):
                # Acknowledged or over while queued or backing off: ringing on would be
                # the other worst outcome.
                attempted(attempt, "withdrawn", "acknowledged or over before it was sent")
                return None
            async with self._send_slots:
                started = self.clock()
                if r.pushover is not None:
                    assert self._main is not None
                    ok, detail = await run_on(
                        self._main,
                        self.send_pushover(page, contact, url, r.pushover, unsent, message),
                    )
                else:
                    ok, detail = await deliver(
                        r.target, message, priority=page.priority, timeout_s=cfg.send_timeout_s
                    )
            attempted(
                attempt,
                "delivered" if ok else "failed",
                detail,
                latency_ms=round((self.clock() - started) * 1000, 1),
            )
            if ok:
                return True
            if attempt < cfg.retry_attempts:
                await asyncio.sleep(backoff_s(cfg, attempt))
        return False
