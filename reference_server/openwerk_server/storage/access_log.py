"""SQL for the processing log (Logboek Dataverwerkingen shape; OW-LOG-001..005).

Append-only: there is an insert and a select, nothing that updates or deletes. Records are
read per candidate, newest first, keyset-paged on (time, id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, exists, or_, select

from openwerk_server.errors import NotFound
from openwerk_server.storage.bulk import binder, insert_many
from openwerk_server.storage.ids import time_ordered_ids
from openwerk_server.storage.queries import Key, Page
from openwerk_server.storage.records import rfc3339
from openwerk_server.storage.tables import access_log, candidates

__all__ = [
    "AccessLogQuery",
    "AccessRecord",
    "StoredAccessRecord",
    "consumers_in_log",
    "insert_access_records",
    "select_access_log",
]


class AccessRecord(NamedTuple):
    """One processing-log record to write: who processed which candidate, how and why.

    A named tuple, not a frozen dataclass: every L2 search builds one per card served (20 a
    page, thousands a second under load), and a tuple is built in a fifth of the time.
    """

    candidate_id: str
    time: datetime
    consumer: str
    purpose: str
    operation: str
    trace_id: str
    span_id: str
    activity_id: str | None = None


@dataclass(frozen=True)
class StoredAccessRecord:
    """A stored processing-log record."""

    id: str
    candidate_id: str
    time: datetime
    consumer: str
    purpose: str
    operation: str
    trace_id: str
    span_id: str
    activity_id: str | None

    def as_document(self) -> dict[str, Any]:
        """The ``AccessLogEntry`` document (publication API only)."""
        document: dict[str, Any] = {
            "id": self.id,
            "time": rfc3339(self.time),
            "consumer": self.consumer,
            "purpose": self.purpose,
            "operation": self.operation,
            "traceId": self.trace_id,
            "spanId": self.span_id,
        }
        if self.activity_id is not None:
            document["activityId"] = self.activity_id
        return document


@dataclass(frozen=True)
class AccessLogQuery:
    """``getCandidateAccessLog``: one candidate's records, newest first."""

    candidate_id: str
    after: Key | None = None
    limit: int = 20


def _micros(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def insert_access_records(conn: Connection, records: Sequence[AccessRecord]) -> None:
    """Append records (one executemany statement)."""
    if not records:
        return
    # Every search, fetch and match writes here, so the rows skip SQLAlchemy's per-row
    # parameter processing (``storage.bulk``); only the timestamp needs its column's binder,
    # once per distinct time (a request's records share one).
    bind_time = binder(conn.dialect, access_log.c.time)
    bound: dict[datetime, Any] = {}
    rows = []
    for r in records:
        moment = bound.get(r.time)
        if moment is None:
            moment = bound[r.time] = bind_time(r.time)
        rows.append(
            (moment, r.consumer, r.purpose, r.operation, r.trace_id, r.span_id,
             r.activity_id, r.candidate_id)
        )  # fmt: skip
    ids = time_ordered_ids(len(rows), records[-1].time)
    insert_many(conn, access_log, _COLUMNS, [(i, *row) for i, row in zip(ids, rows, strict=True)])


_COLUMNS = (
    "id", "time", "consumer", "purpose", "operation", "trace_id", "span_id", "activity_id",
    "candidate_id",
)  # fmt: skip


def select_access_log(conn: Connection, query: AccessLogQuery) -> Page[StoredAccessRecord]:
    """A page of one candidate's records, newest first.

    ``NotFound`` when the node knows neither the candidate nor any record about it; the
    records of an erased candidate stay readable for the retention period (OW-LOG-005).
    """
    c = access_log.c
    known = conn.execute(
        select(
            exists().where(candidates.c.id == query.candidate_id)
            | exists().where(c.candidate_id == query.candidate_id)
        )
    ).scalar_one()
    if not known:
        raise NotFound(f"No candidate {query.candidate_id!r} at this node.")
    stmt = select(access_log).where(c.candidate_id == query.candidate_id)
    if query.after is not None:
        after_time, after_id = _from_micros(int(query.after[0])), str(query.after[1])
        stmt = stmt.where(or_(c.time < after_time, and_(c.time == after_time, c.id < after_id)))
    rows = conn.execute(stmt.order_by(c.time.desc(), c.id.desc()).limit(query.limit + 1)).all()
    items = tuple(
        StoredAccessRecord(
            id=m["id"],
            candidate_id=m["candidate_id"],
            time=m["time"],
            consumer=m["consumer"],
            purpose=m["purpose"],
            operation=m["operation"],
            trace_id=m["trace_id"],
            span_id=m["span_id"],
            activity_id=m["activity_id"],
        )
        for m in (row._mapping for row in rows[: query.limit])
    )
    more = len(rows) > query.limit
    next_key: Key | None = None
    if more and items:
        next_key = (_micros(items[-1].time), items[-1].id)
    return Page(items, next_key)


def consumers_in_log(conn: Connection) -> list[str]:
    """Every consumer that has a record in the log, sorted."""
    rows = conn.execute(select(access_log.c.consumer).distinct().order_by(access_log.c.consumer))
    return [str(value) for value in rows.scalars()]
