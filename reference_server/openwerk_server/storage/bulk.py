"""Many-row inserts with the parameters already in the driver's form.

``createCandidateBatch`` writes about 2,900 rows a batch (1,000 candidates, ~900 consents,
~900 events). Through ``conn.execute(insert(table), rows)`` SQLAlchemy builds each row's
parameters and runs every column's bind processor on every value — the JSON types' serialiser,
the UTC datetime decorator, SQLite's date format — which cost more than SQLite spends storing
the rows (issue 8, ``bench/ingest.py``). Here the caller hands tuples that already hold what
those processors would have produced. On PostgreSQL one ``executemany`` of a fixed ``INSERT``
sends them (psycopg pipelines it); on SQLite multi-row ``INSERT ... VALUES (...), (...)``
statements do, ``ROWS_PER_STATEMENT`` rows each.

Multi-row on SQLite, not ``executemany``: sqlite3 releases the interpreter lock around every
step of a statement and takes it back after, and ``executemany`` steps once per row.
In a server whose event loop keeps the lock busy, each take-back can wait a whole switch
interval (5 ms), so
the processing-log writer (``log_writer``), inserting 20 rows per search, spent most of its
time waiting for the lock and held every search's answer back with it (``bench/README.md``,
*Throughput floor*). One statement per few hundred rows is one wait. psycopg has no such
hand-back per row, and there 500-row statements of up to 6,500 parameters cost the server
process more CPU than the pipelined ``executemany`` (``bench/ingest.py``: 11 → 21 s of server
CPU for 100,000 candidates), so PostgreSQL keeps it.

What is stored stays exactly what ``insert()`` stored: ``json_text`` is SQLAlchemy's default
serialiser (``json.dumps``, no options), and ``binder`` returns the column type's own bind
processor for the caller to apply to values that vary (once per value, not per column of
every row; a constant such as the batch's timestamp is converted once).
``tests/server/test_candidate_batch_storage.py`` compares the raw rows with those of the
SQLAlchemy path on both backends.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table
from sqlalchemy.engine import Dialect

__all__ = ["ROWS_PER_STATEMENT", "binder", "insert_many", "json_text"]

#: What SQLAlchemy's ``JSON`` type writes for a value (its default serialiser).
json_text: Callable[[Any], str] = json.dumps


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
    if dialect.paramstyle == "qmark":  # sqlite3
        marks = ["?"] * len(columns)
    elif dialect.paramstyle in ("format", "pyformat"):  # psycopg
        # Text into a jsonb column needs the cast that SQLAlchemy renders for its own binds.
        marks = ["%s::jsonb" if isinstance(table.c[name].type, JSON) else "%s" for name in columns]
    else:  # pragma: no cover - the engine module makes only the two above
        raise ValueError(f"unsupported parameter style {dialect.paramstyle}")
    names = ", ".join(quote(name) for name in columns)
    row = f"({', '.join(marks)})"
    # Names from the schema's own Table objects, quoted by the dialect; values go as parameters.
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES {', '.join([row] * count)}"  # noqa: S608


def insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order, already converted): on SQLite in as
    few statements as ``ROWS_PER_STATEMENT`` allows, elsewhere in one executemany."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(_insert_sql(conn.dialect, table, columns, 1), list(rows))
        return
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        sql = _insert_sql(conn.dialect, table, columns, len(chunk))
        conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))
