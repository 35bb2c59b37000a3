"""L2 views and accountability: the pool generation and the processing log.

``pool_state`` holds one row whose ``generation`` every candidate or consent write bumps in
its own transaction; the per-consumer view cache compares it on every read. ``access_log``
holds the processing-log records (Logboek Dataverwerkingen) per candidate.

Written out rather than derived from ``tables.py`` (see 0001); the storage contract test
compares the migrated schema with ``tables.py``.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``pool_state`` (with its one row) and ``access_log``."""
    pool_state = op.create_table(
        "pool_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pool_state"),
    )
    op.bulk_insert(pool_state, [{"id": 1, "generation": 0}])

    op.create_table(
        "access_log",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumer", sa.String(63), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("activity_id", sa.String(200), nullable=True),
        sa.Column("candidate_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_candidate_id_time", "access_log", ["candidate_id", "time"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("access_log")
    op.drop_table("pool_state")
