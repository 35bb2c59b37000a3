"""SQL for the events class: the per-consumer feed, webhook subscriptions and deliveries.

All delivery state lives in the database, so any number of replicas can run the delivery
worker side by side:

- **fan-out**: a subscription remembers the last event sequence number it has turned into
  deliveries (``event_cursor``). A worker renders the events after it and stores the
  deliveries together with the new cursor, on the condition that the cursor has not moved
  meanwhile (``UPDATE ... WHERE event_cursor = :old``); a replica that loses that race rolls
  back, so every event becomes one delivery per matching subscription.
- **claim**: a due delivery is taken by moving its ``next_attempt_at`` past the attempt's
  timeout (``UPDATE ... WHERE status = 'pending' AND next_attempt_at <= :now``); only one
  replica's update matches. A worker that dies mid-attempt leaves the delivery due again
  when the claim runs out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from openwerk_server.errors import NotFound
from openwerk_server.storage.audience import candidate_consents
from openwerk_server.storage.ids import new_id
from openwerk_server.storage.queries import Key, Page
from openwerk_server.storage.records import StoredEvent, rfc3339
from openwerk_server.storage.rows import one_row
from openwerk_server.storage.tables import deliveries, events, subscriptions

__all__ = [
    "ClaimedDelivery",
    "DeliveryQuery",
    "FeedQuery",
    "FeedRows",
    "NewDelivery",
    "StoredDelivery",
    "StoredSubscription",
    "SubscriptionInput",
    "SubscriptionQuery",
    "active_subscriptions",
    "add_deliveries",
    "any_due",
    "claim_due",
    "delete_subscription",
    "feed_rows",
    "fetch_subscription",
    "insert_subscription",
    "last_event_seq",
    "record_attempt",
    "select_deliveries",
    "select_feed",
    "select_subscriptions",
]


# ---------------------------------------------------------------------------- values
@dataclass(frozen=True)
class SubscriptionInput:
    """A validated ``SubscriptionInput`` with the subscribing member."""

    member: str
    member_type: str
    url: str
    types: tuple[str, ...]
    secret: str


@dataclass(frozen=True)
class SubscriptionQuery:
    """``listSubscriptions``: one member's, oldest first."""

    member: str
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class DeliveryQuery:
    """``listSubscriptionDeliveries``: newest first."""

    subscription_id: str
    member: str
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class FeedQuery:
    """The raw rows of one member's feed: events for everyone, and those addressed to it."""

    member: str
    after_seq: int = 0
    limit: int = 100
    types: frozenset[str] | None = None


@dataclass(frozen=True)
class StoredSubscription:
    """A webhook subscription; ``secret`` never leaves the node except as signatures."""

    created_seq: int
    id: str
    member: str
    member_type: str
    url: str
    types: tuple[str, ...]
    secret: str
    status: str
    created_at: datetime
    event_cursor: int

    def as_document(self) -> dict[str, Any]:
        """The ``Subscription`` document (without the write-only secret, OW-EVT-008)."""
        return {
            "id": self.id,
            "url": self.url,
            "types": list(self.types),
            "status": self.status,
            "createdAt": rfc3339(self.created_at),
        }


@dataclass(frozen=True)
class StoredDelivery:
    """One event to one subscription, with its attempts."""

    created_seq: int
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    body: str
    status: str
    attempts: int
    last_response_status: int | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime

    def as_document(self) -> dict[str, Any]:
        """The ``Delivery`` document."""
        document: dict[str, Any] = {
            "id": self.id,
            "subscriptionId": self.subscription_id,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "attempts": self.attempts,
            "status": self.status,
        }
        if self.last_response_status is not None:
            document["lastResponseStatus"] = self.last_response_status
        if self.last_attempt_at is not None:
            document["lastAttemptAt"] = rfc3339(self.last_attempt_at)
        if self.status == "pending" and self.next_attempt_at is not None:
            document["nextAttemptAt"] = rfc3339(self.next_attempt_at)
        return document


@dataclass(frozen=True)
class NewDelivery:
    """A rendered event for one subscription."""

    event_id: str
    event_type: str
    body: str


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker may attempt now, with where to send it and how to sign it."""

    delivery: StoredDelivery
    url: str
    secret: str


# ---------------------------------------------------------------------------- rows
def _subscription(row: Row[Any]) -> StoredSubscription:
    m = row._mapping
    return StoredSubscription(
        created_seq=m["created_seq"],
        id=m["id"],
        member=m["member"],
        member_type=m["member_type"],
        url=m["url"],
        types=tuple(m["types"]),
        secret=m["secret"],
        status=m["status"],
        created_at=m["created_at"],
        event_cursor=int(m["event_cursor"]),
    )


def _delivery(row: Row[Any]) -> StoredDelivery:
    m = row._mapping
    return StoredDelivery(
        created_seq=m["created_seq"],
        id=m["id"],
        subscription_id=m["subscription_id"],
        event_id=m["event_id"],
        event_type=m["event_type"],
        body=m["body"],
        status=m["status"],
        attempts=m["attempts"],
        last_response_status=m["last_response_status"],
        last_attempt_at=m["last_attempt_at"],
        next_attempt_at=m["next_attempt_at"],
        created_at=m["created_at"],
    )


def _event(row: Row[Any]) -> StoredEvent:
    m = row._mapping
    return StoredEvent(
        seq=m["seq"],
        id=m["id"],
        type=m["type"],
        subject=m["subject"],
        resource_id=m["resource_id"],
        recipient=m["recipient"],
        time=m["time"],
        data=m["data"],
    )


# ---------------------------------------------------------------------------- feed
def last_event_seq(conn: Connection) -> int:
    """The newest event's sequence number (0 when there is none)."""
    value = conn.execute(select(func.max(events.c.seq))).scalar_one_or_none()
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class FeedRows:
    """Rows of a member's feed, the last sequence number read, and the current consent rows
    of the candidates whose ``candidate.updated`` events are among them."""

    rows: list[StoredEvent]
    last_seq: int
    consents: dict[str, list[Mapping[str, Any]]]
    exhausted: bool


def feed_rows(conn: Connection, query: FeedQuery) -> FeedRows:
    """``select_feed`` plus what rendering candidate updates needs, in one transaction."""
    rows, last = select_feed(conn, query)
    updated = {r.resource_id for r in rows if r.type == "nl.openwerk.candidate.updated"}
    return FeedRows(rows, last, candidate_consents(conn, updated), len(rows) < query.limit)


def select_feed(conn: Connection, query: FeedQuery) -> tuple[list[StoredEvent], int]:
    """Up to ``limit`` rows after ``after_seq`` that may concern ``member`` (events for
    everyone and events addressed to it), oldest first, and the last sequence number read."""
    c = events.c
    stmt = select(events).where(
        c.seq > query.after_seq, (c.recipient.is_(None)) | (c.recipient == query.member)
    )
    if query.types is not None:
        stmt = stmt.where(c.type.in_(sorted(query.types)))
    rows = conn.execute(stmt.order_by(c.seq).limit(query.limit)).all()
    found = [_event(row) for row in rows]
    return found, (found[-1].seq if found else query.after_seq)


# ---------------------------------------------------------------------------- subscriptions
def insert_subscription(
    conn: Connection, item: SubscriptionInput, *, new_id_: str, now: datetime
) -> StoredSubscription:
    """A new active subscription; it delivers events recorded from now on."""
    conn.execute(
        insert(subscriptions).values(
            id=new_id_,
            member=item.member,
            member_type=item.member_type,
            url=item.url,
            types=list(item.types),
            secret=item.secret,
            status="active",
            created_at=now,
            event_cursor=last_event_seq(conn),
        )
    )
    return fetch_subscription(conn, new_id_, member=item.member)


def fetch_subscription(
    conn: Connection, subscription_id: str, *, member: str | None
) -> StoredSubscription:
    """One subscription; with ``member``, only that member's (another's is ``NotFound``)."""
    c = subscriptions.c
    stmt = select(subscriptions).where(c.id == subscription_id)
    if member is not None:
        stmt = stmt.where(c.member == member)
    missing = f"No subscription {subscription_id!r} at this node."
    return _subscription(one_row(conn, stmt, missing=missing))


def select_subscriptions(conn: Connection, query: SubscriptionQuery) -> Page[StoredSubscription]:
    """A page of one member's subscriptions, oldest first."""
    c = subscriptions.c
    stmt = select(subscriptions).where(c.member == query.member)
    if query.after is not None:
        stmt = stmt.where(c.created_seq > int(query.after[0]))
    rows = conn.execute(stmt.order_by(c.created_seq).limit(query.limit + 1)).all()
    items = tuple(_subscription(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].created_seq,) if more and items else None)


def delete_subscription(conn: Connection, subscription_id: str, *, member: str) -> None:
    """Remove a member's subscription; its deliveries (pending ones included) go with it."""
    fetch_subscription(conn, subscription_id, member=member)
    # Explicit, not only ON DELETE CASCADE: SQLite enforces foreign keys per connection.
    conn.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
    conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))


def select_deliveries(conn: Connection, query: DeliveryQuery) -> Page[StoredDelivery]:
    """A page of one subscription's deliveries, newest first (OW-EVT-007)."""
    fetch_subscription(conn, query.subscription_id, member=query.member)
    c = deliveries.c
    stmt = select(deliveries).where(c.subscription_id == query.subscription_id)
    if query.after is not None:
        stmt = stmt.where(c.created_seq < int(query.after[0]))
    rows = conn.execute(stmt.order_by(c.created_seq.desc()).limit(query.limit + 1)).all()
    items = tuple(_delivery(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].created_seq,) if more and items else None)


def active_subscriptions(conn: Connection) -> list[StoredSubscription]:
    """Every subscription still delivering."""
    c = subscriptions.c
    rows = conn.execute(select(subscriptions).where(c.status == "active").order_by(c.created_seq))
    return [_subscription(row) for row in rows]


# ---------------------------------------------------------------------------- delivery
def add_deliveries(
    conn: Connection,
    subscription: StoredSubscription,
    *,
    new_cursor: int,
    items: Sequence[NewDelivery],
    now: datetime,
) -> bool:
    """Store deliveries for the events up to ``new_cursor``; False (and nothing stored) when
    another worker advanced this subscription's cursor first."""
    c = subscriptions.c
    moved = conn.execute(
        update(subscriptions)
        .where(
            c.id == subscription.id,
            c.status == "active",
            c.event_cursor == subscription.event_cursor,
        )
        .values(event_cursor=new_cursor)
    )
    if moved.rowcount != 1:
        return False
    if items:
        conn.execute(
            insert(deliveries),
            [
                {
                    "id": new_id(),
                    "subscription_id": subscription.id,
                    "event_id": item.event_id,
                    "event_type": item.event_type,
                    "body": item.body,
                    "status": "pending",
                    "attempts": 0,
                    "last_response_status": None,
                    "last_attempt_at": None,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for item in items
            ],
        )
    return True


def any_due(conn: Connection, *, now: datetime) -> bool:
    """Whether some delivery is due at ``now`` (a cheap read before claiming)."""
    d = deliveries.c
    found = conn.execute(
        select(d.id).where(d.status == "pending", d.next_attempt_at <= now).limit(1)
    ).first()
    return found is not None


def claim_due(
    conn: Connection, *, now: datetime, hold: timedelta, limit: int
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries of active subscriptions for one attempt each."""
    d, s = deliveries.c, subscriptions.c
    due = conn.execute(
        select(deliveries, s.url, s.secret)
        .select_from(deliveries.join(subscriptions, d.subscription_id == s.id))
        .where(d.status == "pending", d.next_attempt_at <= now, s.status == "active")
        .order_by(d.next_attempt_at, d.created_seq)
        .limit(limit)
    ).all()
    claimed: list[ClaimedDelivery] = []
    for row in due:
        m = row._mapping
        taken = conn.execute(
            update(deliveries)
            .where(
                d.id == m["id"], d.status == "pending", d.next_attempt_at == m["next_attempt_at"]
            )
            .values(next_attempt_at=now + hold)
        )
        if taken.rowcount == 1:
            claimed.append(ClaimedDelivery(_delivery(row), m["url"], m["secret"]))
    return claimed


def record_attempt(
    conn: Connection,
    delivery_id: str,
    *,
    attempted_at: datetime,
    response_status: int | None,
    delivered: bool,
    retry_at: datetime | None,
    give_up_subscription: bool,
) -> StoredDelivery:
    """The outcome of one attempt.

    ``delivered``: done. Else ``retry_at`` schedules the next attempt; None means no attempt
    is left, so the delivery and its subscription become ``failed`` (OW-EVT-006) and the
    subscription's other pending deliveries are failed with it (nothing more is sent).
    ``give_up_subscription`` does that at once (a receiver that answered 410 Gone).
    """
    d = deliveries.c
    current = conn.execute(select(deliveries).where(d.id == delivery_id)).first()
    if current is None:
        raise NotFound(f"No delivery {delivery_id!r}.")  # its subscription was deleted
    values: dict[str, Any] = {
        "attempts": d.attempts + 1,
        "last_attempt_at": attempted_at,
        "last_response_status": response_status,
    }
    failing = not delivered and (retry_at is None or give_up_subscription)
    if delivered:
        values.update(status="delivered", next_attempt_at=None)
    elif failing:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=retry_at)
    conn.execute(update(deliveries).where(d.id == delivery_id).values(**values))
    if failing:
        subscription_id = current._mapping["subscription_id"]
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(status="failed")
        )
        conn.execute(
            update(deliveries)
            .where(d.subscription_id == subscription_id, d.status == "pending")
            .values(status="failed", next_attempt_at=None)
        )
    row = conn.execute(select(deliveries).where(d.id == delivery_id)).one()
    return _delivery(row)
