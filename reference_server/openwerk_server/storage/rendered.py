"""Stored documents rendered to JSON once, not on every read.

A list page of 20 vacancies used to cost, per request, decoding 21 stored JSON documents
(SQLAlchemy's JSON type) and encoding them again for the response: more than half of the
request's CPU (``bench/README.md``, *Throughput floor*). Listing queries therefore read the
document column as text (``CAST(document AS TEXT)``), and each row, with every column that
goes into its document, is the key of a bounded LRU cache of its rendering. A changed
document, status or timestamp is another key, so nothing is ever invalidated or served
stale; several replicas each keep their own cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from openwerk_server.jsontext import json_bytes
from openwerk_server.storage.queries import Resource
from openwerk_server.storage.records import StoredOpportunity

__all__ = ["RENDER_CACHE_SIZE", "ListedOpportunity"]

#: Renderings kept per process (a vacancy renders to ~2 KB: ~40 MB at most).
RENDER_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class ListedOpportunity:
    """A vacancy or task offer as a list reads it: the stored document still as JSON text."""

    resource: Resource
    id: str
    publisher: str
    status: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    content_json: str

    def record(self) -> StoredOpportunity:
        """The full record (decodes the document)."""
        return StoredOpportunity(
            resource=self.resource,
            id=self.id,
            publisher=self.publisher,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            closed_at=self.closed_at,
            content=json.loads(self.content_json),
        )

    def rendered(self) -> bytes:
        """``json_bytes(self.record().as_document())``, computed once per distinct row."""
        return _render(self)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render(row: ListedOpportunity) -> bytes:
    return json_bytes(row.record().as_document())
