"""The lifecycle of Pushover emergency receipts: open, supersede, cancel, poll.

An emergency Pushover page rings until it is acknowledged (alerts/pushover.py). Its receipt
is kept while it rings: polled every `pushover_poll_s` (and, when enabled, Pushover calls
back) so that tapping Acknowledge in the Pushover app acknowledges the alarm through the
room's pipeline; when the alarm is acknowledged anywhere else or is over, the receipt is
cancelled so the phone stops ringing; a newer page about the same alarm to the same phone
supersedes the older one. Open receipts are also on disk (alerts/receipts.py), so the next
run of Vigil cancels those left ringing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from alerts import pushover
from alerts.config import AlertsConfig, Contact
from alerts.delivery import backoff_s
from alerts.host import PagingHost
from alerts.message import Message
from alerts.policy import Page
from alerts.receipts import ReceiptStore, StoredReceipt
from alerts.records import Record
from alerts.tokens import AckClaim, AckTokens
from monitor.core.controls import Ack

log = logging.getLogger("alerts.notifier")  # the logger these lines always came from


@dataclass(frozen=True, slots=True)
class OpenReceipt:
    """A Pushover emergency message still ringing (or not yet known to be acknowledged)."""

    receipt: str
    app_token: str
    room: str
    condition: str
    since: float | None  # the alarm episode it is about
    contact: str
    line: tuple[str, str, str, str, str]  # (room, condition, contact, URL, user key): a
    # newer page about the same alarm to the same phone supersedes it
    callback_jti: str | None  # the id of its callback token, when Pushover may call back
    next_poll: float

    @property
    def stored(self) -> StoredReceipt:
        return StoredReceipt(self.receipt, self.app_token, self.room, self.condition, self.contact)


class PushoverReceipts:
    def __init__(
        self,
        config: AlertsConfig,
        *,
        store: ReceiptStore,
        base_url: str,
        tokens: AckTokens,
        host: PagingHost,
        clock: Callable[[], float],
        record: Record,
        still_wanted: Callable[[Page], bool],
    ) -> None:
        self.config = config
        self.store = store  # open receipts outlive a restart
        # Its SQLite writes go to one thread, off the event loop and in the order made.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="receipt-store")
        self.base_url = base_url
        self.tokens = tokens
        self.host = host
        self.clock = clock
        self.record = record
        self.still_wanted = still_wanted
        self.api = pushover.PushoverApi(config.pushover_api_url, config.send_timeout_s)
        self.open: dict[str, OpenReceipt] = {}  # receipt → what it pages about
        self._background: set[asyncio.Task[None]] = set()  # receipt cancels in flight
        self._left_cancelled = False

    async def cancel_left(self) -> None:
        """Once: stop the phones a previous run left ringing (a restart of the notifier's
        task must not cancel live pages)."""
        if self._left_cancelled:
            return
        self._left_cancelled = True
        loop = asyncio.get_running_loop()
        for left in await loop.run_in_executor(self._store_thread, self.store.all):
            # A previous run's page: the alarm it was about is no longer tracked (the
            # core raises it again if the condition is still there), so stop it ringing.
            self._store_write(self.store.remove, left.receipt)
            self._cancel_soon(left, "left ringing by a previous run of Vigil")

    async def aclose(self) -> None:
        for t in list(self._background):
            t.cancel()
        await self.api.aclose()

    def close_store(self) -> None:
        self._store_thread.submit(self.store.close)
        self._store_thread.shutdown(wait=True)  # what was written is on disk

    # -- sending --------------------------------------------------------------------------------
    async def send(
        self,
        page: Page,
        contact: Contact,
        url: str,
        target: pushover.PushoverTarget,
        unsent: list[pushover.Recipient],
        message: Message,
    ) -> tuple[bool, str]:
        """Send to the recipients not reached yet (a retry never rings a phone twice) and
        keep each emergency receipt. (all reached, why not)."""
        problems = []
        for recipient in list(unsent):
            callback, jti = None, None
            if self.config.pushover_callback and target.emergency:
                token, claim = self.tokens.issue(
                    room=page.room,
                    condition=page.condition,
                    since=page.alarm.since,
                    contact=contact.name,
                    channel="pushover",
                    now=self.clock(),
                )
                callback, jti = f"{self.base_url}/ack/pushover/{token}", claim.jti
            form = pushover.message_form(
                target, recipient, message, callback=callback, timestamp=page.t
            )
            try:
                receipt = await self.api.send(form)
            except pushover.PushoverError as exc:
                problems.append(str(exc))
                continue
            unsent.remove(recipient)
            if receipt is None:
                continue  # not an emergency message: nothing rings on, nothing to follow
            self._opened(
                OpenReceipt(
                    receipt=receipt,
                    app_token=target.app_token,
                    room=page.room,
                    condition=page.condition,
                    since=page.alarm.since,
                    contact=contact.name,
                    line=(page.room, page.condition, contact.name, url, recipient.user),
                    callback_jti=jti,
                    next_poll=self.clock() + self.config.pushover_poll_s,
                ),
                page,
            )
        return not unsent, "; ".join(problems)

    def _opened(self, new: OpenReceipt, page: Page) -> None:
        older = [r for r in self.open.values() if r.line == new.line]
        self.open[new.receipt] = new
        self._store_write(self.store.add, new.stored)
        for r in older:
            self._close(r, "superseded by a newer page")
        if not self.still_wanted(page):
            # Acknowledged or over while the message was on its way: stop it at once.
            self._close(new, "acknowledged or over while it was sent")

    # -- cancelling -----------------------------------------------------------------------------
    def close_about(self, room: str, condition: str, why: str) -> None:
        """The alarm was acknowledged elsewhere or is over: stop its phones ringing."""
        for r in [r for r in self.open.values() if (r.room, r.condition) == (room, condition)]:
            self._close(r, why)

    def _close(self, r: OpenReceipt, why: str) -> None:
        """Stop a receipt ringing (Pushover's cancel), off the caller's path."""
        if self._forget(r.receipt) is not None:
            self._cancel_soon(r.stored, why)

    def _cancel_soon(self, r: StoredReceipt, why: str) -> None:
        task = asyncio.get_running_loop().create_task(self._cancel(r, why))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _cancel(self, r: StoredReceipt, why: str) -> None:
        cfg = self.config
        detail = ""
        for attempt in range(1, cfg.retry_attempts + 1):
            try:
                await self.api.cancel(r.app_token, r.receipt)
            except pushover.PushoverError as exc:
                detail = str(exc)
                if attempt < cfg.retry_attempts:
                    await asyncio.sleep(backoff_s(cfg, attempt))
                continue
            self._record_receipt("cancelled", r, why)
            return
        # The phone rings on until the message expires; the record says so.
        self._record_receipt("cancel_failed", r, f"{why}; cancel failed: {detail}")

    # -- hearing back: poll and callback --------------------------------------------------------
    async def poll(self) -> None:
        """Ask Pushover about each open receipt every `pushover_poll_s`: was it acknowledged
        in the app, or has it expired?"""
        while True:
            await asyncio.sleep(1.0)
            now = self.clock()
            due = [r for r in self.open.values() if r.next_poll <= now]
            for r in due:
                self.open[r.receipt] = replace(r, next_poll=now + self.config.pushover_poll_s)
            await asyncio.gather(*(self._poll(r) for r in due))

    async def _poll(self, r: OpenReceipt) -> None:
        try:
            status = await self.api.receipt(r.app_token, r.receipt)
        except pushover.PushoverError as exc:
            log.warning("pushover: receipt of %s/%s not readable: %s", r.room, r.condition, exc)
            return
        if status.acknowledged:
            self._acknowledged_in_app(r.receipt, status.device, "receipt polled")
        elif status.expired and self._forget(r.receipt) is not None:
            self._record_receipt("expired", r.stored, "Pushover stopped retrying: not acknowledged")

    def callback_matches(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Is this Pushover's callback for an open receipt sent with this callback token,
        saying it was acknowledged? (Checked before the token is used up, so a stray or
        wrong POST to the callback URL cannot spend it.)"""
        r = self.open.get(form.get("receipt", ""))
        return r is not None and r.callback_jti == claim.jti and form.get("acknowledged") == "1"

    def callback(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Pushover called back: a nurse acknowledged in the app. True when it matched an
        open receipt sent with this callback token (and so was acknowledged here)."""
        if not self.callback_matches(claim, form):
            return False
        return self._acknowledged_in_app(
            form["receipt"], form.get("acknowledged_by_device", ""), "callback"
        )

    def _acknowledged_in_app(self, receipt: str, device: str, how: str) -> bool:
        r = self._forget(receipt)
        if r is None:
            return False  # already acknowledged (callback and poll both saw it) or closed
        by = f"{r.contact} via Pushover app"
        self.host.inject(
            r.room,
            Ack(self.clock(), r.condition, r.since, by=by),
        )
        detail = f"acknowledged in the Pushover app on {device or 'a device'} ({how})"
        self._record_receipt("accepted", r.stored, detail, event="ack")
        return True

    # -- bookkeeping ----------------------------------------------------------------------------
    def _forget(self, receipt: str) -> OpenReceipt | None:
        """No longer follow a receipt; what it was, or None when it was not followed."""
        r = self.open.pop(receipt, None)
        if r is not None:
            self._store_write(self.store.remove, receipt)
        return r

    def _store_write(self, write: Callable[[Any], None], arg: Any) -> None:
        def done(f: Future[None]) -> None:
            if f.exception() is not None:
                log.error("pushover: receipt store write failed: %s", f.exception())

        self._store_thread.submit(write, arg).add_done_callback(done)

    def _record_receipt(
        self, result: str, r: StoredReceipt, detail: str, *, event: str = "receipt"
    ) -> None:
        self.record(
            event,
            room=r.room,
            condition=r.condition,
            contact=r.contact,
            channel="pover",
            result=result,
            detail=detail,
        )
