"""SQL for the custodian's candidate records and their consents.

Identified data lives here and only here; the L2 views (pseudonyms, generalisation,
k-anonymity) are computed from these rows by a later layer and never written back.
Functions run inside the ``Store``'s transaction and raise domain errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from openwerk_server.errors import IllegalTransition, NotFound
from openwerk_server.storage.bulk import binder, insert_many
from openwerk_server.storage.jsoncolumns import json_text
from openwerk_server.storage.pool import bump_generation
from openwerk_server.storage.queries import (
    CandidateInput,
    CandidateQuery,
    ConsentInput,
    ConsentQuery,
    Page,
)
from openwerk_server.storage.records import (
    StoredCandidate,
    StoredConsent,
    rfc3339,
)
from openwerk_server.storage.rows import one_row
from openwerk_server.storage.tables import candidates, consents


# ---------------------------------------------------------------------------- candidates
def _candidate(row: Row[Any]) -> StoredCandidate:
    m = row._mapping
    return StoredCandidate(
        id=m["id"],
        external_reference=m["external_reference"],
        gemeente=m["gemeente"],
        arbeidsmarktregio=m["arbeidsmarktregio"],
        birth_date=m["birth_date"],
        person=m["person"],
        profile=m["profile"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _candidate_values(item: CandidateInput) -> dict[str, Any]:
    return {
        "external_reference": item.external_reference,
        "gemeente": item.gemeente,
        "arbeidsmarktregio": item.arbeidsmarktregio,
        "birth_date": item.birth_date,
        "person": dict(item.person),
        "profile": dict(item.profile),
    }


_CANDIDATE_COLUMNS = (
    "id", "external_reference", "gemeente", "arbeidsmarktregio", "birth_date",
    "person", "profile", "created_at", "updated_at",
)  # fmt: skip


def insert_candidates(
    conn: Connection, items: Sequence[tuple[str, CandidateInput]], *, now: datetime
) -> None:
    """Store new candidate records (one executemany, values pre-converted: ``storage.bulk``)."""
    if not items:
        return
    bump_generation(conn)
    stamp = binder(conn.dialect, candidates.c.created_at)(now)
    birth = binder(conn.dialect, candidates.c.birth_date)
    insert_many(
        conn,
        candidates,
        _CANDIDATE_COLUMNS,
        [
            (
                new_id,
                item.external_reference,
                item.gemeente,
                item.arbeidsmarktregio,
                birth(item.birth_date),
                json_text(dict(item.person)),
                json_text(dict(item.profile)),
                stamp,
                stamp,
            )
            for new_id, item in items
        ],
    )


def fetch_candidate(
    conn: Connection, candidate_id: str, *, for_update: bool = False
) -> StoredCandidate:
    """One candidate record; ``NotFound`` if there is none."""
    stmt = select(candidates).where(candidates.c.id == candidate_id)
    missing = f"No candidate {candidate_id!r} at this node."
    return _candidate(one_row(conn, stmt, missing=missing, for_update=for_update))


def replace_candidate(
    conn: Connection, candidate_id: str, item: CandidateInput, *, now: datetime
) -> StoredCandidate:
    """Replace a record's content; id and createdAt stay."""
    fetch_candidate(conn, candidate_id, for_update=True)
    bump_generation(conn)
    conn.execute(
        update(candidates)
        .where(candidates.c.id == candidate_id)
        .values(updated_at=now, **_candidate_values(item))
    )
    return fetch_candidate(conn, candidate_id)


def erase_candidate(conn: Connection, candidate_id: str) -> None:
    """Remove a record and every consent of it (erasure, GDPR art. 17)."""
    fetch_candidate(conn, candidate_id, for_update=True)
    bump_generation(conn)
    # Explicit, not only ON DELETE CASCADE: SQLite enforces foreign keys per connection.
    conn.execute(delete(consents).where(consents.c.candidate_id == candidate_id))
    conn.execute(delete(candidates).where(candidates.c.id == candidate_id))


def select_candidates(conn: Connection, query: CandidateQuery) -> Page[StoredCandidate]:
    """A page of records ordered by id."""
    c = candidates.c
    stmt = select(candidates)
    if query.external_reference is not None:
        stmt = stmt.where(c.external_reference == query.external_reference)
    if query.after is not None:
        stmt = stmt.where(c.id > str(query.after[0]))
    rows = conn.execute(stmt.order_by(c.id).limit(query.limit + 1)).all()
    items = tuple(_candidate(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].id,) if more and items else None)


# ---------------------------------------------------------------------------- consents
def _consent(row: Row[Any]) -> StoredConsent:
    m = row._mapping
    return StoredConsent(
        id=m["id"],
        candidate_id=m["candidate_id"],
        purposes=tuple(m["purposes"]),
        recipients=m["recipients"],
        given_at=m["given_at"],
        valid_until=m["valid_until"],
        status=m["status"],
        withdrawn_at=m["withdrawn_at"],
        last_confirmed_at=m["last_confirmed_at"],
        collection_method=m["collection_method"],
        notice_version=m["notice_version"],
        evidence=m["evidence"],
        history=tuple(m["history"]),
        created_seq=m["created_seq"],
    )


_CONSENT_COLUMNS = (
    "id", "candidate_id", "purposes", "recipients", "given_at", "valid_until", "status",
    "withdrawn_at", "last_confirmed_at", "collection_method", "notice_version", "evidence",
    "history",
)  # fmt: skip
#: ``json_text`` of what a new consent holds the same for all: no evidence (JSON ``null``,
#: as SQLAlchemy's ``JSON`` stores ``None``) and an empty history.
_NO_EVIDENCE = json_text(None)
_NO_HISTORY = json_text([])


def insert_consents(
    conn: Connection,
    items: Sequence[tuple[str, str, ConsentInput]],
    *,
    now: datetime,
) -> None:
    """Store new consents given as (consent id, candidate id, input), in one executemany."""
    if not items:
        return
    stamp = binder(conn.dialect, consents.c.given_at)
    day = binder(conn.dialect, consents.c.valid_until)
    now_value = stamp(now)
    rows = []
    for consent_id, candidate_id, item in items:
        given_at = now_value if item.given_at is None else stamp(item.given_at)
        rows.append(
            (
                consent_id,
                candidate_id,
                json_text(list(item.purposes)),
                json_text(dict(item.recipients)),
                given_at,
                day(item.valid_until),
                "given",
                None,
                given_at,  # last confirmed when given
                item.collection_method,
                item.notice_version,
                _NO_EVIDENCE if item.evidence is None else json_text(dict(item.evidence)),
                _NO_HISTORY,
            )
        )
    bump_generation(conn)
    insert_many(conn, consents, _CONSENT_COLUMNS, rows)


def fetch_consent(
    conn: Connection, candidate_id: str, consent_id: str, *, for_update: bool = False
) -> StoredConsent:
    """One consent of one candidate; ``NotFound`` if either does not exist."""
    stmt = select(consents).where(
        consents.c.id == consent_id, consents.c.candidate_id == candidate_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        fetch_candidate(conn, candidate_id)  # say which of the two is missing
        raise NotFound(f"No consent {consent_id!r} for candidate {candidate_id!r}.")
    return _consent(row)


def select_consents(conn: Connection, query: ConsentQuery) -> Page[StoredConsent]:
    """A page of one candidate's consents, newest first."""
    fetch_candidate(conn, query.candidate_id)
    c = consents.c
    stmt = select(consents).where(c.candidate_id == query.candidate_id)
    if query.after is not None:
        stmt = stmt.where(c.created_seq < int(query.after[0]))
    rows = conn.execute(stmt.order_by(c.created_seq.desc()).limit(query.limit + 1)).all()
    items = tuple(_consent(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].created_seq,) if more and items else None)


def _history(current: StoredConsent, entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*current.history, dict(entry)]


def reconfirm_consent(
    conn: Connection,
    candidate_id: str,
    consent_id: str,
    *,
    valid_until: date,
    evidence: Mapping[str, Any] | None,
    now: datetime,
    today: date,
) -> StoredConsent:
    """given → given with a new ``validUntil`` and ``lastConfirmedAt`` = now."""
    current = fetch_consent(conn, candidate_id, consent_id, for_update=True)
    status = current.effective_status(today)
    if status != "given":
        raise IllegalTransition(f"Only a given consent can be re-confirmed; this one is {status}.")
    entry: dict[str, Any] = {
        "action": "reconfirmed",
        "at": rfc3339(now),
        "validUntil": valid_until.isoformat(),
    }
    if evidence is not None:
        entry["evidence"] = dict(evidence)
    bump_generation(conn)
    conn.execute(
        update(consents)
        .where(consents.c.id == consent_id)
        .values(
            valid_until=valid_until,
            last_confirmed_at=now,
            history=_history(current, entry),
        )
    )
    return fetch_consent(conn, candidate_id, consent_id)


def withdraw_consent(
    conn: Connection,
    candidate_id: str,
    consent_id: str,
    *,
    evidence: Mapping[str, Any] | None,
    now: datetime,
    today: date,
) -> StoredConsent:
    """given → withdrawn; any other state is an illegal transition."""
    current = fetch_consent(conn, candidate_id, consent_id, for_update=True)
    status = current.effective_status(today)
    if status != "given":
        raise IllegalTransition(f"Only a given consent can be withdrawn; this one is {status}.")
    entry: dict[str, Any] = {"action": "withdrawn", "at": rfc3339(now)}
    if evidence is not None:
        entry["evidence"] = dict(evidence)
    bump_generation(conn)
    conn.execute(
        update(consents)
        .where(consents.c.id == consent_id)
        .values(status="withdrawn", withdrawn_at=now, history=_history(current, entry))
    )
    return fetch_consent(conn, candidate_id, consent_id)
