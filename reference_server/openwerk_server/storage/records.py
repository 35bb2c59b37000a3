"""Typed values coming out of the store: the stored records.

Records render themselves as the spec's documents (``as_document``), so the wire format of
each resource is decided in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from openwerk_server.storage.queries import Resource

__all__ = [
    "StoredCandidate",
    "StoredConsent",
    "StoredEvent",
    "StoredInstrument",
    "StoredOpportunity",
    "rfc3339",
]


def rfc3339(value: datetime) -> str:
    """UTC, millisecond precision, ``Z``: the one timestamp spelling a node emits."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------- records
@dataclass(frozen=True)
class StoredOpportunity:
    """A vacancy or task offer as stored."""

    resource: Resource
    id: str
    publisher: str
    status: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    content: Mapping[str, Any]

    def as_document(self) -> dict[str, Any]:
        """The ``Vacancy``/``TaskOffer`` document."""
        document = dict(self.content)
        document.update(
            id=self.id,
            publisher=self.publisher,
            status=self.status,
            createdAt=rfc3339(self.created_at),
            updatedAt=rfc3339(self.updated_at),
        )
        if self.closed_at is not None:
            document["closedAt"] = rfc3339(self.closed_at)
        return document


@dataclass(frozen=True)
class StoredInstrument:
    """An instrument of this publisher as stored."""

    id: str
    publisher: str
    status: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    content: Mapping[str, Any]

    def as_document(self) -> dict[str, Any]:
        """The ``Instrument`` document."""
        document = dict(self.content)
        document.update(
            id=self.id,
            publisher=self.publisher,
            status=self.status,
            createdAt=rfc3339(self.created_at),
            updatedAt=rfc3339(self.updated_at),
        )
        if self.closed_at is not None:
            document["closedAt"] = rfc3339(self.closed_at)
        return document


@dataclass(frozen=True)
class StoredCandidate:
    """A candidate record (identified) as stored."""

    id: str
    external_reference: str | None
    gemeente: str
    arbeidsmarktregio: str
    birth_date: date
    person: Mapping[str, Any]
    profile: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    def as_document(self) -> dict[str, Any]:
        """The ``CandidateRecord`` document (publication API only)."""
        document: dict[str, Any] = {"id": self.id}
        if self.external_reference is not None:
            document["externalReference"] = self.external_reference
        document["person"] = dict(self.person)
        document.update(self.profile)
        document.update(
            arbeidsmarktregio=self.arbeidsmarktregio,
            createdAt=rfc3339(self.created_at),
            updatedAt=rfc3339(self.updated_at),
        )
        return document


@dataclass(frozen=True)
class StoredConsent:
    """A consent record; ``status`` is the stored state (``given`` or ``withdrawn``)."""

    id: str
    candidate_id: str
    purposes: tuple[str, ...]
    recipients: Mapping[str, Any]
    given_at: datetime
    valid_until: date
    status: str
    withdrawn_at: datetime | None
    last_confirmed_at: datetime
    collection_method: str
    notice_version: str
    evidence: Mapping[str, Any] | None
    history: tuple[Mapping[str, Any], ...] = field(default=())
    created_seq: int = 0

    def effective_status(self, today: date) -> str:
        """``expired`` once the last valid day has passed; otherwise the stored state."""
        if self.status == "given" and self.valid_until < today:
            return "expired"
        return self.status

    def as_document(self, today: date) -> dict[str, Any]:
        """The ``Consent`` document as of ``today``."""
        document: dict[str, Any] = {
            "id": self.id,
            "candidateId": self.candidate_id,
            "purposes": list(self.purposes),
            "recipients": dict(self.recipients),
            "givenAt": rfc3339(self.given_at),
            "validUntil": self.valid_until.isoformat(),
            "status": self.effective_status(today),
            "lastConfirmedAt": rfc3339(self.last_confirmed_at),
            "collectionMethod": self.collection_method,
            "noticeVersion": self.notice_version,
        }
        if self.evidence is not None:
            document["evidence"] = dict(self.evidence)
        if self.withdrawn_at is not None:
            document["withdrawnAt"] = rfc3339(self.withdrawn_at)
        return document


@dataclass(frozen=True)
class StoredEvent:
    """A change recorded in the same transaction as the change itself."""

    seq: int
    id: str
    type: str
    subject: str
    resource_id: str
    recipient: str | None
    time: datetime
    data: Mapping[str, Any]
