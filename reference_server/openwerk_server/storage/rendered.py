"""Stored documents rendered to JSON once, not on every read.

A list page of 20 vacancies used to cost, per request, decoding 21 stored JSON documents
(SQLAlchemy's JSON type) and encoding them again for the response: more than half of the
request's CPU (``bench/README.md``, *Throughput floor*). Listing queries therefore read the
document column as text (``CAST(document AS TEXT)``) and return each row as the driver gave
it (``storage.prepared``); that raw row, with every column that goes into its document, is
the key of a bounded LRU cache of its rendering. A changed document, status or timestamp is
another key, so nothing is ever invalidated or served stale; several replicas each keep
their own cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from openwerk_server.jsontext import json_bytes
from openwerk_server.storage.prepared import Prepared
from openwerk_server.storage.queries import Resource
from openwerk_server.storage.records import StoredOpportunity

__all__ = ["RENDER_CACHE_SIZE", "ListedFields", "ListedOpportunity"]

#: Renderings kept per process (a vacancy renders to ~2 KB: ~40 MB at most).
RENDER_CACHE_SIZE = 20_000


class ListedFields(NamedTuple):
    """The columns a list reads, typed (the document still JSON text)."""

    resource: Resource
    id: str
    publisher: str
    status: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    content_json: str


@dataclass(frozen=True)
class ListedOpportunity:
    """A vacancy or task offer as a list reads it: the driver's row and the statement that
    read it (which knows how to convert it)."""

    row: tuple[Any, ...]
    statement: Prepared

    def fields(self) -> ListedFields:
        """The row's typed values."""
        return ListedFields(*self.statement.convert(self.row))

    def record(self) -> StoredOpportunity:
        """The full record (converts the row and decodes the document)."""
        f = self.fields()
        return StoredOpportunity(
            resource=f.resource,
            id=f.id,
            publisher=f.publisher,
            status=f.status,
            created_at=f.created_at,
            updated_at=f.updated_at,
            closed_at=f.closed_at,
            content=json.loads(f.content_json),
        )

    def rendered(self) -> bytes:
        """``json_bytes(self.record().as_document())``, computed once per distinct row."""
        return _render(self)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render(row: ListedOpportunity) -> bytes:
    return json_bytes(row.record().as_document())
