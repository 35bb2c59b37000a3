"""SQL for the change log behind the events class (CloudEvents feed and webhooks).

Every write that changes what a consumer can see records its event in the same transaction,
so the feed can never announce a change that was rolled back, nor miss one that committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text

from openwerk_server.storage.audience import tombstone_audience
from openwerk_server.storage.bulk import binder, insert_many
from openwerk_server.storage.ids import new_id, time_ordered_ids
from openwerk_server.storage.jsoncolumns import json_text
from openwerk_server.storage.queries import (
    EventQuery,
    Page,
)
from openwerk_server.storage.records import (
    StoredEvent,
)
from openwerk_server.storage.tables import events

#: Event type prefix per stored resource (code list ``event-types``).
EVENT_PREFIX: Mapping[str, str] = {
    "vacancy": "nl.openwerk.vacancy",
    "task-offer": "nl.openwerk.task-offer",
    "instrument": "nl.openwerk.instrument",
    "candidate": "nl.openwerk.candidate",
    "introduction": "nl.openwerk.introduction",
}

#: Any constant: the key of the PostgreSQL advisory lock that orders event writers.
_EVENT_LOCK = 0x6F77_6576  # "owev"

_EVENT_COLUMNS = ("id", "type", "subject", "resource_id", "recipient", "time", "data")
_NO_DATA = json_text({})


def record_event(
    conn: Connection,
    *,
    resource: str,
    action: str,
    resource_id: str,
    time: datetime,
    data: Mapping[str, Any],
    recipient: str | None = None,
) -> None:
    """Append ``nl.openwerk.{resource}.{action}`` about ``resource_id``.

    Candidate events keep the internal id only in ``resource_id``; their public ``subject``
    and ``data`` are the consumer's pseudonym, computed when the feed is rendered. A candidate
    tombstone also keeps its *audience* (``storage.audience``): who could see the card just
    before and just after the change, so it reaches exactly the consumers that lost it.

    On PostgreSQL a transaction-scoped advisory lock makes writers of events commit in the
    order of their sequence numbers, so a feed cursor (``seq``) never passes over an event
    that commits later with a lower number. SQLite serialises writers anyway.
    """
    if resource == "candidate" and action == "tombstone" and "audience" not in data:
        data = {**data, "audience": tombstone_audience(conn, resource_id, time)}
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})
    conn.execute(
        insert(events).values(
            id=new_id(),
            type=f"{EVENT_PREFIX[resource]}.{action}",
            subject=resource_id,
            resource_id=resource_id,
            recipient=recipient,
            time=time,
            data=dict(data),
        )
    )


def record_resource_events(
    conn: Connection,
    *,
    resource: str,
    action: str,
    resource_ids: Sequence[str],
    time: datetime,
) -> None:
    """Append one ``nl.openwerk.{resource}.{action}`` per id, with empty data, in one statement.

    For batches (``createCandidateBatch``): one advisory lock and one executemany instead of
    a thousand round trips, with the values pre-converted (``storage.bulk``). Sequence
    numbers follow the order of ``resource_ids``. Not for tombstones, whose data needs the
    audience of each one (``record_event`` computes it).
    """
    if action == "tombstone":
        raise ValueError("tombstones carry their audience: record them one by one")
    if not resource_ids:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})
    event_type = f"{EVENT_PREFIX[resource]}.{action}"
    stamp = binder(conn.dialect, events.c.time)(time)
    insert_many(
        conn,
        events,
        _EVENT_COLUMNS,
        [
            (event_id, event_type, resource_id, resource_id, None, stamp, _NO_DATA)
            for event_id, resource_id in zip(
                time_ordered_ids(len(resource_ids), time), resource_ids, strict=True
            )
        ],
    )


def select_events(conn: Connection, query: EventQuery) -> Page[StoredEvent]:
    """Events after ``after_seq``, oldest first."""
    c = events.c
    stmt = select(events).where(c.seq > query.after_seq).order_by(c.seq).limit(query.limit + 1)
    rows = conn.execute(stmt).all()
    items = tuple(
        StoredEvent(
            seq=m["seq"],
            id=m["id"],
            type=m["type"],
            subject=m["subject"],
            resource_id=m["resource_id"],
            recipient=m["recipient"],
            time=m["time"],
            data=m["data"],
        )
        for m in (row._mapping for row in rows[: query.limit])
    )
    more = len(rows) > query.limit
    return Page(items, (items[-1].seq,) if more and items else None)
