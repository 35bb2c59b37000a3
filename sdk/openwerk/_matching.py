"""Matching: what a consumer sends to ``POST /matches`` and the ranked cards it gets back.

score-v1 is computed by the node on the cards as served to the caller, so a ``MatchCard``
carries everything needed to recompute its score: the card, the opportunity criteria
(``MatchResult.opportunity``) and the six components.

The request helper accepts what a client already holds — a ``Vacancy`` read from any node
becomes a reference naming its publisher — so the common path needs no hand-built ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import Field, field_validator

from openwerk._models import (
    CandidateProfile,
    HoursRange,
    NodeStatus,
    OccupationRef,
    OpenWerkModel,
    Opportunity,
    OpportunityLocation,
    RequestModel,
    RequiredSkill,
    TaskOffer,
)

__all__ = [
    "MatchCard",
    "MatchFilters",
    "MatchRequest",
    "MatchResult",
    "OpportunityCriteria",
    "OpportunityReference",
    "ScoreComponents",
    "as_reference",
]


class OpportunityReference(OpenWerkModel):
    """A vacancy or task offer by id, at this node (``node`` absent) or at another member."""

    type: str  # vacancy | task-offer
    id: str
    node: str | None = None

    @classmethod
    def vacancy(cls, vacancy_id: str, *, node: str | None = None) -> OpportunityReference:
        """A reference to a vacancy."""
        return cls(type="vacancy", id=vacancy_id, node=node)

    @classmethod
    def task_offer(cls, task_offer_id: str, *, node: str | None = None) -> OpportunityReference:
        """A reference to a task offer."""
        return cls(type="task-offer", id=task_offer_id, node=node)

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunityReference:
        """A reference to an opportunity read from a node, naming its publisher as ``node``."""
        kind = "task-offer" if isinstance(opportunity, TaskOffer) else "vacancy"
        return cls(type=kind, id=opportunity.id, node=opportunity.publisher)


class OpportunityCriteria(OpenWerkModel):
    """The members of an opportunity score-v1 reads; a match can be asked for these inline."""

    occupation: OccupationRef
    skills: list[RequiredSkill] = Field(default_factory=list)
    hours_per_week: HoursRange
    location: OpportunityLocation
    start_date: date | None = None
    support_offered: list[str] = Field(default_factory=list)


class ScoreComponents(OpenWerkModel):
    """score-v1's per-component explanation, each 0..1."""

    occupation: float
    skills: float
    hours: float
    location: float
    availability: float
    support: float


class MatchCard(OpenWerkModel):
    """One ranked candidate: the card, its score and why."""

    candidate: CandidateProfile
    score: float
    components: ScoreComponents


class MatchResult(OpenWerkModel):
    """A node's (or gateway's) ranking of its candidates against one opportunity."""

    score_version: str
    node: str | None = None
    opportunity: OpportunityCriteria
    items: list[MatchCard] = Field(default_factory=list)
    partial: bool | None = None
    nodes: list[NodeStatus] = Field(default_factory=list)


def as_reference(value: Any) -> Any:
    """An ``Opportunity`` or ``{"ref": ...}`` as what a reference field validates."""
    if isinstance(value, Opportunity):
        return OpportunityReference.of(value)
    if isinstance(value, Mapping) and "ref" in value:
        return value["ref"]
    return value


class MatchFilters(RequestModel):
    """Hard filters applied before ranking (protected attributes cannot be filters)."""

    hours_overlap: bool | None = None
    arbeidsmarktregios: list[str] | None = None
    gemeenten: list[str] | None = None


class MatchRequest(RequestModel):
    """Body of ``POST /matches``.

    ``opportunity`` is a reference (an ``OpportunityReference``, or a ``Vacancy``/``TaskOffer``
    read from a node) or inline criteria (``OpportunityCriteria``); the wire form
    ``{"ref": ...}`` / ``{"inline": ...}`` is accepted as well.
    """

    opportunity: OpportunityReference | OpportunityCriteria
    limit: int | None = None
    filters: MatchFilters | None = None

    @field_validator("opportunity", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "inline" in value:
            return OpportunityCriteria.model_validate(value["inline"])
        value = as_reference(value)
        if isinstance(value, Mapping) and {"type", "id"} <= value.keys():
            return OpportunityReference.model_validate(value)
        return value

    def to_body(self) -> dict[str, Any]:
        """The JSON body, with the opportunity wrapped as ``ref`` or ``inline``."""
        body = super().to_body()
        wrapper = "ref" if isinstance(self.opportunity, OpportunityReference) else "inline"
        body["opportunity"] = {wrapper: body["opportunity"]}
        return body
