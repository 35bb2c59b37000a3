"""Introductions (L3): asking to meet the candidate behind a pseudonym, and the answer.

The candidate decides. Until they accept, the requester knows only the pseudonym; after,
and only for the requester, ``Introduction.identity`` carries their name and the contact
channel they chose (OW-INTRO-006).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator

from openwerk._matching import MatchCard, OpportunityReference, as_reference
from openwerk._models import CandidateProfile, OpenWerkModel, RequestModel

__all__ = [
    "ContactChoice",
    "ContactPerson",
    "Introduction",
    "IntroductionRequest",
    "Requester",
    "RevealedIdentity",
]


class ContactPerson(OpenWerkModel):
    """The requester's contact person (the requester's staff, not the candidate)."""

    name: str
    email: str | None = None
    phone: str | None = None


class ContactChoice(OpenWerkModel):
    """The channel a candidate chose to be reached by, and its value."""

    channel: str  # email | phone | via-custodian
    value: str


class RevealedIdentity(OpenWerkModel):
    """The candidate's name and chosen contact; only in an accepted introduction."""

    given_name: str
    family_name: str
    contact: ContactChoice


class Requester(OpenWerkModel):
    """Who asked for an introduction."""

    member: str
    role: str
    contact_person: ContactPerson


class Introduction(OpenWerkModel):
    """A request to meet a candidate; ``identity`` is set only once the candidate accepted."""

    id: str
    status: str  # pending | accepted | declined | expired | cancelled
    requester: Requester | None = None
    opportunity: OpportunityReference | None = None
    candidate: str
    message: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    identity: RevealedIdentity | None = None


class IntroductionRequest(RequestModel):
    """Body of ``POST /introductions``: ask to meet the candidate behind a pseudonym.

    ``candidate`` takes the pseudonym, or the ``CandidateProfile``/``MatchCard`` it came on.
    """

    opportunity: OpportunityReference
    candidate: str
    requester_role: str  # employer | intermediary
    contact_person: ContactPerson
    message: str

    @field_validator("opportunity", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return as_reference(value)

    @field_validator("candidate", mode="before")
    @classmethod
    def _pseudonym(cls, value: Any) -> Any:
        if isinstance(value, MatchCard):
            return value.candidate.id
        if isinstance(value, CandidateProfile):
            return value.id
        return value
