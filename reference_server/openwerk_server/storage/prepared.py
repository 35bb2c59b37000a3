"""Hot read statements compiled once per shape and run on the driver's own cursor.

An anonymous ``GET /v1/vacancies`` page was about 280 µs of SQLAlchemy work around a 30 µs
SQLite query: building the ``Select``, computing its cache key, the execution context, the
``BEGIN``/``COMMIT`` pair and a type processor on every value of every row (``bench/README.md``,
*Throughput floor*). For the few reads a node answers most (the L0 lists), a ``Prepared``
holds a statement SQLAlchemy compiled once for the dialect — same SQL, same quoting — with
the bind and result processors of its own column types, so what goes in and comes out is
exactly what ``Connection.execute`` would send and return. Values vary per request through
named ``bindparam``s; everything else of the statement is fixed by its shape.

One statement, no explicit transaction: a single ``SELECT`` reads one snapshot on both
backends. Results come back raw (``fetch``) and are converted by ``convert`` only where the
caller needs them: the list routes key their rendering caches on the raw row, so a row seen
before costs no conversion at all. ``tests/server/test_storage_contract.py`` runs the lists
through this path on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine

__all__ = ["Prepared", "bind_processor", "result_processor"]

Processor = Callable[[Any], Any]


@functools.lru_cache(maxsize=256)
def bind_processor(dialect: Dialect, type_: TypeEngine[Any]) -> Processor | None:
    """What SQLAlchemy applies to a value of ``type_`` sent to ``dialect`` (None: nothing)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


@functools.lru_cache(maxsize=256)
def result_processor(dialect: Dialect, type_: TypeEngine[Any]) -> Processor | None:
    """What SQLAlchemy applies to a value of ``type_`` read from ``dialect`` (None: nothing).

    The drivers used here (sqlite3, psycopg) report no column type SQLAlchemy's processors
    depend on, hence no ``coltype``.
    """
    return type_.dialect_impl(dialect).result_processor(dialect, None)


class Prepared:
    """One ``Select`` compiled for one dialect, run with per-call values of its named binds.

    Compared by identity: each is made once per shape and kept (``functools.lru_cache`` in
    the module that builds it), so it can be part of a cache key.
    """

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._positional = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        # Binds the shape fixes (an OFFSET the dialect adds, say) keep their compiled value.
        self._fixed: dict[str, Any] = dict(compiled.params)
        self._binds: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            process = bind_processor(dialect, bind.type)
            if process is not None:
                self._binds[name] = process
        self._results: tuple[Processor | None, ...] = tuple(
            result_processor(dialect, column.type) for column in statement.selected_columns
        )

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for ``values`` (bind name → value, before conversion)."""
        unknown = values.keys() - self._fixed.keys()
        if unknown:
            raise KeyError(f"not binds of this statement: {sorted(unknown)}")
        merged = {**self._fixed, **values}
        for name, process in self._binds.items():
            merged[name] = process(merged[name])
        if self._positional is None:
            return merged
        return tuple(merged[name] for name in self._positional)

    def fetch(self, engine: Engine, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows for ``values``, as the driver returns them (see ``convert``).

        Raises the driver's own exceptions (``engine.dialect.loaded_dbapi``); the ``Store``
        maps them as it maps SQLAlchemy's.
        """
        parameters = self.parameters(values)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, parameters)
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back what the read opened

    def convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """``row`` as ``Connection.execute`` would have returned it (typed values)."""
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._results, row, strict=True)
        )
