"""Typed values going into the store: queries with their filters, and validated inputs.

Routes validate JSON against the spec first, then turn it into these inputs; the store never
sees HTTP and the routes never see rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

from openwerk_spec.codelists import gemeente_region

__all__ = [
    "BatchItem",
    "BatchResult",
    "CandidateInput",
    "CandidateQuery",
    "ConsentInput",
    "ConsentQuery",
    "EventQuery",
    "InstrumentInput",
    "InstrumentQuery",
    "Key",
    "OpportunityInput",
    "OpportunityQuery",
    "Page",
    "Resource",
    "parse_datetime",
    "skill_key",
]

T = TypeVar("T")
Resource = Literal["vacancy", "task-offer"]
#: A keyset position: the sort-key values of the last item of a page.
Key = tuple[int | str, ...]


def skill_key(name: str) -> str:
    """How a skill is indexed and looked up: an ESCO URI as is, a label case-folded."""
    return name if name.startswith(("http://", "https://")) else name.casefold()


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list; ``next_key`` is set when more items may follow."""

    items: tuple[T, ...]
    next_key: Key | None = None


# ---------------------------------------------------------------------------- queries
@dataclass(frozen=True)
class OpportunityQuery:
    """Filters of ``listVacancies``/``listTaskOffers``, all combined with AND."""

    resource: Resource
    status: str = "open"
    esco_uri: str | None = None
    isco08_prefix: str | None = None
    skill: str | None = None
    gemeente: str | None = None
    arbeidsmarktregio: str | None = None
    kind: str | None = None
    hours_min: int | None = None
    hours_max: int | None = None
    instrument: str | None = None
    updated_since: datetime | None = None
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class InstrumentQuery:
    """Filters of ``listInstruments``."""

    type: str | None = None
    gemeente: str | None = None
    status: str = "active"
    updated_since: datetime | None = None
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class CandidateQuery:
    """``listCandidateRecords``: ordered by id."""

    external_reference: str | None = None
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class ConsentQuery:
    """``listConsents``: one candidate's consents, newest first."""

    candidate_id: str
    after: Key | None = None
    limit: int = 20


@dataclass(frozen=True)
class EventQuery:
    """Events after a sequence number, oldest first (the events class builds on this)."""

    after_seq: int = 0
    limit: int = 100


# ---------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class OpportunityInput:
    """A validated ``VacancyInput``/``TaskOfferInput`` with its indexed members pulled out."""

    resource: Resource
    content: Mapping[str, Any]
    kind: str
    isco08: str
    esco_uri: str | None
    gemeente: str
    arbeidsmarktregio: str
    hours_min: int
    hours_max: int
    skill_keys: frozenset[str]
    instrument_types: frozenset[str]

    @classmethod
    def from_document(cls, resource: Resource, document: Mapping[str, Any]) -> OpportunityInput:
        """Index values of a document that already passed the spec's schema."""
        skills: set[str] = set()
        for skill in document.get("skills", []):
            skills.add(skill_key(skill["label"]))
            if "uri" in skill:
                skills.add(skill_key(skill["uri"]))
        return cls(
            resource=resource,
            content=dict(document),
            kind=document["kind"],
            isco08=document["occupation"]["isco08"],
            esco_uri=document["occupation"].get("escoUri"),
            gemeente=document["location"]["gemeente"],
            arbeidsmarktregio=document["location"]["arbeidsmarktregio"],
            hours_min=document["hoursPerWeek"]["min"],
            hours_max=document["hoursPerWeek"]["max"],
            skill_keys=frozenset(skills),
            instrument_types=frozenset(document.get("instruments", [])),
        )


@dataclass(frozen=True)
class InstrumentInput:
    """A validated ``InstrumentInput``."""

    content: Mapping[str, Any]
    type: str
    gemeenten: frozenset[str]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> InstrumentInput:
        """Index values of a document that already passed the spec's schema."""
        return cls(
            content=dict(document),
            type=document["type"],
            gemeenten=frozenset(document["appliesIn"]),
        )


@dataclass(frozen=True)
class CandidateInput:
    """A validated ``CandidateRecordInput``, split into identified and profile data."""

    person: Mapping[str, Any]
    profile: Mapping[str, Any]
    gemeente: str
    arbeidsmarktregio: str
    birth_date: date
    external_reference: str | None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CandidateInput:
        """Split a document that already passed the spec's schema."""
        person = dict(document["person"])
        profile = {k: v for k, v in document.items() if k not in ("person", "externalReference")}
        return cls(
            person=person,
            profile=profile,
            gemeente=document["gemeente"],
            arbeidsmarktregio=gemeente_region(document["gemeente"]),
            birth_date=date.fromisoformat(person["birthDate"]),
            external_reference=document.get("externalReference"),
        )


@dataclass(frozen=True)
class ConsentInput:
    """A validated ``ConsentInput``; ``given_at`` None means "now" (the spec's default)."""

    purposes: tuple[str, ...]
    recipients: Mapping[str, Any]
    valid_until: date
    collection_method: str
    notice_version: str
    given_at: datetime | None = None
    evidence: Mapping[str, Any] | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ConsentInput:
        """Parse a document that already passed the spec's schema."""
        given = document.get("givenAt")
        return cls(
            purposes=tuple(document["purposes"]),
            recipients=dict(document["recipients"]),
            valid_until=date.fromisoformat(document["validUntil"]),
            collection_method=document["collectionMethod"],
            notice_version=document["noticeVersion"],
            given_at=parse_datetime(given) if given is not None else None,
            evidence=document.get("evidence"),
        )


@dataclass(frozen=True)
class BatchItem:
    """One candidate of ``createCandidateBatch`` with its consents."""

    candidate: CandidateInput
    consents: tuple[ConsentInput, ...] = ()

    @classmethod
    def from_document(cls, item: Mapping[str, Any]) -> BatchItem:
        """One ``{candidate, consents}`` item of a batch that already passed the spec's schema
        (the API's batch body, and what ``openwerk.synthetic`` generates)."""
        return cls(
            candidate=CandidateInput.from_document(item["candidate"]),
            consents=tuple(ConsentInput.from_document(c) for c in item.get("consents", ())),
        )


@dataclass(frozen=True)
class BatchResult:
    """The ids assigned to one batch item, in request order."""

    candidate_id: str
    external_reference: str | None
    consent_ids: tuple[str, ...]


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 timestamp (already format-checked) as an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text}")
    return value.astimezone(UTC)
