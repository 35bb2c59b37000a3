"""SQL for introductions (L3) and their placement outcomes.

State machine (spec/docs/introductions.md, OW-INTRO-004): ``pending`` → ``accepted`` |
``declined`` (the custodian records the candidate's answer) | ``cancelled`` (the requester,
or the node when the profile is no longer published to the requester, OW-CONSENT-009) |
``expired`` (time, OW-INTRO-003). The four targets are final; anything else raises
``IllegalTransition``. Expiry is decided from ``expires_at`` whenever an introduction is read
(``effective_status``) and persisted by ``expire_due`` with its event and log record.

Every step writes a processing-log record for the candidate in the same transaction
(OW-LOG-002), and every status change records ``nl.openwerk.introduction.updated`` for the
requester only (OW-EVT-002). Functions run inside the ``Store``'s transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update

from openwerk_server.errors import Conflict, IllegalTransition
from openwerk_server.privacy.consent import ConsentRecord, Consumer, coverage
from openwerk_server.storage.access_log import AccessRecord, insert_access_records
from openwerk_server.storage.audience import (
    audience_covers,
    candidate_consents,
    dutch,
    matching_recipients,
)
from openwerk_server.storage.events import record_event
from openwerk_server.storage.queries import Key, Page
from openwerk_server.storage.records import rfc3339
from openwerk_server.storage.rows import one_row
from openwerk_server.storage.tables import (
    candidates,
    consent_expiries,
    consents,
    introductions,
    opportunities,
    placement_outcomes,
)

__all__ = [
    "DecisionInput",
    "IntroductionInput",
    "IntroductionQuery",
    "OutcomeQuery",
    "PlacementFact",
    "StoredIntroduction",
    "StoredOutcome",
    "Trace",
    "announce_consent_expiries",
    "close_after_consent_change",
    "close_after_erasure",
    "decide_introduction",
    "expire_due",
    "fetch_introduction",
    "insert_introduction",
    "insert_outcome",
    "placement_facts",
    "requester_cancels",
    "reveal_identity",
    "select_introductions",
    "select_outcomes",
    "work_due",
]

PURPOSE = "introduction"
FINAL = frozenset({"accepted", "declined", "cancelled", "expired"})


@dataclass(frozen=True)
class Trace:
    """The W3C trace context a processing-log record carries (OW-LOG-003)."""

    trace_id: str
    span_id: str

    @classmethod
    def new(cls) -> Trace:
        """A fresh trace, for steps no request caused (expiry found by the worker)."""
        return cls(secrets.token_hex(16), secrets.token_hex(8))


# ---------------------------------------------------------------------------- values
@dataclass(frozen=True)
class IntroductionInput:
    """A validated ``IntroductionRequest`` with the resolved candidate and the requester."""

    requester: str
    requester_type: str
    role: str
    contact_person: Mapping[str, Any]
    opportunity_type: str
    opportunity_id: str
    opportunity_node: str | None
    candidate_id: str
    pseudonym: str
    message: str


@dataclass(frozen=True)
class DecisionInput:
    """A validated ``IntroductionDecision``."""

    decision: str
    consent: Mapping[str, Any]
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class IntroductionQuery:
    """``listIntroductions`` (``requester`` set) or ``listIntroductionRequests`` (None)."""

    requester: str | None
    status: str | None = None
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class OutcomeQuery:
    """``listPlacementOutcomes``: oldest first."""

    introduction_id: str
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class StoredIntroduction:
    """An introduction as stored; ``status`` is the stored state (see ``effective_status``)."""

    created_seq: int
    id: str
    status: str
    requester: str
    requester_type: str
    requester_role: str
    contact_person: Mapping[str, Any]
    opportunity_type: str
    opportunity_id: str
    opportunity_node: str | None
    candidate_id: str
    pseudonym: str
    message: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None
    decision_consent: Mapping[str, Any] | None
    contact: Mapping[str, Any] | None

    def effective_status(self, now: datetime) -> str:
        """``expired`` from ``expires_at`` on, for a pending introduction (OW-INTRO-003)."""
        if self.status == "pending" and now >= self.expires_at:
            return "expired"
        return self.status

    @property
    def opportunity(self) -> dict[str, Any]:
        """The ``OpportunityReference`` as the requester gave it."""
        ref: dict[str, Any] = {"type": self.opportunity_type, "id": self.opportunity_id}
        if self.opportunity_node is not None:
            ref["node"] = self.opportunity_node
        return ref

    def _fields(self, now: datetime) -> dict[str, Any]:
        status = self.effective_status(now)
        document: dict[str, Any] = {
            "id": self.id,
            "status": status,
            "requester": {
                "member": self.requester,
                "role": self.requester_role,
                "contactPerson": dict(self.contact_person),
            },
            "opportunity": self.opportunity,
            "candidate": self.pseudonym,
            "message": self.message,
            "createdAt": rfc3339(self.created_at),
            "expiresAt": rfc3339(self.expires_at),
        }
        if self.decided_at is not None:
            document["decidedAt"] = rfc3339(self.decided_at)
        closed = self.closed_at
        if closed is None and status == "expired":
            closed = self.expires_at
        if closed is not None:
            document["closedAt"] = rfc3339(closed)
        return document

    def as_introduction(
        self, now: datetime, identity: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``Introduction`` document for its requester; ``identity`` only when revealed."""
        document = self._fields(now)
        if identity is not None:
            document["identity"] = dict(identity)
        return document

    def as_record(self, now: datetime) -> dict[str, Any]:
        """The ``IntroductionRecord`` document (publication API only)."""
        document = self._fields(now)
        document["candidateId"] = self.candidate_id
        if self.contact is not None:
            document["contact"] = dict(self.contact)
        return document


@dataclass(frozen=True)
class StoredOutcome:
    """A placement outcome as stored."""

    created_seq: int
    id: str
    introduction_id: str
    checkpoint: str
    outcome: str
    document: Mapping[str, Any]
    recorded_at: datetime

    def as_document(self) -> dict[str, Any]:
        """The ``PlacementOutcome`` document."""
        document = dict(self.document)
        document.update(
            id=self.id,
            introductionId=self.introduction_id,
            recordedAt=rfc3339(self.recorded_at),
        )
        return document


@dataclass(frozen=True)
class PlacementFact:
    """One outcome with what placement statistics may group it by (no identifying data)."""

    arbeidsmarktregio: str
    opportunity_kind: str
    instruments: tuple[str, ...]
    outcome: str
    checkpoint: str
    contract_type: str | None


# ---------------------------------------------------------------------------- rows
def _introduction(row: Row[Any]) -> StoredIntroduction:
    m = row._mapping
    return StoredIntroduction(
        created_seq=m["created_seq"],
        id=m["id"],
        status=m["status"],
        requester=m["requester"],
        requester_type=m["requester_type"],
        requester_role=m["requester_role"],
        contact_person=m["contact_person"],
        opportunity_type=m["opportunity_type"],
        opportunity_id=m["opportunity_id"],
        opportunity_node=m["opportunity_node"],
        candidate_id=m["candidate_id"],
        pseudonym=m["pseudonym"],
        message=m["message"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        decided_at=m["decided_at"],
        closed_at=m["closed_at"],
        decision_consent=m["decision_consent"],
        contact=m["contact"],
    )


def _outcome(row: Row[Any]) -> StoredOutcome:
    m = row._mapping
    return StoredOutcome(
        created_seq=m["created_seq"],
        id=m["id"],
        introduction_id=m["introduction_id"],
        checkpoint=m["checkpoint"],
        outcome=m["outcome"],
        document=m["document"],
        recorded_at=m["recorded_at"],
    )


def _log(
    conn: Connection,
    intro: StoredIntroduction,
    *,
    operation: str,
    trace: Trace,
    now: datetime,
) -> None:
    """The processing-log record of one step, about the candidate, naming the requester."""
    insert_access_records(
        conn,
        [
            AccessRecord(
                candidate_id=intro.candidate_id,
                time=now,
                consumer=intro.requester,
                purpose=PURPOSE,
                operation=operation,
                trace_id=trace.trace_id,
                span_id=trace.span_id,
            )
        ],
    )


def _announce(conn: Connection, intro: StoredIntroduction, status: str, now: datetime) -> None:
    """``nl.openwerk.introduction.updated`` in the requester's feed, and only there."""
    record_event(
        conn,
        resource="introduction",
        action="updated",
        resource_id=intro.id,
        time=now,
        data={"id": intro.id, "status": status},
        recipient=intro.requester,
    )


def _set_status(
    conn: Connection, intro: StoredIntroduction, status: str, now: datetime, **values: Any
) -> StoredIntroduction:
    conn.execute(
        update(introductions).where(introductions.c.id == intro.id).values(status=status, **values)
    )
    _announce(conn, intro, status, now)
    return fetch_introduction(conn, intro.id)


# ---------------------------------------------------------------------------- introductions
def insert_introduction(
    conn: Connection,
    item: IntroductionInput,
    *,
    new_id: str,
    now: datetime,
    ttl: timedelta,
    trace: Trace,
) -> StoredIntroduction:
    """A new ``pending`` introduction expiring after ``ttl`` (OW-INTRO-001, OW-INTRO-003)."""
    conn.execute(
        insert(introductions).values(
            id=new_id,
            status="pending",
            requester=item.requester,
            requester_type=item.requester_type,
            requester_role=item.role,
            contact_person=dict(item.contact_person),
            opportunity_type=item.opportunity_type,
            opportunity_id=item.opportunity_id,
            opportunity_node=item.opportunity_node,
            candidate_id=item.candidate_id,
            pseudonym=item.pseudonym,
            message=item.message,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    stored = fetch_introduction(conn, new_id)
    _log(conn, stored, operation="createIntroduction", trace=trace, now=now)
    return stored


def fetch_introduction(
    conn: Connection,
    introduction_id: str,
    *,
    requester: str | None = None,
    for_update: bool = False,
) -> StoredIntroduction:
    """One introduction; with ``requester``, only that member's (another's is ``NotFound``)."""
    c = introductions.c
    stmt = select(introductions).where(c.id == introduction_id)
    if requester is not None:
        stmt = stmt.where(c.requester == requester)
    missing = f"No introduction {introduction_id!r} at this node."
    return _introduction(one_row(conn, stmt, missing=missing, for_update=for_update))


def select_introductions(
    conn: Connection, query: IntroductionQuery, *, now: datetime
) -> Page[StoredIntroduction]:
    """A page of introductions, newest first, filtered on the status as of ``now``."""
    c = introductions.c
    stmt = select(introductions)
    if query.requester is not None:
        stmt = stmt.where(c.requester == query.requester)
    if query.status == "pending":
        stmt = stmt.where(c.status == "pending", c.expires_at > now)
    elif query.status == "expired":
        stmt = stmt.where(
            or_(c.status == "expired", and_(c.status == "pending", c.expires_at <= now))
        )
    elif query.status is not None:
        stmt = stmt.where(c.status == query.status)
    if query.after is not None:
        stmt = stmt.where(c.created_seq < int(query.after[0]))
    rows = conn.execute(stmt.order_by(c.created_seq.desc()).limit(query.limit + 1)).all()
    items = tuple(_introduction(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].created_seq,) if more and items else None)


def _refuse_unless_pending(intro: StoredIntroduction, now: datetime, action: str) -> None:
    status = intro.effective_status(now)
    if status != "pending":
        raise IllegalTransition(
            f"Only a pending introduction can be {action}; this one is {status}."
        )


def requester_cancels(
    conn: Connection, introduction_id: str, *, requester: str, now: datetime, trace: Trace
) -> StoredIntroduction:
    """pending → cancelled by its requester."""
    intro = fetch_introduction(conn, introduction_id, requester=requester, for_update=True)
    _refuse_unless_pending(intro, now, "cancelled")
    stored = _set_status(conn, intro, "cancelled", now, closed_at=now)
    _log(conn, stored, operation="cancelIntroduction", trace=trace, now=now)
    return stored


def decide_introduction(
    conn: Connection,
    introduction_id: str,
    decision: DecisionInput,
    *,
    now: datetime,
    trace: Trace,
) -> StoredIntroduction:
    """pending → accepted (with the introduction consent and contact) | declined (no reason)."""
    intro = fetch_introduction(conn, introduction_id, for_update=True)
    _refuse_unless_pending(intro, now, "decided")
    consent = {
        key: decision.consent[key]
        for key in ("collectionMethod", "noticeVersion", "evidence")
        if key in decision.consent
    }
    contact = (
        dict(decision.contact) if decision.decision == "accepted" and decision.contact else None
    )
    stored = _set_status(
        conn,
        intro,
        decision.decision,
        now,
        decided_at=now,
        decision_consent=consent,
        contact=contact,
    )
    _log(conn, stored, operation="recordIntroductionDecision", trace=trace, now=now)
    return stored


def expire_due(conn: Connection, *, now: datetime, trace: Trace) -> int:
    """Persist ``expired`` for every pending introduction past ``expires_at``."""
    c = introductions.c
    rows = conn.execute(
        select(introductions)
        .where(c.status == "pending", c.expires_at <= now)
        .order_by(c.expires_at, c.created_seq)
        .with_for_update()
    ).all()
    for row in rows:
        intro = _introduction(row)
        expired = _set_status(conn, intro, "expired", now, closed_at=intro.expires_at)
        _log(conn, expired, operation="expireIntroduction", trace=trace, now=now)
    return len(rows)


def _pending_for(conn: Connection, candidate_id: str) -> list[StoredIntroduction]:
    c = introductions.c
    rows = conn.execute(
        select(introductions)
        .where(c.candidate_id == candidate_id, c.status == "pending")
        .order_by(c.created_seq)
        .with_for_update()
    ).all()
    return [_introduction(row) for row in rows]


def close_after_consent_change(
    conn: Connection, candidate_id: str, *, now: datetime, operation: str, trace: Trace
) -> int:
    """Cancel the pending introductions of requesters no ``matching`` consent covers any more
    (OW-CONSENT-009); the caller has just changed the candidate's consents."""
    pending = _pending_for(conn, candidate_id)
    if not pending:
        return 0
    recipients = matching_recipients(candidate_consents(conn, [candidate_id])[candidate_id], now)
    closed = 0
    for intro in pending:
        if intro.effective_status(now) != "pending":
            continue  # expired already; expire_due records that
        if audience_covers(recipients, Consumer(intro.requester, intro.requester_type)):
            continue
        stored = _set_status(conn, intro, "cancelled", now, closed_at=now)
        _log(conn, stored, operation=operation, trace=trace, now=now)
        closed += 1
    return closed


def close_after_erasure(conn: Connection, candidate_id: str, *, now: datetime, trace: Trace) -> int:
    """Erasure: pending introductions become ``cancelled``, and the contact channel an
    accepted one recorded is erased with the record (the decision itself stays)."""
    closed = 0
    for intro in _pending_for(conn, candidate_id):
        if intro.effective_status(now) != "pending":
            continue
        stored = _set_status(conn, intro, "cancelled", now, closed_at=now)
        _log(conn, stored, operation="deleteCandidateRecord", trace=trace, now=now)
        closed += 1
    conn.execute(
        update(introductions)
        .where(introductions.c.candidate_id == candidate_id, introductions.c.contact.is_not(None))
        .values(contact=None)
    )
    return closed


def reveal_identity(
    conn: Connection, intro: StoredIntroduction, *, now: datetime, trace: Trace, operation: str
) -> dict[str, Any] | None:
    """The identity of an accepted introduction for its requester, with its log record.

    Only while the candidate's record exists and a ``matching`` consent in force still
    covers the requester: once the candidate withdraws (or the consent expires, or the record
    is erased), the name and contact are no longer shown, although the introduction stays
    ``accepted`` (a deliberate, privacy-protective reading of OW-INTRO-006).
    """
    if intro.effective_status(now) != "accepted" or intro.contact is None:
        return None
    row = conn.execute(
        select(candidates.c.person).where(candidates.c.id == intro.candidate_id)
    ).first()
    if row is None:
        return None
    rows = candidate_consents(conn, [intro.candidate_id])[intro.candidate_id]
    consumer = Consumer(intro.requester, intro.requester_type)
    if not audience_covers(matching_recipients(rows, now), consumer):
        return None
    person = row._mapping["person"]
    _log(conn, intro, operation=operation, trace=trace, now=now)
    return {
        "givenName": person["givenName"],
        "familyName": person["familyName"],
        "contact": dict(intro.contact),
    }


def work_due(conn: Connection, *, now: datetime, include_consents: bool = True) -> bool:
    """Whether ``expire_due`` (or, with ``include_consents``, ``announce_consent_expiries``)
    has anything to do."""
    i, c = introductions.c, consents.c
    expiring = conn.execute(
        select(i.id).where(i.status == "pending", i.expires_at <= now).limit(1)
    ).first()
    if expiring is not None:
        return True
    if not include_consents:
        return False
    lapsed = conn.execute(
        select(c.id)
        .where(
            c.status == "given",
            c.valid_until < dutch(now).date(),
            c.id.not_in(select(consent_expiries.c.consent_id)),
        )
        .limit(1)
    ).first()
    return lapsed is not None


# ---------------------------------------------------------------------------- consent expiry
def announce_consent_expiries(conn: Connection, *, now: datetime, trace: Trace) -> int:
    """Record, once per consent, what its expiry changes: a tombstone with its audience and
    the cancellation of pending introductions it no longer covers (OW-CONSENT-007/-009).

    Expiry needs no write to take effect on cards (the views decide it from the date); this
    sweep only announces it. A consent is expired from the day after ``validUntil``.
    """
    c = consents.c
    announced = select(consent_expiries.c.consent_id)
    rows = conn.execute(
        select(consents)
        .where(
            c.status == "given",
            c.valid_until < dutch(now).date(),
            c.id.not_in(announced),
        )
        .order_by(c.candidate_id, c.created_seq)
    ).all()
    if not rows:
        return 0
    by_candidate: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_candidate.setdefault(row._mapping["candidate_id"], []).append(dict(row._mapping))
    current = candidate_consents(conn, by_candidate)
    for candidate_id, expired in by_candidate.items():
        after = matching_recipients(current[candidate_id], now)
        before = after + [
            dict(row["recipients"]) for row in expired if "matching" in row["purposes"]
        ]
        if len(before) > len(after):
            record_event(
                conn,
                resource="candidate",
                action="tombstone",
                resource_id=candidate_id,
                time=now,
                data={"audience": {"before": before, "after": after}},
            )
        close_after_consent_change(
            conn, candidate_id, now=now, operation="consentExpiry", trace=trace
        )
    conn.execute(
        insert(consent_expiries),
        [{"consent_id": row._mapping["id"], "announced_at": now} for row in rows],
    )
    return len(rows)


# ---------------------------------------------------------------------------- outcomes
def insert_outcome(
    conn: Connection,
    introduction_id: str,
    document: Mapping[str, Any],
    *,
    new_id: str,
    now: datetime,
) -> StoredOutcome:
    """One outcome per checkpoint, only after an accepted introduction (OW-INTRO-009)."""
    intro = fetch_introduction(conn, introduction_id, for_update=True)
    status = intro.effective_status(now)
    if status != "accepted":
        raise IllegalTransition(
            f"Outcomes are recorded only for accepted introductions; this one is {status}."
        )
    c = placement_outcomes.c
    checkpoint = document["checkpoint"]
    taken = conn.execute(
        select(c.id).where(c.introduction_id == introduction_id, c.checkpoint == checkpoint)
    ).first()
    if taken is not None:
        raise Conflict(f"An outcome for checkpoint {checkpoint!r} is already recorded.")
    conn.execute(
        insert(placement_outcomes).values(
            id=new_id,
            introduction_id=introduction_id,
            checkpoint=checkpoint,
            outcome=document["outcome"],
            document=dict(document),
            recorded_at=now,
        )
    )
    row = conn.execute(select(placement_outcomes).where(c.id == new_id)).one()
    return _outcome(row)


def select_outcomes(conn: Connection, query: OutcomeQuery) -> Page[StoredOutcome]:
    """A page of one introduction's outcomes, oldest first."""
    fetch_introduction(conn, query.introduction_id)
    c = placement_outcomes.c
    stmt = select(placement_outcomes).where(c.introduction_id == query.introduction_id)
    if query.after is not None:
        stmt = stmt.where(c.created_seq > int(query.after[0]))
    rows = conn.execute(stmt.order_by(c.created_seq).limit(query.limit + 1)).all()
    items = tuple(_outcome(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, (items[-1].created_seq,) if more and items else None)


def _statistics_covers(
    rows: Sequence[Mapping[str, Any]], consumer: Consumer, now: datetime
) -> bool:
    records = [
        ConsentRecord(
            purposes=frozenset(r["purposes"]),
            recipients=r["recipients"],
            status=r["status"],
            given_at=r["given_at"],
            valid_until=r["valid_until"],
            last_confirmed_at=r["last_confirmed_at"],
        )
        for r in rows
    ]
    return "statistics" in coverage(records, consumer, dutch(now)).purposes


def placement_facts(
    conn: Connection,
    consumer: Consumer,
    *,
    now: datetime,
    node_id: str,
    arbeidsmarktregio: str | None = None,
) -> list[PlacementFact]:
    """Outcomes after accepted introductions of candidates whose ``statistics`` consent in
    force covers ``consumer`` (OW-STAT-005), with the dimensions statistics may show."""
    o, i, k = placement_outcomes.c, introductions.c, candidates.c
    stmt = (
        select(
            o.outcome,
            o.checkpoint,
            o.document,
            i.candidate_id,
            i.opportunity_type,
            i.opportunity_id,
            i.opportunity_node,
            k.arbeidsmarktregio,
        )
        .select_from(
            placement_outcomes.join(introductions, o.introduction_id == i.id).join(
                candidates, i.candidate_id == k.id
            )
        )
        .where(i.status == "accepted")
    )
    if arbeidsmarktregio is not None:
        stmt = stmt.where(k.arbeidsmarktregio == arbeidsmarktregio)
    rows = [row._mapping for row in conn.execute(stmt)]
    if not rows:
        return []
    held = candidate_consents(conn, {r["candidate_id"] for r in rows})
    counted = {cid for cid, cs in held.items() if _statistics_covers(cs, consumer, now)}
    local = {
        r["opportunity_id"]
        for r in rows
        if r["opportunity_node"] in (None, node_id) and r["candidate_id"] in counted
    }
    kinds: dict[tuple[str, str], str] = {}
    if local:
        p = opportunities.c
        for row in conn.execute(select(p.id, p.resource, p.kind).where(p.id.in_(sorted(local)))):
            kinds[(row.resource, row.id)] = row.kind
    facts = []
    for r in rows:
        if r["candidate_id"] not in counted:
            continue
        kind = "unknown"
        if r["opportunity_node"] in (None, node_id):
            kind = kinds.get((r["opportunity_type"], r["opportunity_id"]), "unknown")
        document = r["document"]
        contract = document.get("contract")
        facts.append(
            PlacementFact(
                arbeidsmarktregio=r["arbeidsmarktregio"],
                opportunity_kind=kind,
                instruments=tuple(document.get("instruments") or ()),
                outcome=r["outcome"],
                checkpoint=r["checkpoint"],
                contract_type=contract.get("type") if isinstance(contract, Mapping) else None,
            )
        )
    return facts
