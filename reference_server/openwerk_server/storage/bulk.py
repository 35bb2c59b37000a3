"""Many-row inserts with the parameters already in the driver's form.

``createCandidateBatch`` writes about 2,900 rows a batch (1,000 candidates, ~900 consents,
~900 events). Through ``conn.execute(insert(table), rows)`` SQLAlchemy builds each row's
parameters and runs every column's bind processor on every value — the JSON types' serialiser,
the UTC datetime decorator, SQLite's date format — which cost more than SQLite spends storing
the rows (issue 8, ``bench/ingest.py``). Here the caller hands tuples that already hold what
those processors would have produced. On PostgreSQL one ``COPY ... FROM STDIN`` streams them
(``_copy``); on SQLite multi-row ``INSERT ... VALUES (...), (...)`` statements send them,
``ROWS_PER_STATEMENT`` rows each.

Multi-row on SQLite, not ``executemany``: sqlite3 releases the interpreter lock around every
step of a statement and takes it back after, and ``executemany`` steps once per row.
In a server whose event loop keeps the lock busy, each take-back can wait a whole switch
interval (5 ms), so
the processing-log writer (``log_writer``), inserting 20 rows per search, spent most of its
time waiting for the lock and held every search's answer back with it (``bench/README.md``,
*Throughput floor*). One statement per few hundred rows is one wait. psycopg has no such
hand-back per row, and there 500-row statements of up to 6,500 parameters cost the server
process more CPU than the pipelined ``executemany`` (``bench/ingest.py``: 11 → 21 s of server
CPU for 100,000 candidates), which ``COPY`` then replaced.

What is stored stays exactly what ``insert()`` stores: ``json_text`` (``storage.jsoncolumns``)
is also the serialiser the engine gives SQLAlchemy's JSON types, and ``binder`` returns the
column type's own bind processor for the caller to apply to values that vary (once per value,
not per column of every row; a constant such as the batch's timestamp is converted once).
``tests/server/test_candidate_batch_storage.py`` compares the raw rows with those of the
SQLAlchemy path on both backends.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

__all__ = ["ROWS_PER_STATEMENT", "binder", "insert_many"]


def _same(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=256)
def binder(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any]:
    """The conversion ``insert()`` applies to ``column``'s values on ``dialect``."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


#: Rows per statement: 500 × 13 columns = 6,500 parameters, below SQLite's default limit
#: (32,766) and PostgreSQL's (65,535).
ROWS_PER_STATEMENT = 500


@functools.lru_cache(maxsize=256)
def _insert_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], count: int) -> str:
    quote = dialect.identifier_preparer.quote
    marks = ["?"] * len(columns)  # sqlite3's parameter style
    names = ", ".join(quote(name) for name in columns)
    row = f"({', '.join(marks)})"
    # Names from the schema's own Table objects, quoted by the dialect; values go as parameters.
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES {', '.join([row] * count)}"  # noqa: S608


def insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order, already converted): on SQLite in as
    few statements as ``ROWS_PER_STATEMENT`` allows, on PostgreSQL by one ``COPY``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    if conn.dialect.name != "sqlite":  # pragma: no cover - the engine module makes only these
        raise ValueError(f"unsupported database {conn.dialect.name}")
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        sql = _insert_sql(conn.dialect, table, columns, len(chunk))
        conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))


@functools.lru_cache(maxsize=64)
def _copy_sql(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str:
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    return f"COPY {quote(table.name)} ({names}) FROM STDIN"


def _copy(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY ... FROM STDIN`` on the connection's own driver cursor, in its transaction.

    Why not ``executemany``: even pipelined, psycopg binds and sends each row as a statement
    of its own, and that was ~60 % of the store's time for a 1,000-candidate batch
    (``bench/ingest.py``); ``COPY`` streams the rows in its text format, which PostgreSQL
    parses as it parses a literal — the JSON text into ``jsonb`` included, so what is stored
    is what ``insert()`` stores (``tests/server/test_candidate_batch_storage.py``). The
    driver's errors are raised as SQLAlchemy's, as ``exec_driver_sql`` raises them, so the
    store maps a clash to ``Conflict`` the same way.
    """
    sql = _copy_sql(conn.dialect, table, columns)
    dbapi = conn.dialect.loaded_dbapi
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection inside a transaction
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
