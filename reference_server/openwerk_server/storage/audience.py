"""Who could see a candidate's card: the recipients of the ``matching`` consents in force.

Candidate events are stored once, with the internal id, and addressed per consumer when the
feed is rendered (subject = that consumer's pseudonym). A tombstone must reach exactly the
consumers that could see the card before the change and cannot after it (OW-CONSENT-007,
OW-EVT-002), so when one is recorded the store also records the *audience*: the recipients
of the candidate's ``matching`` consents in force just before and just after the change. The
feed evaluates them against the calling consumer with ``privacy.consent.covers``, so the
same rule decides the card, the event and the introduction.

The audience is node-internal: it never leaves the node (the feed replaces ``data`` by
``{pseudonym}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from openwerk_server.privacy.consent import ConsentRecord, Consumer, covers, in_force
from openwerk_server.storage.tables import consents

__all__ = [
    "Audience",
    "audience_covers",
    "candidate_consents",
    "dutch",
    "matching_recipients",
    "tombstone_audience",
]

try:
    _ZONE: tzinfo = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # pragma: no cover - minimal container images
    _ZONE = UTC


def dutch(at: datetime) -> datetime:
    """``at`` in Europe/Amsterdam: its ``.date()`` is the day consents are valid on (the
    same clock the L2 views use)."""
    return at.astimezone(_ZONE)


#: ``{"before": [recipients, ...] | None, "after": [recipients, ...]}``; ``before`` None means
#: unknown (the consents are gone: erasure), which the feed treats as "every consumer".
Audience = dict[str, Any]


def _record(
    row: Mapping[str, Any], *, withdrawn_counts_as_given_at: datetime | None
) -> ConsentRecord:
    status = row["status"]
    withdrawn_at = row["withdrawn_at"]
    if (
        status == "withdrawn"
        and withdrawn_counts_as_given_at is not None
        and withdrawn_at is not None
        and withdrawn_at >= withdrawn_counts_as_given_at
    ):
        status = "given"
    return ConsentRecord(
        purposes=frozenset(row["purposes"]),
        recipients=row["recipients"],
        status=status,
        given_at=row["given_at"],
        valid_until=row["valid_until"],
        last_confirmed_at=row["last_confirmed_at"],
    )


def candidate_consents(
    conn: Connection, candidate_ids: Iterable[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """The consent rows of each candidate (one query)."""
    ids = sorted(set(candidate_ids))
    found: dict[str, list[Mapping[str, Any]]] = {cid: [] for cid in ids}
    if not ids:
        return found
    c = consents.c
    rows = conn.execute(
        select(
            c.candidate_id,
            c.purposes,
            c.recipients,
            c.status,
            c.given_at,
            c.valid_until,
            c.withdrawn_at,
            c.last_confirmed_at,
        ).where(c.candidate_id.in_(ids))
    ).all()
    for row in rows:
        found[row._mapping["candidate_id"]].append(dict(row._mapping))
    return found


def matching_recipients(
    rows: Sequence[Mapping[str, Any]],
    at: datetime,
    *,
    including_withdrawn_since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Recipients of the ``matching`` consents in force at ``at``.

    ``including_withdrawn_since`` counts consents withdrawn at or after that instant as still
    given (the state just before a withdrawal).
    """
    found: list[dict[str, Any]] = []
    local = dutch(at)
    for row in rows:
        record = _record(row, withdrawn_counts_as_given_at=including_withdrawn_since)
        if "matching" in record.purposes and in_force(record, local):
            found.append(dict(record.recipients))
    return found


def tombstone_audience(conn: Connection, candidate_id: str, at: datetime) -> Audience:
    """The audience of a tombstone recorded at ``at`` (after the change, same transaction).

    Consents withdrawn at ``at`` were in force just before. No consents at all means the
    record was erased: who could see it is no longer known.
    """
    rows = candidate_consents(conn, [candidate_id])[candidate_id]
    if not rows:
        return {"before": None, "after": []}
    return {
        "before": matching_recipients(rows, at, including_withdrawn_since=at),
        "after": matching_recipients(rows, at),
    }


def audience_covers(recipients: Iterable[Mapping[str, Any]] | None, consumer: Consumer) -> bool:
    """Whether any of the recipients admits the consumer; None (unknown) admits everyone."""
    if recipients is None:
        return True
    return any(covers(r, consumer) for r in recipients)
