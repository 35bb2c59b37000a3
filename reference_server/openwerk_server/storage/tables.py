"""The relational schema of a node, as SQLAlchemy Core tables.

Documents are stored whole as JSON (what the publisher sent is what L0 serves), with the
members that filters and ordering need copied into indexed columns. The same tables run on
SQLite and PostgreSQL; the migration in ``migrations/versions`` creates exactly these, and the
storage contract test compares the two so they cannot drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "UTCDateTime",
    "access_log",
    "candidates",
    "consent_expiries",
    "consents",
    "deliveries",
    "events",
    "instrument_gemeenten",
    "instruments",
    "introductions",
    "metadata",
    "opportunities",
    "opportunity_instruments",
    "opportunity_skills",
    "placement_outcomes",
    "pool_state",
    "subscriptions",
    "used_assertions",
]

# Constraint names fixed by convention so the migration and these tables agree on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` on both backends.

    SQLite has no time zones: values go in as naive UTC in one fixed format (so text order is
    time order) and come back aware. PostgreSQL stores ``timestamptz``. Naive values are a bug
    in the caller and are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


# SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
_ID = String(64)
_CODE = String(64)

opportunities = Table(
    "opportunities",
    metadata,
    # Monotonic insertion order (the row key); lists sort on (created_at, id), as the spec says.
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column("resource", String(16), nullable=False),  # vacancy | task-offer
    Column("publisher", String(63), nullable=False),
    Column("kind", _CODE, nullable=False),
    Column("status", String(16), nullable=False),
    Column("isco08", String(4), nullable=False),
    Column("esco_uri", String()),  # the spec bounds it by pattern only
    Column("gemeente", String(6), nullable=False),
    Column("arbeidsmarktregio", String(4), nullable=False),
    Column("hours_min", Integer, nullable=False),
    Column("hours_max", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("document", _json(), nullable=False),
    Index(None, "resource", "status", "created_at", "id"),
    Index(None, "isco08"),
    Index(None, "esco_uri"),
    Index(None, "gemeente"),
    Index(None, "arbeidsmarktregio"),
    Index(None, "kind"),
    Index(None, "updated_at"),
    Index(None, "hours_min", "hours_max"),
    Index(None, "publisher"),
)

opportunity_skills = Table(
    "opportunity_skills",
    metadata,
    Column(
        "opportunity_id",
        _ID,
        ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The ESCO URI, or the case-folded label: both are ways a client names a skill.
    Column("skill_key", String(), primary_key=True),
    Index(None, "skill_key"),
)

opportunity_instruments = Table(
    "opportunity_instruments",
    metadata,
    Column(
        "opportunity_id",
        _ID,
        ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("instrument_type", _CODE, primary_key=True),
    Index(None, "instrument_type"),
)

instruments = Table(
    "instruments",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column("publisher", String(63), nullable=False),
    Column("type", _CODE, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("document", _json(), nullable=False),
    Index(None, "status", "created_at", "id"),
    Index(None, "type"),
    Index(None, "updated_at"),
)

instrument_gemeenten = Table(
    "instrument_gemeenten",
    metadata,
    Column(
        "instrument_id",
        _ID,
        ForeignKey("instruments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("gemeente", String(6), primary_key=True),
    Index(None, "gemeente"),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("external_reference", String(100)),
    Column("gemeente", String(6), nullable=False),
    Column("arbeidsmarktregio", String(4), nullable=False),
    Column("birth_date", Date, nullable=False),
    # Identified data (name, BSN, contact, address): only the publication API reads it.
    Column("person", _json(), nullable=False),
    # Everything else the custodian sent: the raw material of the L2 card.
    Column("profile", _json(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "external_reference"),
    Index(None, "gemeente"),
    Index(None, "arbeidsmarktregio"),
)

consents = Table(
    "consents",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column(
        "candidate_id",
        _ID,
        ForeignKey("candidates.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("purposes", _json(), nullable=False),
    Column("recipients", _json(), nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("valid_until", Date, nullable=False),
    # given | withdrawn; "expired" is computed from valid_until at read time.
    Column("status", String(16), nullable=False),
    Column("withdrawn_at", UTCDateTime),
    Column("last_confirmed_at", UTCDateTime, nullable=False),
    Column("collection_method", _CODE, nullable=False),
    Column("notice_version", String(50), nullable=False),
    Column("evidence", _json()),
    # Re-confirmations and the withdrawal, with their evidence: the consent's audit trail.
    Column("history", _json(), nullable=False),
    Index(None, "candidate_id", "created_seq"),
    Index(None, "status", "valid_until"),
)

events = Table(
    "events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("subject", _ID, nullable=False),
    Column("resource_id", _ID, nullable=False),
    # NULL: for every consumer. Candidate events are addressed per consumer when the
    # events class renders them (subject = that consumer's pseudonym).
    Column("recipient", String(63)),
    Column("time", UTCDateTime, nullable=False),
    Column("data", _json(), nullable=False),
    Index(None, "resource_id"),
    Index(None, "recipient", "seq"),
)

used_assertions = Table(
    "used_assertions",
    metadata,
    Column("client_id", String(63), primary_key=True),
    Column("jti", String(), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# ---------------------------------------------------------------------------- L2 views (0002)
# One row: a number bumped in the same transaction as every candidate or consent write. The
# per-consumer views (privacy.pool.PoolCache) are cached per generation, so every replica
# sharing the database sees a withdrawal before its next card (OW-CONSENT-006).
pool_state = Table(
    "pool_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
)

# The processing log in the shape of Logboek Dataverwerkingen (OW-LOG-001..005): append-only;
# ``candidate_id`` is the internal id and never leaves the publication API. No foreign key:
# the records outlive an erased candidate for the custodian's retention period.
access_log = Table(
    "access_log",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("time", UTCDateTime, nullable=False),
    Column("consumer", String(63), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("activity_id", String(200)),
    Column("candidate_id", _ID, nullable=False),
    Index(None, "candidate_id", "time"),
)


# ---------------------------------------------------------------------------- L3 and events
# Introductions, placement outcomes, webhook subscriptions and their deliveries (revision 0003).

introductions = Table(
    "introductions",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    # pending | accepted | declined | cancelled | expired ("expired" is also computed at read
    # time from expires_at and persisted lazily).
    Column("status", String(16), nullable=False),
    Column("requester", String(63), nullable=False),
    # The requester's organisation type when it asked: whether a consent still covers it.
    Column("requester_type", _CODE, nullable=False),
    Column("requester_role", String(16), nullable=False),
    Column("contact_person", _json(), nullable=False),
    Column("opportunity_type", String(16), nullable=False),
    Column("opportunity_id", _ID, nullable=False),
    Column("opportunity_node", String(63)),
    # Not a foreign key: an erased candidate's introductions stay (cancelled) for the requester.
    Column("candidate_id", _ID, nullable=False),
    # The pseudonym the requester used (its own; no other consumer's).
    Column("pseudonym", String(22), nullable=False),
    Column("message", String(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    # The candidate's consent to this one introduction (collectionMethod, noticeVersion, evidence).
    Column("decision_consent", _json()),
    # The contact channel the candidate chose on acceptance (cleared on erasure).
    Column("contact", _json()),
    Index(None, "requester", "created_seq"),
    Index(None, "candidate_id", "status"),
    Index(None, "status", "expires_at"),
)

placement_outcomes = Table(
    "placement_outcomes",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column(
        "introduction_id",
        _ID,
        ForeignKey("introductions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("checkpoint", String(16), nullable=False),
    Column("outcome", _CODE, nullable=False),
    Column("document", _json(), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("introduction_id", "checkpoint"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column("member", String(63), nullable=False),
    # The member's organisation type when it subscribed: which candidate events it may get.
    Column("member_type", _CODE, nullable=False),
    Column("url", String(2000), nullable=False),
    Column("types", _json(), nullable=False),
    # Needed in clear to sign deliveries; never returned, logged or put in an event.
    Column("secret", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # active | failed
    Column("created_at", UTCDateTime, nullable=False),
    # The last event sequence number already turned into deliveries for this subscription.
    Column("event_cursor", BigInteger, nullable=False),
    Index(None, "member", "created_seq"),
    Index(None, "status"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("created_seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column(
        "subscription_id",
        _ID,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    # The exact bytes sent (UTF-8 JSON of one CloudEvent), the same on every attempt.
    Column("body", String(), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("last_response_status", Integer),
    Column("last_attempt_at", UTCDateTime),
    # Also the claim: a worker moves it forward before sending, so no other replica sends too.
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "status", "next_attempt_at"),
    Index(None, "subscription_id", "created_seq"),
)

# Consents whose expiry has been announced (tombstones, cancelled introductions): expiry
# happens by date, without a write, so a sweep records it once.
consent_expiries = Table(
    "consent_expiries",
    metadata,
    Column("consent_id", _ID, primary_key=True),
    Column("announced_at", UTCDateTime, nullable=False),
)
