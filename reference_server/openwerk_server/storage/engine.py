"""Engines for the two backends, configured the way the store relies on.

SQLite: a file (or one shared in-memory database), WAL journal, foreign keys on, a busy
timeout, and transactions the store begins itself (``BEGIN IMMEDIATE`` for writes).
PostgreSQL: psycopg 3 with pre-ping, so a restarted database does not fail the next request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from openwerk_server.storage.jsoncolumns import json_text, json_value

__all__ = ["WRITE_OPTION", "create_node_engine"]

#: SQLite file connections kept open, and opened beyond that under load (cheap: a file).
SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW = 16, 32

#: Execution option the store sets on connections that will write.
WRITE_OPTION = "openwerk_write"


def create_node_engine(url: str, **engine_options: Any) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql[+psycopg]://...``.

    A bare ``postgresql://`` means psycopg 3 (the driver the ``postgres`` extra installs).
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # One JSON codec for every JSON column, bulk path or not (``storage.jsoncolumns``).
    engine_options = {
        "json_serializer": json_text,
        "json_deserializer": json_value,
        **engine_options,
    }
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, **{"pool_pre_ping": True, **engine_options})
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if parsed.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool  # one shared in-memory database
    else:
        # More connections than the thread pool has threads (anyio's 40) plus the event
        # loop, which reads inline (``Store.inline_reads``) and so must never wait for one.
        options.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_MAX_OVERFLOW)
    options.update(engine_options)
    engine = create_engine(parsed, **options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions late and never for SELECT; taking
    it over (SQLAlchemy's documented recipe) lets writes use ``BEGIN IMMEDIATE`` so a
    read-then-write transaction cannot fail half-way on a lock upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL cannot corrupt the database; it may lose the last commits on
        # power loss, which a node replays from its source systems.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
