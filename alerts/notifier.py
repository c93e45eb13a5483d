"""Paging at run time: alarm events in, deliveries out, off the rooms' path.

`on_event` (called by the runtime for every published event) only asks the pure policy for
pages (alerts/policy.py) and puts deliveries on a queue. The Notifier composes the parts,
each in its own module:

- alerts/channels/: which channel sends a contact URL, and what each channel family adds
  (ntfy: alerts/channels/ntfy.py; Pushover: alerts/pushover.py; the rest through Apprise:
  alerts/channels/apprise_send.py). Real pages and `send_test` share `channels.route`.
- alerts/delivery.py: the queue, the workers, retries with backoff, withdrawn pages.
- alerts/pushover_receipts.py: the emergency receipts' lifecycle (supersede, cancel, poll,
  callback), kept on disk by alerts/receipts.py.
- alerts/failures.py: `notify_failed`, raised when no contact of a tier could be reached.
- alerts/records.py: every attempt and its result, every escalation and acknowledgement,
  recorded through the journal and published on the hub (alerts/host.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from alerts import pushover
from alerts.channels import deliver, route
from alerts.channels import with_channel_extras as with_channel_extras  # its old home
from alerts.config import AlertsConfig, Contact
from alerts.delivery import Deliveries, Delivery
from alerts.failures import PagingFailures
from alerts.host import AlarmReports, PagingHost
from alerts.message import render
from alerts.policy import EscalationPolicy, Page, PageKind
from alerts.pushover_receipts import OpenReceipt, PushoverReceipts
from alerts.receipts import ReceiptStore
from alerts.records import Record, Recorder
from alerts.tokens import AckClaim, AckTokens, UsedTokens
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Event, Priority

log = logging.getLogger(__name__)

TICK_S = 0.2  # repeat timing resolution; the policy itself is cheap


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
        self.config = config  # a property: replacing it (contacts changed live) resets the memo
        self.alarm_manager = alarm_manager  # every transition as HL7 ORU^R40 (optional)
        self.base_url = (config.ack_base_url or base_url).rstrip("/")
        self.room_names = dict(room_names)
        self.policy = EscalationPolicy({str(k): v for k, v in config.repeat_s.items()})
        # Without contacts no token is ever issued: keep no file for them.
        db = config.token_db if config.contacts else ":memory:"
        self.tokens = AckTokens(
            config.secret.get_secret_value(), config.token_ttl_s, UsedTokens(db)
        )
        self.host = host  # publish, record, inject, dose time: alerts/host.py
        self.clock = clock
        # Every attempt, escalation and ack: journal first, then the stream (alerts/records.py).
        # Public: the HL7 alarm manager records through it too (monitor/wiring.py).
        self.record: Record = Recorder(host, clock)
        self.failures = PagingFailures(
            host=host, clock=clock, record=self.record, alarm_manager=lambda: self.alarm_manager
        )
        self.pushover_receipts = PushoverReceipts(
            config,
            store=ReceiptStore(db),
            base_url=self.base_url,
            tokens=self.tokens,
            host=host,
            clock=clock,
            record=self.record,
            still_wanted=self._still_wanted,
        )
        self.deliveries = Deliveries(
            config,
            base_url=self.base_url,
            room_names=self.room_names,
            host=host,
            clock=clock,
            tokens=self.tokens,
            record=self.record,
            still_wanted=self._still_wanted,
            send_pushover=self.pushover_receipts.send,
            failures=self.failures,
        )

    @property
    def config(self) -> AlertsConfig:
        return self._config

    @config.setter
    def config(self, config: AlertsConfig) -> None:
        self._config = config
        # Who is paged for (tier, room), looked up once: with a nurse per room, 1,000 rooms
        # made every page a scan of 1,000 contacts on the rooms' loop.
        self._contacts_for: dict[tuple[int, str], tuple[int, tuple[Contact, ...]]] = {}

    def contacts_for(self, tier: int, room: str) -> tuple[int, tuple[Contact, ...]]:
        """`AlertsConfig.contacts_for`, remembered until the contacts change."""
        found = self._contacts_for.get((tier, room))
        if found is None:
            t, contacts = self.config.contacts_for(tier, room)
            found = self._contacts_for[(tier, room)] = (t, tuple(contacts))
        return found

    # What tests and the wiring read, where it lives now.
    @property
    def receipts(self) -> dict[str, OpenReceipt]:
        return self.pushover_receipts.open

    @property
    def receipt_store(self) -> ReceiptStore:
        return self.pushover_receipts.store

    def phones_failing(self, room: str) -> bool:
        """Could a tier of the room's contacts not be reached (its notify_failed is raised)?
        The HL7 alarm manager holds the room's one notify_failed while this is true."""
        return bool(self.failures.failed_tiers.get(room))

    @property
    def enabled(self) -> bool:
        return bool(self.config.contacts)

    def health(self) -> dict[str, Any]:
        """For /api/health: can pages get through? (never a URL: they hold tokens)"""
        unreachable = {room: sorted(tiers) for room, tiers in self.failures.failed_tiers.items()}
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
                self.pushover_receipts.close_about(event.room, event.condition, why)
        except Exception:
            log.exception("notifier: failed to plan pages for %r", event)

    def record_ack(self, claim: AckClaim) -> None:
        """An acknowledge link was used (the API calls this after queueing the ack)."""
        self.record(
            "ack",
            room=claim.room,
            condition=claim.condition,
            contact=claim.contact,
            channel=claim.channel,
            result="accepted",
        )

    def pushover_callback_matches(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Is this Pushover's callback for an open receipt sent with this callback token?"""
        return self.pushover_receipts.callback_matches(claim, form)

    def pushover_callback(self, claim: AckClaim, form: Mapping[str, str]) -> bool:
        """Pushover called back: a nurse acknowledged in the app (see PushoverReceipts)."""
        return self.pushover_receipts.callback(claim, form)

    def supervised_tasks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """The notifier's long-lived parts, each restartable on its own: the runtime runs
        them under its supervisor (monitor/supervisor.py) and calls `aclose()` at the end."""
        tasks: dict[str, Callable[[], Awaitable[None]]] = {
            "notifier": self._ticks,
            "notify-worker": self.deliveries.worker,
            "pushover-receipts": self.pushover_receipts.poll,
        }
        if self.alarm_manager is not None:
            tasks["alarm-manager"] = self.alarm_manager.run
        return tasks

    async def run(self) -> None:
        """Every part in one task, closed when it is cancelled (for embedding and tests)."""
        workers = [
            asyncio.create_task(self.deliveries.worker(), name="notify-worker"),
            asyncio.create_task(self.pushover_receipts.poll(), name="pushover-receipts"),
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
        await self.pushover_receipts.cancel_left()  # once: a restart must not cancel live pages
        while True:
            await asyncio.sleep(TICK_S)
            if self.enabled:
                for page in self.policy.tick(self.clock()):
                    self._dispatch(page)

    async def aclose(self) -> None:
        await self.deliveries.aclose()
        await self.pushover_receipts.aclose()
        self.tokens.used.close()
        self.pushover_receipts.close_store()

    # -- planning -------------------------------------------------------------------------------
    def _dispatch(self, page: Page) -> None:
        seen: set[int] = set()
        for asked in page.tiers:
            tier, contacts = self.contacts_for(asked, page.room)
            if tier in seen:
                continue
            seen.add(tier)
            if page.kind == PageKind.ESCALATION:
                self.record(
                    "escalation",
                    room=page.room,
                    condition=page.condition,
                    tier=tier,
                    priority=page.priority.value,
                    kind=page.kind.value,
                )
            self.deliveries.put(Delivery(page, tier, contacts))

    def _still_wanted(self, page: Page) -> bool:
        return page.kind == PageKind.TEST or self.policy.wants(page.room, page.condition)


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
            # The same choice of channel as a real page (without an acknowledge link).
            r = route(url, ack_url=None, priority=page.priority, expire_cap_s=config.token_ttl_s)
            po = r.pushover
            if po is None:
                ok, why = await deliver(
                    r.target, message, priority=page.priority, timeout_s=config.send_timeout_s
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
            out.append((r.channel, ok, why))
    finally:
        await api.aclose()
    return out
