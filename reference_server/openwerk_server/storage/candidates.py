"""SQL for the custodian's candidate records and their consents.

Identified data lives here and only here; the L2 views (pseudonyms, generalisation,
k-anonymity) are computed from these rows by a later layer and never written back.
Functions run inside the ``Store``'s transaction and raise domain errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from openwerk_server.errors import IllegalTransition, NotFound
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


def insert_candidates(
    conn: Connection, items: Sequence[tuple[str, CandidateInput]], *, now: datetime
) -> None:
    """Store new candidate records (one statement, executemany)."""
    if items:
        bump_generation(conn)
        conn.execute(
            insert(candidates),
            [
                {"id": new_id, "created_at": now, "updated_at": now, **_candidate_values(item)}
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


def insert_consents(
    conn: Connection,
    items: Sequence[tuple[str, str, ConsentInput]],
    *,
    now: datetime,
) -> None:
    """Store new consents given as (consent id, candidate id, input)."""
    if not items:
        return
    rows = []
    for consent_id, candidate_id, item in items:
        given_at = item.given_at or now
        rows.append(
            {
                "id": consent_id,
                "candidate_id": candidate_id,
                "purposes": list(item.purposes),
                "recipients": dict(item.recipients),
                "given_at": given_at,
                "valid_until": item.valid_until,
                "status": "given",
                "withdrawn_at": None,
                "last_confirmed_at": given_at,
                "collection_method": item.collection_method,
                "notice_version": item.notice_version,
                "evidence": dict(item.evidence) if item.evidence is not None else None,
                "history": [],
            }
        )
    bump_generation(conn)
    conn.execute(insert(consents), rows)


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
