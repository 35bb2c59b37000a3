"""Alembic environment for a node's database.

``Store.migrate()`` hands over an open connection (``config.attributes["connection"]``) so
migrations run inside its transaction. Run by hand (``alembic -c ... upgrade head``), it
reads ``sqlalchemy.url`` or ``OPENWERK_DATABASE_URL``; ``--sql`` writes the DDL for a DBA.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from openwerk_server.storage.tables import metadata


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "OPENWERK_DATABASE_URL", "sqlite:///./openwerk.db"
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run the migrations offline (SQL script), on a given connection, or on a new engine."""
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


main()
