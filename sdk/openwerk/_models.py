"""Typed models of what a client reads from a node.

The models are deliberately lenient, because a v1 client must keep working against every 1.x
node (spec/docs/versioning.md): unknown members are kept (``extra="allow"``), and code values
(kinds, statuses, region codes, support codes ...) are plain ``str`` rather than enums, since
code lists are versioned on their own and grow between spec releases. Validation of what a
node *sends* is the conformance suite's job, not the SDK's.

Matching and introduction models, with their request helpers, live in ``_matching`` and
``_introductions``. Attribute names are snake_case; JSON stays camelCase
(``hours_per_week`` ↔ ``hoursPerWeek``); both names are accepted on construction, and
``to_json_dict()`` gives back the JSON the node sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from openwerk_spec.classes import CLASS_URI_PREFIX, ConformanceClass

__all__ = [
    "CandidateLocation",
    "CandidateProfile",
    "CloudEvent",
    "Conformance",
    "Eligibility",
    "Employer",
    "HoursRange",
    "Instrument",
    "InvalidParam",
    "LandingPage",
    "LanguageSkill",
    "Link",
    "NodeStatus",
    "OccupationRef",
    "OpenWerkModel",
    "Opportunity",
    "OpportunityLocation",
    "Problem",
    "RequestModel",
    "RequiredSkill",
    "SkillRef",
    "Statistics",
    "StatisticsCell",
    "Subscription",
    "Task",
    "TaskOffer",
    "Travel",
    "Vacancy",
]


class OpenWerkModel(BaseModel):
    """Base of the SDK's response models: camelCase on the wire, unknown members kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object as the node sent it (camelCase, only the members that were set)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class RequestModel(BaseModel):
    """Base of the request helpers: strict where response models are lenient.

    A misspelt member is refused here (``extra="forbid"``) rather than as a 400 from the node.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)

    def to_body(self) -> dict[str, Any]:
        """The JSON body (camelCase, unset optional members left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ------------------------------------------------------------------------ building blocks


class Link(OpenWerkModel):
    """A hyperlink; ``href`` may be relative to the document it is in."""

    href: str
    rel: str | None = None
    type: str | None = None
    title: str | None = None


class NodeStatus(OpenWerkModel):
    """What one provider contributed to a gateway's federated answer."""

    node: str
    status: str  # ok | timeout | error | refused
    item_count: int | None = None
    duration_ms: int | None = None
    detail: str | None = None


class InvalidParam(OpenWerkModel):
    """One invalid input named by a 400 problem."""

    name: str
    reason: str
    code: str | None = None


class Problem(OpenWerkModel):
    """An RFC 9457 problem body (``ApiError.problem`` holds the same data as a dict)."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    code: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] = Field(default_factory=list)
    trace_id: str | None = None


class OccupationRef(OpenWerkModel):
    """An occupation: ISCO-08 unit group (4 digits), optionally an ESCO URI and a label."""

    isco08: str
    esco_uri: str | None = None
    label: str | None = None


class SkillRef(OpenWerkModel):
    """A skill by ESCO URI and/or label."""

    label: str
    uri: str | None = None


class RequiredSkill(SkillRef):
    """A skill an opportunity asks for, ``essential`` or ``optional``."""

    importance: str = "essential"


class HoursRange(OpenWerkModel):
    """Hours per week, an inclusive range 0..60."""

    min: int
    max: int

    def __str__(self) -> str:
        return f"{self.min}" if self.min == self.max else f"{self.min}-{self.max}"


class OpportunityLocation(OpenWerkModel):
    """Where an opportunity is: gemeente, arbeidsmarktregio and optionally postcode4."""

    gemeente: str
    arbeidsmarktregio: str
    postcode4: str | None = None


class CandidateLocation(OpenWerkModel):
    """Where a candidate lives, generalised: ``gemeente`` is absent when generalised away."""

    arbeidsmarktregio: str
    gemeente: str | None = None


class LanguageSkill(OpenWerkModel):
    """A language (ISO 639-1) and the CEFR level spoken."""

    code: str
    level: str


class Travel(OpenWerkModel):
    """How far (a travel-band code) and how a candidate is willing to travel."""

    max_minutes: str  # travel-band code, e.g. 15-30
    modes: list[str] = Field(default_factory=list)


class Eligibility(OpenWerkModel):
    """An indication or instrument the candidate is eligible for (never the reason behind it)."""

    type: str
    valid_until: date | None = None
    issuer_type: str | None = None


# ------------------------------------------------------------------------ core


class LandingPage(OpenWerkModel):
    """What a node is, which spec version it follows and which classes it implements."""

    id: str
    name: str
    description: str | None = None
    organisation: dict[str, Any] = Field(default_factory=dict)
    regions: dict[str, Any] = Field(default_factory=dict)
    mode: str = "node"
    spec_version: str | None = None
    k: int | None = None
    conforms_to: list[str] = Field(default_factory=list)
    public_opportunities: bool | None = None
    token_endpoint: str | None = None
    links: list[Link] = Field(default_factory=list)


class Conformance(OpenWerkModel):
    """The conformance declaration at ``/conformance``."""

    conforms_to: list[str]

    @property
    def classes(self) -> frozenset[ConformanceClass]:
        """The v1 classes declared; URIs of other versions or unknown classes are skipped."""
        found: set[ConformanceClass] = set()
        for uri in self.conforms_to:
            if uri.startswith(CLASS_URI_PREFIX):
                try:
                    found.add(ConformanceClass.from_uri(uri))
                except ValueError:
                    continue  # a class a later 1.x added: not one this SDK gates on
        return frozenset(found)


# ------------------------------------------------------------------------ opportunities (L0)


class Employer(OpenWerkModel):
    """The employer offering an opportunity."""

    name: str
    kvk_number: str | None = None
    sbi_code: str | None = None


class Opportunity(OpenWerkModel):
    """What vacancies and task offers share (L0 open data)."""

    id: str
    publisher: str
    employer: Employer
    title: str
    description: str = ""
    kind: str
    occupation: OccupationRef
    skills: list[RequiredSkill] = Field(default_factory=list)
    location: OpportunityLocation
    hours_per_week: HoursRange
    contract: dict[str, Any] | None = None
    pay: dict[str, Any] | None = None
    start_date: date | None = None
    valid_through: date | None = None
    support_offered: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    inclusive_redesign: bool = False
    workplace: dict[str, Any] | None = None
    application_url: str | None = None
    external_reference: str | None = None
    status: str = "open"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None


class Vacancy(Opportunity):
    """A vacancy (``/vacancies``)."""


class Task(OpenWerkModel):
    """One task of a task offer."""

    title: str
    description: str | None = None
    hours_per_week: HoursRange | None = None
    skills: list[SkillRef] = Field(default_factory=list)


class TaskOffer(Opportunity):
    """A task offer: carved tasks, task packages, werkervaringsplekken (``/task-offers``)."""

    tasks: list[Task] = Field(default_factory=list)
    expected_tasks: list[Task] = Field(default_factory=list)
    work_skills: list[SkillRef] = Field(default_factory=list)
    external_support_needed: list[str] = Field(default_factory=list)
    requested_by: str | None = None
    non_displacement: dict[str, Any] | None = None


class Instrument(OpenWerkModel):
    """An instrument (no-riskpolis, loonkostensubsidie, jobcoach ...) and its conditions."""

    id: str
    publisher: str
    type: str
    name: str
    description: str = ""
    conditions: list[str] = Field(default_factory=list)
    amount: dict[str, Any] | None = None
    max_duration_months: int | None = None
    target_groups: list[str] = Field(default_factory=list)
    applies_in: list[str] = Field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    status: str = "active"
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# ------------------------------------------------------------------------ candidates (L2)


class CandidateProfile(OpenWerkModel):
    """A pseudonymous, generalised candidate card (L2), as served to this consumer.

    ``id`` is this consumer's pseudonym for the candidate at ``node``; another consumer sees
    another pseudonym. ``generalised`` names what the k-anonymity gate coarsened.
    """

    id: str
    node: str
    location: CandidateLocation
    age_band: str | None = None
    education_level: str | None = None
    desired_occupations: list[OccupationRef] = Field(default_factory=list)
    skills: list[SkillRef] = Field(default_factory=list)
    languages: list[LanguageSkill] = Field(default_factory=list)
    hours_per_week: HoursRange
    available_from: str | None = None
    travel: Travel | None = None
    wanted_kinds: list[str] = Field(default_factory=list)
    support_needs: list[str] | None = None
    eligibility: list[Eligibility] | None = None
    last_confirmed: str | None = None
    generalised: list[str] = Field(default_factory=list)

    @property
    def pseudonym(self) -> str:
        """The caller's pseudonym for this candidate (the card's ``id``)."""
        return self.id


# ------------------------------------------------------------------------ statistics (L1)


class StatisticsCell(OpenWerkModel):
    """One cell: the dimension values and the rounded count (absent when suppressed)."""

    values: dict[str, str] = Field(default_factory=dict)
    count: int | None = None
    suppressed: bool = False


class Statistics(OpenWerkModel):
    """Anonymous counts: cells below 10 suppressed, the rest rounded to 5."""

    population: str
    dimensions: list[str] = Field(default_factory=list)
    threshold: int = 10
    rounding: int = 5
    total: StatisticsCell
    cells: list[StatisticsCell] = Field(default_factory=list)
    partial: bool | None = None
    nodes: list[NodeStatus] = Field(default_factory=list)


# ------------------------------------------------------------------------ events


class CloudEvent(OpenWerkModel):
    """A CloudEvents 1.0 event; ``data`` never carries personal data.

    CloudEvents attribute names are lowercase already (``specversion``), so these members
    keep their wire names.
    """

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_tombstone(self) -> bool:
        """A candidate tombstone: the consumer MUST delete what it holds of ``subject``."""
        return self.type == "nl.openwerk.candidate.tombstone"


class Subscription(OpenWerkModel):
    """A webhook subscription (its secret is write-only and never read back)."""

    id: str
    url: str
    types: list[str] = Field(default_factory=list)
    status: str = "active"
    created_at: datetime | None = None
