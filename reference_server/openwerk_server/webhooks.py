"""Webhook delivery: fan-out of events to subscriptions, signed POSTs, retries with backoff.

Each tick of the worker (an asyncio task of the app, ``webhook_worker_interval_seconds``):

1. ``Store.settle_introductions``: expiries that time decided get their events and log
   records even when nobody reads (OW-INTRO-003, OW-CONSENT-007);
2. ``fan_out``: for every active subscription, the events after its cursor are rendered for
   its member exactly as the member's feed shows them (``feed.FeedRenderer``), filtered on
   the subscription's types, and stored as deliveries together with the new cursor;
3. ``dispatch_due``: due deliveries are claimed in the database and POSTed from a pool of
   ``MAX_IN_FLIGHT`` threads without the tick waiting for the answers, so a receiver that
   hangs until the timeout delays nobody else's deliveries (``deliver_due`` is the same,
   waiting for every answer: tests and one-shot runs).

Everything is state in the shared database (see ``storage.subscriptions``), so any number
of replicas may run the worker. A delivery is one CloudEvent in structured mode
(``application/cloudevents+json``) signed per Standard Webhooks (OW-EVT-004): ``webhook-id``
is the CloudEvent id (the same on every retry), ``webhook-timestamp`` the attempt's Unix
time, ``webhook-signature`` ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body`` with the
decoded secret. A 2xx within the timeout delivers; anything else (3xx — redirects are not
followed —, 4xx, 5xx, timeout, connection error) is retried after the configured delays
(default the spec's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, up to 10 % jitter),
and after the last attempt the delivery and its subscription are ``failed`` (OW-EVT-005,
OW-EVT-006). ``410 Gone`` fails the subscription at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from openwerk_server.errors import NotFound
from openwerk_server.feed import FeedRenderer, event_body
from openwerk_server.privacy.consent import Consumer
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_server.storage.subscriptions import (
    ClaimedDelivery,
    FeedQuery,
    NewDelivery,
    StoredDelivery,
    StoredSubscription,
)

__all__ = ["RetryPolicy", "WebhookWorker", "sign"]

logger = logging.getLogger("openwerk_server.webhooks")

CONTENT_TYPE = "application/cloudevents+json"
FAN_OUT_BATCH = 500
CLAIM_BATCH = 16
#: Deliveries the background worker has in flight at once. A receiver that takes the whole
#: timeout to answer holds one of these slots, never the worker's tick.
MAX_IN_FLIGHT = 16


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature header value (spec/docs/events.md)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class RetryPolicy:
    """Delays before attempts 2, 3, ...; the number of attempts is one more than delays."""

    delays: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    jitter: float = 0.1

    @property
    def max_attempts(self) -> int:
        """Attempts before a delivery fails for good."""
        return len(self.delays) + 1

    def next_attempt(
        self, attempts_made: int, now: datetime, rand: Callable[[], float] = random.random
    ) -> datetime | None:
        """When to try again after ``attempts_made`` attempts failed, or None: give up."""
        if attempts_made >= self.max_attempts:
            return None
        delay = self.delays[attempts_made - 1]
        return now + timedelta(seconds=delay * (1 + self.jitter * rand()))

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> RetryPolicy:
        """The policy the node is configured with."""
        return cls(tuple(settings.webhook_retry_delays), settings.webhook_retry_jitter)


class WebhookWorker:
    """Turns events into deliveries and sends them (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        renderer: FeedRenderer,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.renderer = renderer
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        #: Tests inject an ``httpx.MockTransport`` here; None sends over the network.
        self.transport = transport
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        # Background sending (``dispatch_due``): a pool, one shared client, what is in flight.
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._in_flight: set[Future[StoredDelivery | None]] = set()

    @classmethod
    def from_settings(
        cls, store: Store, renderer: FeedRenderer, settings: NodeSettings
    ) -> WebhookWorker:
        """A worker with the node's retry policy and timeout."""
        return cls(
            store,
            renderer,
            policy=RetryPolicy.from_settings(settings),
            timeout=settings.webhook_timeout_seconds,
        )

    # ------------------------------------------------------------------ fan-out
    def _fan_out_one(self, subscription: StoredSubscription) -> int:
        consumer = Consumer(subscription.member, subscription.member_type)
        types = frozenset(subscription.types)
        current = subscription
        made = 0
        while True:
            batch = self.store.feed_rows(
                FeedQuery(
                    member=current.member, after_seq=current.event_cursor, limit=FAN_OUT_BATCH
                )
            )
            if not batch.rows:
                return made
            rendered = self.renderer.render(
                batch.rows, consumer, consents=batch.consents, now=self.store.now(), types=types
            )
            items = [NewDelivery(item.id, item.type, event_body(item.event)) for item in rendered]
            if not self.store.add_deliveries(current, new_cursor=batch.last_seq, items=items):
                return made  # another replica took this range (or the subscription failed)
            made += len(items)
            if batch.exhausted:
                return made
            current = self.store.get_subscription(current.id, member=None)

    def fan_out(self) -> int:
        """Create the deliveries of every active subscription's new events."""
        return sum(self._fan_out_one(s) for s in self.store.active_subscriptions())

    # ------------------------------------------------------------------ delivery
    def _attempt(self, client: httpx.Client, claimed: ClaimedDelivery) -> StoredDelivery | None:
        delivery = claimed.delivery
        attempted_at = self.store.now()
        timestamp = int(attempted_at.timestamp())
        body = delivery.body.encode("utf-8")
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(claimed.secret, delivery.event_id, timestamp, body),
        }
        status: int | None = None
        try:
            response = client.post(claimed.url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            logger.info(
                "delivery %s of subscription %s failed: %s",
                delivery.id,
                delivery.subscription_id,
                type(exc).__name__,
            )
        delivered = status is not None and 200 <= status < 300
        retry_at = None
        if not delivered:
            retry_at = self.policy.next_attempt(delivery.attempts + 1, self.store.now())
        try:
            return self.store.record_delivery_attempt(
                delivery.id,
                attempted_at=attempted_at,
                response_status=status,
                delivered=delivered,
                retry_at=retry_at,
                give_up_subscription=status == 410,
            )
        except NotFound:
            return None  # the subscription was deleted meanwhile

    def deliver_due(self, now: datetime | None = None) -> list[StoredDelivery]:
        """Attempt every delivery due at ``now`` (default: the store's clock) once."""
        done: list[StoredDelivery] = []
        claimed = self.store.claim_deliveries(hold=self._hold, limit=CLAIM_BATCH, now=now)
        if not claimed:
            # Most ticks (every 0.5 s) have nothing due: building an HTTP client then would
            # cost a TLS context (milliseconds of CPU) per tick, taken from request handling.
            return done
        with httpx.Client(
            transport=self.transport, timeout=self.timeout, follow_redirects=False
        ) as client:
            while claimed:
                with ThreadPoolExecutor(max_workers=min(8, len(claimed))) as pool:
                    results = list(pool.map(lambda c: self._attempt(client, c), claimed))
                done.extend(result for result in results if result is not None)
                claimed = self.store.claim_deliveries(hold=self._hold, limit=CLAIM_BATCH, now=now)
        return done

    def dispatch_due(self) -> int:
        """Hand due deliveries to the sending pool without waiting for them to be answered.

        ``deliver_due`` waits for every attempt it starts, so one receiver that hangs until
        the timeout would hold back every other subscriber's deliveries for that long
        (head-of-line blocking). The background worker dispatches instead: each attempt
        holds one of ``MAX_IN_FLIGHT`` slots while the next ticks go on fanning out and
        claiming. The claim's hold keeps other replicas off a delivery while it is in flight.
        Returns how many deliveries it started.
        """
        self._in_flight = {f for f in self._in_flight if not f.done()}
        free = MAX_IN_FLIGHT - len(self._in_flight)
        if free <= 0:
            return 0
        claimed = self.store.claim_deliveries(hold=self._hold, limit=min(free, CLAIM_BATCH))
        if not claimed:
            return 0
        if self._pool is None:
            self._pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="openwerk-webhook")
        if self._client is None:
            self._client = httpx.Client(
                transport=self.transport, timeout=self.timeout, follow_redirects=False
            )
        client = self._client
        for delivery in claimed:
            future = self._pool.submit(self._attempt, client, delivery)
            future.add_done_callback(_log_failed_attempt)
            self._in_flight.add(future)
        return len(claimed)

    @property
    def _hold(self) -> timedelta:
        """How long a claim keeps other replicas off a delivery: longer than any attempt."""
        return timedelta(seconds=self.timeout * 2 + 30)

    def _settle_and_fan_out(self) -> None:
        self.store.settle_introductions()
        self.fan_out()

    def _tick(self) -> None:
        """One background tick: settle expiries, fan out, dispatch what is due."""
        self._settle_and_fan_out()
        self.dispatch_due()

    def run_once(self) -> Sequence[StoredDelivery]:
        """One tick: settle expiries, fan out, deliver what is due (waiting for the answers)."""
        self._settle_and_fan_out()
        return self.deliver_due()

    # ------------------------------------------------------------------ background task
    def start(self, interval: float) -> None:
        """Run ``run_once`` every ``interval`` seconds in the running event loop."""
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(interval, self._stop))

    async def _loop(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._tick)
            except Exception:  # keep delivering after a database hiccup; it is logged
                logger.exception("webhook worker tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def stop(self) -> None:
        """Stop after the current tick (never abandons a tick half-way in its thread)."""
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
            self._task = None
        # Let attempts in flight record their outcome; a stopped node leaves none half-done.
        pool, client = self._pool, self._client
        self._pool = self._client = None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)
        if client is not None:
            client.close()


def _log_failed_attempt(future: Future[StoredDelivery | None]) -> None:
    """An attempt that could not record its outcome (e.g. the database was away) is logged;
    its claim's hold runs out and a later tick tries the delivery again."""
    error = future.exception()
    if error is not None:
        logger.error("webhook delivery attempt failed", exc_info=error)
