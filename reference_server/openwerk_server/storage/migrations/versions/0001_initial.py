"""Initial schema: opportunities, instruments, candidates, consents, events, used assertions.

Written out rather than derived from ``tables.py``: a migration is a frozen record of what a
database looked like at one revision. The storage contract test compares the migrated schema
with ``tables.py`` so the two stay in step.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _seq() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table of the first revision."""
    op.create_table(
        "opportunities",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(16), nullable=False),
        sa.Column("publisher", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("isco08", sa.String(4), nullable=False),
        sa.Column("esco_uri", sa.String(), nullable=True),
        sa.Column("gemeente", sa.String(6), nullable=False),
        sa.Column("arbeidsmarktregio", sa.String(4), nullable=False),
        sa.Column("hours_min", sa.Integer(), nullable=False),
        sa.Column("hours_max", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("closed_at", nullable=True),
        sa.Column("document", _json(), nullable=False),
        sa.PrimaryKeyConstraint("created_seq", name="pk_opportunities"),
        sa.UniqueConstraint("id", name="uq_opportunities_id"),
    )
    for name, columns in (
        ("resource_status_created_at_id", ["resource", "status", "created_at", "id"]),
        ("isco08", ["isco08"]),
        ("esco_uri", ["esco_uri"]),
        ("gemeente", ["gemeente"]),
        ("arbeidsmarktregio", ["arbeidsmarktregio"]),
        ("kind", ["kind"]),
        ("updated_at", ["updated_at"]),
        ("hours_min_hours_max", ["hours_min", "hours_max"]),
        ("publisher", ["publisher"]),
    ):
        op.create_index(f"ix_opportunities_{name}", "opportunities", columns)

    op.create_table(
        "opportunity_skills",
        sa.Column("opportunity_id", sa.String(64), nullable=False),
        sa.Column("skill_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name="fk_opportunity_skills_opportunity_id_opportunities",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "skill_key", name="pk_opportunity_skills"),
    )
    op.create_index("ix_opportunity_skills_skill_key", "opportunity_skills", ["skill_key"])

    op.create_table(
        "opportunity_instruments",
        sa.Column("opportunity_id", sa.String(64), nullable=False),
        sa.Column("instrument_type", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name="fk_opportunity_instruments_opportunity_id_opportunities",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "opportunity_id", "instrument_type", name="pk_opportunity_instruments"
        ),
    )
    op.create_index(
        "ix_opportunity_instruments_instrument_type",
        "opportunity_instruments",
        ["instrument_type"],
    )

    op.create_table(
        "instruments",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("publisher", sa.String(63), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("closed_at", nullable=True),
        sa.Column("document", _json(), nullable=False),
        sa.PrimaryKeyConstraint("created_seq", name="pk_instruments"),
        sa.UniqueConstraint("id", name="uq_instruments_id"),
    )
    op.create_index(
        "ix_instruments_status_created_at_id", "instruments", ["status", "created_at", "id"]
    )
    op.create_index("ix_instruments_type", "instruments", ["type"])
    op.create_index("ix_instruments_updated_at", "instruments", ["updated_at"])

    op.create_table(
        "instrument_gemeenten",
        sa.Column("instrument_id", sa.String(64), nullable=False),
        sa.Column("gemeente", sa.String(6), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name="fk_instrument_gemeenten_instrument_id_instruments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instrument_id", "gemeente", name="pk_instrument_gemeenten"),
    )
    op.create_index("ix_instrument_gemeenten_gemeente", "instrument_gemeenten", ["gemeente"])

    op.create_table(
        "candidates",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("external_reference", sa.String(100), nullable=True),
        sa.Column("gemeente", sa.String(6), nullable=False),
        sa.Column("arbeidsmarktregio", sa.String(4), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("person", _json(), nullable=False),
        sa.Column("profile", _json(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
    )
    for column in ("external_reference", "gemeente", "arbeidsmarktregio"):
        op.create_index(f"ix_candidates_{column}", "candidates", [column])

    op.create_table(
        "consents",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("candidate_id", sa.String(64), nullable=False),
        sa.Column("purposes", _json(), nullable=False),
        sa.Column("recipients", _json(), nullable=False),
        _ts("given_at"),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("withdrawn_at", nullable=True),
        _ts("last_confirmed_at"),
        sa.Column("collection_method", sa.String(64), nullable=False),
        sa.Column("notice_version", sa.String(50), nullable=False),
        sa.Column("evidence", _json(), nullable=True),
        sa.Column("history", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_consents_candidate_id_candidates",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("created_seq", name="pk_consents"),
        sa.UniqueConstraint("id", name="uq_consents_id"),
    )
    op.create_index(
        "ix_consents_candidate_id_created_seq", "consents", ["candidate_id", "created_seq"]
    )
    op.create_index("ix_consents_status_valid_until", "consents", ["status", "valid_until"])

    op.create_table(
        "events",
        sa.Column("seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(63), nullable=True),
        _ts("time"),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_resource_id", "events", ["resource_id"])
    op.create_index("ix_events_recipient_seq", "events", ["recipient", "seq"])

    op.create_table(
        "used_assertions",
        sa.Column("client_id", sa.String(63), nullable=False),
        sa.Column("jti", sa.String(), nullable=False),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("client_id", "jti", name="pk_used_assertions"),
    )
    op.create_index("ix_used_assertions_expires_at", "used_assertions", ["expires_at"])


def downgrade() -> None:
    """Drop everything the upgrade created, children first."""
    for table in (
        "used_assertions",
        "events",
        "consents",
        "candidates",
        "instrument_gemeenten",
        "instruments",
        "opportunity_instruments",
        "opportunity_skills",
        "opportunities",
    ):
        op.drop_table(table)
