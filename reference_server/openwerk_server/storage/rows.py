"""Fetching one row by its key: the lock-and-404 tail every ``fetch_*`` shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select

from openwerk_server.errors import NotFound


def one_row(
    conn: Connection, stmt: Select[Any], *, missing: str, for_update: bool = False
) -> Row[Any]:
    """The single row ``stmt`` selects, locked for the transaction when ``for_update``.

    ``NotFound(missing)`` when there is none: storage says what is missing, never how
    to answer it over HTTP.
    """
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(missing)
    return row
