"""Where the tests find PostgreSQL, and why a test that needs it skips.

PostgreSQL tests use ``OPENWERK_TEST_POSTGRES_URL`` (default 127.0.0.1:5432/test) and skip
with the reason when it does not answer; one probe per test session, whichever file asks.
"""

from __future__ import annotations

import functools
import os

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

__all__ = ["POSTGRES_URL", "postgres_unavailable"]

POSTGRES_URL = os.environ.get(
    "OPENWERK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@functools.cache
def postgres_unavailable() -> str | None:
    """``None`` when PostgreSQL answers at :data:`POSTGRES_URL`, else why not."""
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}"
    finally:
        engine.dispose()
    return None
