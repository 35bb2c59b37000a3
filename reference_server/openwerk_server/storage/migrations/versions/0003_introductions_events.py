"""Introductions, placement outcomes, webhook subscriptions and deliveries, consent expiries.

Written out rather than derived from ``tables.py`` (see 0001); the storage contract test
compares the migrated schema with ``tables.py``.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _seq() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the tables of the introductions and events classes."""
    op.create_table(
        "introductions",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requester", sa.String(63), nullable=False),
        sa.Column("requester_type", sa.String(64), nullable=False),
        sa.Column("requester_role", sa.String(16), nullable=False),
        sa.Column("contact_person", _json(), nullable=False),
        sa.Column("opportunity_type", sa.String(16), nullable=False),
        sa.Column("opportunity_id", sa.String(64), nullable=False),
        sa.Column("opportunity_node", sa.String(63), nullable=True),
        sa.Column("candidate_id", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(22), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("decided_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("decision_consent", _json(), nullable=True),
        sa.Column("contact", _json(), nullable=True),
        sa.PrimaryKeyConstraint("created_seq", name="pk_introductions"),
        sa.UniqueConstraint("id", name="uq_introductions_id"),
    )
    op.create_index(
        "ix_introductions_requester_created_seq", "introductions", ["requester", "created_seq"]
    )
    op.create_index(
        "ix_introductions_candidate_id_status", "introductions", ["candidate_id", "status"]
    )
    op.create_index("ix_introductions_status_expires_at", "introductions", ["status", "expires_at"])

    op.create_table(
        "placement_outcomes",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("introduction_id", sa.String(64), nullable=False),
        sa.Column("checkpoint", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("document", _json(), nullable=False),
        _ts("recorded_at"),
        sa.ForeignKeyConstraint(
            ["introduction_id"],
            ["introductions.id"],
            name="fk_placement_outcomes_introduction_id_introductions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("created_seq", name="pk_placement_outcomes"),
        sa.UniqueConstraint("id", name="uq_placement_outcomes_id"),
        sa.UniqueConstraint(
            "introduction_id",
            "checkpoint",
            name="uq_placement_outcomes_introduction_id_checkpoint",
        ),
    )

    op.create_table(
        "subscriptions",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("member", sa.String(63), nullable=False),
        sa.Column("member_type", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("types", _json(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.Column("event_cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("created_seq", name="pk_subscriptions"),
        sa.UniqueConstraint("id", name="uq_subscriptions_id"),
    )
    op.create_index(
        "ix_subscriptions_member_created_seq", "subscriptions", ["member", "created_seq"]
    )
    op.create_index("ix_subscriptions_status", "subscriptions", ["status"])

    op.create_table(
        "deliveries",
        sa.Column("created_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        _ts("last_attempt_at", nullable=True),
        _ts("next_attempt_at", nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_deliveries_subscription_id_subscriptions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("created_seq", name="pk_deliveries"),
        sa.UniqueConstraint("id", name="uq_deliveries_id"),
    )
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_deliveries_subscription_id_created_seq",
        "deliveries",
        ["subscription_id", "created_seq"],
    )

    op.create_table(
        "consent_expiries",
        sa.Column("consent_id", sa.String(64), nullable=False),
        _ts("announced_at"),
        sa.PrimaryKeyConstraint("consent_id", name="pk_consent_expiries"),
    )


def downgrade() -> None:
    """Drop what the upgrade created, children first."""
    for table in (
        "consent_expiries",
        "deliveries",
        "subscriptions",
        "placement_outcomes",
        "introductions",
    ):
        op.drop_table(table)
