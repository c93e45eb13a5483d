"""Paging at run time: alarm events in, Apprise deliveries out, off the rooms' path.

`on_event` (called by the runtime for every published event) only asks the pure policy for
pages and puts deliveries on a queue; a worker takes them off and runs each as its own task
(so a dead channel's timeouts and backoff never hold up other pages), with at most
`workers` Apprise sends in flight, retrying each URL with exponential backoff. A page
whose alarm was acknowledged or ended while it waited is withdrawn, not sent. Every attempt
and its result, every escalation and every acknowledgement is recorded: published on the hub
as `{"type": "notification"}` and recorded through the journal (alerts/host.py), which keeps
it as an audit entry and forwards it to InfluxDB as a `notification` point.

Pushover pages are the one exception to Apprise (alerts/pushover.py): Vigil sends them
itself to keep the receipts of emergency pages. An open receipt is polled (and, when
enabled, Pushover calls back) so that tapping Acknowledge in the Pushover app acknowledges
the alarm through the room's pipeline; when the alarm is acknowledged anywhere else or is
over, the receipt is cancelled so the phone stops ringing; a newer page about the same alarm
to the same phone supersedes the older one.

When no contact of a tier could be reached, `notify_failed` (high, technical) is raised: as
a `Control(event="technical_alarm")` into the room's queue, so the core stays the owner of
alarm state. Should the core not know that control (it returns no alarm), the notifier
publishes the alarm event itself after a short wait, and clears it the same way once a page
to that room gets through again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import apprise

from alerts import pushover
from alerts.config import AlertsConfig, Contact
from alerts.host import AlarmReports, PagingHost
from alerts.message import Message, render
from alerts.policy import NOTIFY_FAILED, EscalationPolicy, Page, PageKind, technical_control
from alerts.receipts import ReceiptStore, StoredReceipt
from alerts.tokens import AckClaim, AckTokens, UsedTokens
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Control, Event, Priority

log = logging.getLogger(__name__)

TICK_S = 0.2  # repeat timing resolution; the policy itself is cheap

# Channel-native urgency where the contact's URL does not set its own.
_NTFY_PRIORITY = {Priority.HIGH: "max", Priority.MEDIUM: "high", Priority.LOW: "default"}
_PUSHOVER_PRIORITY = {Priority.HIGH: "emergency", Priority.MEDIUM: "high", Priority.LOW: "normal"}
_NOTIFY_TYPE = {
    Priority.HIGH: apprise.NotifyType.FAILURE,
    Priority.MEDIUM: apprise.NotifyType.WARNING,
    Priority.LOW: apprise.NotifyType.INFO,
}


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


PUSHOVER_CHANNELS = ("pover", "pushover")


@dataclass(frozen=True, slots=True)
class Delivery:
    page: Page
    tier: int  # the tier whose contacts receive it (may be lower than asked: see contacts_for)
    contacts: tuple[Contact, ...]


def channel_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def with_channel_extras(url: str, *, ack_url: str | None, priority: Priority) -> str:
    """Add what the channel can do natively: an ntfy `http` action button that POSTs the
    acknowledgement from the notification itself; Pushover emergency priority (it repeats on
    the phone until the nurse opens it) and the acknowledge link as its supplementary URL.
    Settings already in the contact's URL win."""
    channel = channel_of(url)
    query = parse_qs(urlsplit(url).query)
    extras: dict[str, str] = {}
    if channel in ("ntfy", "ntfys"):
        if "priority" not in query:
            extras["priority"] = _NTFY_PRIORITY[priority]
        if ack_url:
            extras["actions"] = f"http, Acknowledge, {ack_url}, method=POST, clear=true"
            extras["click"] = ack_url  # tapping the notification opens the confirm page
    elif channel in PUSHOVER_CHANNELS:
        if "priority" not in query:
            extras["priority"] = _PUSHOVER_PRIORITY[priority]
        if ack_url and "url" not in query:
            # Pushover's supplementary URL: an "Acknowledge" link inside the notification.
            extras["url"] = ack_url
            extras["url_title"] = "Acknowledge"
    if not extras:
        return url
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={quote(v, safe='')}" for k, v in extras.items())


_ASSET = apprise.AppriseAsset(image_url_mask=None)  # no icon fetched from the internet


async def deliver(
    url: str, message: Message, *, priority: Priority, timeout_s: float
) -> tuple[bool, str]:
    """One attempt through Apprise. (delivered, reason when not)."""
    # A fresh Apprise object per send, on purpose: a plugin instance throttles its own
    # successive sends (ntfy, Pushover: up to 5.5 s apart), which a page must never wait for.
    ap = apprise.Apprise(asset=_ASSET)
    if not ap.add(url):
        return False, f"not a valid Apprise URL ({channel_of(url)})"
    try:
        result = await asyncio.wait_for(
            ap.async_notify(
                body=message.body, title=message.title, notify_type=_NOTIFY_TYPE[priority]
            ),
            timeout_s,
        )
    except TimeoutError:
        return False, f"no answer within {timeout_s:g} s"
    except Exception as exc:  # Apprise plugins may raise; a page must never crash a worker
        return False, f"{type(exc).__name__}: {exc}"
    if result:
        return True, ""
    reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
    return False, "; ".join(reasons) or "not delivered"


class Notifier:
    def __init__(
        self,
        config: AlertsConfig,
        *,
        base_url: str,
        room_names: Mapping[str, str],
        host: PagingHost,
        clock: Callable[[], float] = time.time,
        alarm_manager: AlarmReports | None = None,
    ) -> None:
        self.config = config
        self.alarm_manager = alarm_manager  # every transition as HL7 ORU^R40 (optional)
        self.base_url = (config.ack_base_url or base_url).rstrip("/")
        self.room_names = dict(room_names)
        self.policy = EscalationPolicy({str(k): v for k, v in config.repeat_s.items()})
        # Without contacts no token is ever issued: keep no file for them.
        db = config.token_db if config.contacts else ":memory:"
        used = UsedTokens(db)
        self.receipt_store = ReceiptStore(db)  # open receipts outlive a restart
        # Its SQLite writes go to one thread, off the event loop and in the order made.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="receipt-store")
        self.tokens = AckTokens(config.secret.get_secret_value(), config.token_ttl_s, used)
        self.host = host  # publish, record, inject, dose time: alerts/host.py
        self.clock = clock
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._send_slots = asyncio.Semaphore(config.workers)  # Apprise sends in flight
        self._failed_tiers: dict[str, set[int]] = {}  # room → tiers nobody could be reached in
        self.pushover = pushover.PushoverApi(config.pushover_api_url, config.send_timeout_s)
        self.receipts: dict[str, OpenReceipt] = {}  # receipt → what it pages about
        self._background: set[asyncio.Task[None]] = set()  # receipt cancels in flight
        self._left_receipts_cancelled = False

    @property
    def enabled(self) -> bool:
        return bool(self.config.contacts)

    def health(self) -> dict[str, Any]:
        """For /api/health: can pages get through? (never a URL: they hold tokens)"""
        unreachable = {room: sorted(tiers) for room, tiers in self._failed_tiers.items()}
        manager = self.alarm_manager.health() if self.alarm_manager else {"status": "off"}
        degraded = bool(unreachable) or manager["status"] == "degraded"
        return {
            "status": "degraded" if degraded else "ok" if self.enabled else "off",
            "contacts": len(self.config.contacts),
            "unreachable_tiers": unreachable,
            "open_pushover_receipts": len(self.receipts),
            "alarm_manager": manager,
        }

    # -- inputs -------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Called for every published event; cheap and never raises into the room loop."""
        if self.alarm_manager is not None:
            try:
                self.alarm_manager.on_event(event)
            except Exception:
                log.exception("notifier: alarm manager could not queue %r", event)
        if not self.enabled:
            return
        try:
            for page in self.policy.on_event(event):
                self._dispatch(page)
            if (
                isinstance(event, AlarmEvent)
                and self.receipts
                and not self.policy.wants(event.room, event.condition)
            ):
                why = f"alarm {event.state.value}" + (f" by {event.by}" if event.by else "")
                self._close_receipts(event.room, event.condition, why)
        except Exception:
            log.exception("notifier: failed to plan pages for %r", event)

    def record_ack(self, claim: AckClaim) -> None:
        """An acknowledge link was used (the API calls this after queueing the ack)."""
        self._record(
            "ack",
            room=claim.room,
            condition=claim.condition,
            contact=claim.contact,
            channel=claim.channel,
            result="accepted",
        )

    def supervised_tasks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """The notifier's long-lived parts, each restartable on its own: the runtime runs
        them under its supervisor (monitor/supervisor.py) and calls `aclose()` at the end."""
        tasks: dict[str, Callable[[], Awaitable[None]]] = {
            "notifier": self._ticks,
            "notify-worker": self._worker,
            "pushover-receipts": self._poll_receipts,
        }
        if self.alarm_manager is not None:
            tasks["alarm-manager"] = self.alarm_manager.run
        return tasks

    async def run(self) -> None:
        """Every part in one task, closed when it is cancelled (for embedding and tests)."""
        workers = [
            asyncio.create_task(self._worker(), name="notify-worker"),
            asyncio.create_task(self._poll_receipts(), name="pushover-receipts"),
        ]
        if self.alarm_manager is not None:
            workers.append(asyncio.create_task(self.alarm_manager.run(), name="alarm-manager"))
        try:
            await self._ticks()
        finally:
            for w in workers:
                w.cancel()
            for w in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await w
            await self.aclose()

    async def _ticks(self) -> None:
        if not self._left_receipts_cancelled:  # once: a restart must not cancel live pages
            self._left_receipts_cancelled = True
            loop = asyncio.get_running_loop()
            for left in await loop.run_in_executor(self._store_thread, self.receipt_store.all):
                # A previous run's page: the alarm it was about is no longer tracked (the
                # core raises it again if the condition is still there), so stop it ringing.
                self._store_write(self.receipt_store.remove, left.receipt)
                self._cancel_soon(left, "left ringing by a previous run of Vigil")
        while True:
            await asyncio.sleep(TICK_S)
            if self.enabled:
                for page in self.policy.tick(self.clock()):
                    self._dispatch(page)

    async def aclose(self) -> None:
        for t in list(self._background):
            t.cancel()
        await self.pushover.aclose()
        self.tokens.used.close()
        self._store_thread.submit(self.receipt_store.close)
        self._store_thread.shutdown(wait=True)  # what was written is on disk

    # -- planning -------------------------------------------------------------------------------
    def _dispatch(self, page: Page) -> None:
        seen: set[int] = set()
        for asked in page.tiers:
            tier, contacts = self.config.contacts_for(asked, page.room)
            if tier in seen:
                continue
            seen.add(tier)
            if page.kind == PageKind.ESCALATION:
                self._record(
                    "escalation",
                    room=page.room,
                    condition=page.condition,
                    tier=tier,
                    priority=page.priority.value,
                    kind=page.kind.value,
                )
            self.queue.put_nowait(Delivery(page, tier, tuple(contacts)))

    # -- delivery -------------------------------------------------------------------------------
    async def _worker(self) -> None:
        # Each delivery runs as its own task so a slow or dead channel (timeouts, backoff)
        # never holds up pages behind it; `workers` bounds the sends in flight instead.
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                d = await self.queue.get()
                task = asyncio.create_task(self._deliver_tier_logged(d))
                running.add(task)
                task.add_done_callback(running.discard)
                self.queue.task_done()
        finally:
            for task in list(running):
                task.cancel()

    async def _deliver_tier_logged(self, d: Delivery) -> None:
        try:
            await self._deliver_tier(d)
        except Exception:
            log.exception("notifier: delivery of %r failed", d)

    async def _deliver_tier(self, d: Delivery) -> None:
        sends = [(c, url) for c in d.contacts for url in c.urls]
        results = await asyncio.gather(*(self._deliver_url(d, c, url) for c, url in sends))
        if d.page.condition == NOTIFY_FAILED:
            return  # never alarm about failing to page about a paging failure
        if any(r is True for r in results):
            self._tier_reached(d.page.room, d.tier)
        elif all(r is False for r in results):  # withdrawn pages prove nothing either way
            why = "no contact configured" if not sends else "every channel failed"
            self._tier_unreachable(d.page, d.tier, why)

    async def _deliver_url(self, d: Delivery, contact: Contact, url: str) -> bool | None:
        """True delivered, False undeliverable after every retry, None withdrawn."""
        page = d.page
        channel = channel_of(url)
        now = self.clock()
        ack_url = None
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
        target = with_channel_extras(url, ack_url=ack_url, priority=page.priority)
        cfg = self.config
        po_target = (
            pushover.pushover_target(target, expire_cap_s=cfg.token_ttl_s)
            if channel in PUSHOVER_CHANNELS
            else None
        )
        unsent = list(po_target.recipients) if po_target else []
        for attempt in range(1, cfg.retry_attempts + 1):
            if not self._still_wanted(page):
                # Acknowledged or over while queued or backing off: ringing on would be
                # the other worst outcome.
                self._record(
                    "delivery",
                    room=page.room,
                    condition=page.condition,
                    tier=d.tier,
                    priority=page.priority.value,
                    kind=page.kind.value,
                    contact=contact.name,
                    channel=channel,
                    attempt=attempt,
                    result="withdrawn",
                    detail="acknowledged or over before it was sent",
                )
                return None
            async with self._send_slots:
                started = self.clock()
                if po_target is not None:
                    ok, detail = await self._send_pushover(
                        page, contact, url, po_target, unsent, message
                    )
                else:
                    ok, detail = await deliver(
                        target, message, priority=page.priority, timeout_s=cfg.send_timeout_s
                    )
            self._record(
                "delivery",
                room=page.room,
                condition=page.condition,
                tier=d.tier,
                priority=page.priority.value,
                kind=page.kind.value,
                contact=contact.name,
                channel=channel,
                attempt=attempt,
                result="delivered" if ok else "failed",
                detail=detail,
                latency_ms=round((self.clock() - started) * 1000, 1),
            )
            if ok:
                return True
            if attempt < cfg.retry_attempts:
                await asyncio.sleep(
                    min(cfg.backoff_initial_s * 2 ** (attempt - 1), cfg.backoff_max_s)
                )
        return False

    def _still_wanted(self, page: Page) -> bool:
        return page.kind == PageKind.TEST or self.policy.wants(page.room, page.condition)

    # -- Pushover and its emergency receipts ----------------------------------------------------
    async def _send_pushover(
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
                receipt = await self.pushover.send(form)
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
        older = [r for r in self.receipts.values() if r.line == new.line]
        self.receipts[new.receipt] = new
        self._store_write(self.receipt_store.add, new.stored)
        for r in older:
            self._close(r, "superseded by a newer page")
        if not self._still_wanted(page):
            # Acknowledged or over while the message was on its way: stop it at once.
            self._close(new, "acknowledged or over while it was sent")

    def _close_receipts(self, room: str, condition: str, why: str) -> None:
        for r in [r for r in self.receipts.values() if (r.room, r.condition) == (room, condition)]:
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
                await self.pushover.cancel(r.app_token, r.receipt)
            except pushover.PushoverError as exc:
                detail = str(exc)
                if attempt < cfg.retry_attempts:
                    await asyncio.sleep(
                        min(cfg.backoff_initial_s * 2 ** (attempt - 1), cfg.backoff_max_s)
                    )
                continue
            self._record_receipt("cancelled", r, why)
            return
        # The phone rings on until the message expires; the record says so.
        self._record_receipt("cancel_failed", r, f"{why}; cancel failed: {detail}")

    async def _poll_receipts(self) -> None:
        """Ask Pushover about each open receipt every `pushover_poll_s`: was it acknowledged
        in the app, or has it expired?"""
        while True:
            await asyncio.sleep(1.0)
            now = self.clock()
            due = [r for r in self.receipts.values() if r.next_poll <= now]
            for r in due:
                self.receipts[r.receipt] = replace(r, next_poll=now + self.config.pushover_poll_s)
            await asyncio.gather(*(self._poll(r) for r in due))

    async def _poll(self, r: OpenReceipt) -> None:
        try:
            status = await self.pushover.receipt(r.app_token, r.receipt)
        except pushover.PushoverError as exc:
            log.warning("pushover: receipt of %s/%s not readable: %s", r.room, r.condition, exc)
            return
        if status.acknowledged:
            self._acknowledged_in_app(r.receipt, status.device, "receipt polled")
        elif status.expired and self._forget(r.receipt) is not None:
            self._record_receipt("expired", r.stored, "Pushover stopped retrying: not acknowledged")

    def pushover_callback_matches(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Is this Pushover's callback for an open receipt sent with this callback token,
        saying it was acknowledged? (Checked before the token is used up, so a stray or
        wrong POST to the callback URL cannot spend it.)"""
        r = self.receipts.get(form.get("receipt", ""))
        return r is not None and r.callback_jti == claim.jti and form.get("acknowledged") == "1"

    def pushover_callback(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Pushover called back: a nurse acknowledged in the app. True when it matched an
        open receipt sent with this callback token (and so was acknowledged here)."""
        if not self.pushover_callback_matches(claim, form):
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
            Control(
                t=self.clock(),
                event="ack",
                args={"condition": r.condition, "since": r.since},
                by=by,
            ),
        )
        detail = f"acknowledged in the Pushover app on {device or 'a device'} ({how})"
        self._record_receipt("accepted", r.stored, detail, event="ack")
        return True

    def _forget(self, receipt: str) -> OpenReceipt | None:
        """No longer follow a receipt; what it was, or None when it was not followed."""
        r = self.receipts.pop(receipt, None)
        if r is not None:
            self._store_write(self.receipt_store.remove, receipt)
        return r

    def _store_write(self, write: Callable[[Any], None], arg: Any) -> None:
        def done(f: Future[None]) -> None:
            if f.exception() is not None:
                log.error("pushover: receipt store write failed: %s", f.exception())

        self._store_thread.submit(write, arg).add_done_callback(done)

    def _record_receipt(
        self, result: str, r: StoredReceipt, detail: str, *, event: str = "receipt"
    ) -> None:
        self._record(
            event,
            room=r.room,
            condition=r.condition,
            contact=r.contact,
            channel="pover",
            result=result,
            detail=detail,
        )

    # -- notify_failed --------------------------------------------------------------------------
    def _tier_unreachable(self, page: Page, tier: int, why: str) -> None:
        room = page.room
        failed = self._failed_tiers.setdefault(room, set())
        if tier in failed:
            return
        failed.add(tier)
        reason = f"tier {tier} could not be paged about {page.condition}: {why}"
        log.warning("room %s: %s", room, reason)  # the console must show paging is broken
        self._record(
            "notify_failed",
            room=room,
            condition=page.condition,
            tier=tier,
            priority=Priority.HIGH.value,
            detail=reason,
            result="raised",
        )
        if len(failed) > 1:
            return  # the room's notify_failed is already raised
        now = self.clock()
        self.host.inject(room, self._technical_control(now, AlarmState.ACTIVE, reason))

    def _tier_reached(self, room: str, tier: int) -> None:
        failed = self._failed_tiers.get(room)
        if not failed or tier not in failed:
            return
        failed.discard(tier)
        if failed:
            return
        del self._failed_tiers[room]
        now = self.clock()
        reason = f"tier {tier} reached again"
        if self.alarm_manager is not None and room in self.alarm_manager.failing_rooms:
            # One notify_failed per room: it stays while the alarm manager cannot be reached.
            log.warning(
                "room %s: phones reached again (%s); alarm manager still down", room, reason
            )
            return
        log.warning("room %s: paging works again (%s)", room, reason)
        self._record(
            "notify_failed",
            room=room,
            condition=NOTIFY_FAILED,
            tier=tier,
            detail=reason,
            result="cleared",
        )
        self.host.inject(room, self._technical_control(now, AlarmState.CLEARED, reason))

    @staticmethod
    def _technical_control(t: float, state: AlarmState, reason: str) -> Control:
        return technical_control(t, state, reason, "notifier")

    # -- records --------------------------------------------------------------------------------
    def _record(self, event: str, *, room: str, condition: str, **fields: Any) -> None:
        t = self.clock()
        msg: dict[str, Any] = {
            "type": "notification",
            "t": t,
            "event": event,
            "room": room,
            "condition": condition,
        }
        msg.update(fields)
        try:  # journal first (it forwards to InfluxDB), then the live stream
            self.host.record(msg)
        except Exception:
            log.exception("notifier: could not record %s", event)
        self.host.publish(msg)


async def send_test(config: AlertsConfig, contact_name: str) -> list[tuple[str, bool, str]]:
    """`vigil notify test`: one test page to every URL of one contact. (channel, ok, why)."""
    contact = next((c for c in config.contacts if c.name == contact_name), None)
    if contact is None:
        known = ", ".join(c.name for c in config.contacts) or "none configured"
        raise KeyError(f"no contact {contact_name!r} (known: {known})")
    now = time.time()
    alarm = AlarmEvent(
        t=now,
        room="test",
        condition="test_page",
        kind=AlarmKind.TECHNICAL,
        channel=None,
        priority=Priority.MEDIUM,
        state=AlarmState.ACTIVE,
        reason="Test page from `vigil notify test`: no action needed.",
    )
    page = Page(now, PageKind.TEST, (contact.tier,), alarm)
    message = render(page, room_name="(test)", ack_url=None)
    out = []
    api = pushover.PushoverApi(config.pushover_api_url, config.send_timeout_s)
    try:
        for url in contact.urls:
            target = with_channel_extras(url, ack_url=None, priority=page.priority)
            po = pushover.pushover_target(target, expire_cap_s=config.token_ttl_s)
            if po is None:
                ok, why = await deliver(
                    target, message, priority=page.priority, timeout_s=config.send_timeout_s
                )
            else:
                ok, why = True, ""
                for recipient in po.recipients:
                    form = pushover.message_form(
                        po, recipient, message, callback=None, timestamp=now
                    )
                    try:
                        await api.send(form)
                    except pushover.PushoverError as exc:
                        ok, why = False, str(exc)
            out.append((channel_of(url), ok, why))
    finally:
        await api.aclose()
    return out
