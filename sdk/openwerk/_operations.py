"""Every operation the SDK calls, described once, without I/O.

A ``Call`` says what to send (method, path, query, body), which conformance class it needs,
whether it carries a token, and how to read the answer. ``Client`` executes calls with
``httpx.Client``, ``AsyncClient`` with ``httpx.AsyncClient``; neither knows any path or
model, so the two cannot drift apart and a new operation is written once, here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from openwerk._introductions import ContactPerson, Introduction, IntroductionRequest
from openwerk._matching import (
    MatchFilters,
    MatchRequest,
    MatchResult,
    OpportunityCriteria,
    OpportunityReference,
)
from openwerk._models import (
    CandidateProfile,
    CloudEvent,
    Conformance,
    Instrument,
    LandingPage,
    Opportunity,
    RequestModel,
    Statistics,
    Subscription,
    TaskOffer,
    Vacancy,
)
from openwerk._pagination import Page, next_href, page_parser
from openwerk._params import CandidateFilters, InstrumentFilters, OpportunityFilters, query_params
from openwerk._transport import json_value
from openwerk_spec.classes import ConformanceClass

__all__ = ["Call", "EventBatch"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_OPP = ConformanceClass.OPPORTUNITIES
_CAND = ConformanceClass.CANDIDATES
_INTRO = ConformanceClass.INTRODUCTIONS
_PUB = ConformanceClass.PUBLICATION
_EVENTS = ConformanceClass.EVENTS


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange and how to read its answer."""

    operation: str  # the spec's operationId, used in messages
    method: str
    path: str  # relative to the base URL ("/vacancies"), or an absolute URL (a next link)
    parse: Callable[[bytes, str], T]  # (body as sent, URL it came from) -> result
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    needs: ConformanceClass | None = None
    public: bool = False  # sent without a token even when the client has credentials

    @cached_property
    def body(self) -> bytes | None:
        """``json`` as the request body, encoded once (a fan-out sends it to every node).

        Compact UTF-8, as httpx encodes ``json=``; ``None`` when the call has no body.
        """
        if self.json is None:
            return None
        text = json.dumps(self.json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")

    def url(self, base_url: str) -> str:
        """The absolute URL of this call at a node whose API root is ``base_url``."""
        if self.path.startswith(("http://", "https://")):
            return self.path
        return base_url + self.path

    def follow(self: Call[Page[Any]], url: str) -> Call[Page[Any]]:
        """The same call for the page at ``url`` (a next link, followed unchanged)."""
        return dataclasses.replace(self, path=url, params={})


@dataclass(frozen=True)
class EventBatch:
    """A page of the event feed and where to poll next."""

    events: list[CloudEvent]
    next_cursor: str | None


def _seg(value: str) -> str:
    """A path segment, percent-encoded so an id can never change the path."""
    return quote(str(value), safe="")


def _model(cls: type[M]) -> Callable[[bytes, str], M]:
    def parse(content: bytes, url: str) -> M:
        # One step: pydantic-core parses the JSON and validates it in Rust, without the
        # dicts and lists json.loads would build only to be read once and dropped (for a
        # 20-card match page about a third less CPU than json.loads + model_validate).
        return cls.model_validate_json(content) if content else cls.model_validate(None)

    return parse


def _raw(content: bytes, url: str) -> dict[str, Any]:
    return _raw_item(json_value(content))


def _raw_item(item: Any) -> dict[str, Any]:
    return dict(item) if isinstance(item, Mapping) else {"value": item}


def _body(value: RequestModel | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a request helper, or a plain mapping sent as given."""
    return value.to_body() if isinstance(value, RequestModel) else dict(value)


def _nothing(content: bytes, url: str) -> None:
    return None


def _get(
    operation: str, path: str, parse: Callable[[bytes, str], T], needs: ConformanceClass | None
) -> Call[T]:
    return Call(operation, "GET", path, parse, needs=needs)


def _post(
    operation: str, path: str, body: Any, parse: Callable[[bytes, str], T], needs: ConformanceClass
) -> Call[T]:
    return Call(operation, "POST", path, parse, json=body, needs=needs)


def _list(
    operation: str,
    path: str,
    item: Callable[[Any], T],
    params: Mapping[str, str],
    needs: ConformanceClass,
    cursor: str | None = None,
) -> Call[Page[T]]:
    if cursor is not None:
        params = {**params, "cursor": cursor}
    return Call(operation, "GET", path, page_parser(item), params=params, needs=needs)


# ------------------------------------------------------------------------ core


def landing() -> Call[LandingPage]:
    return Call("getLandingPage", "GET", "/", _model(LandingPage), public=True)


def conformance() -> Call[Conformance]:
    return Call("getConformance", "GET", "/conformance", _model(Conformance), public=True)


def next_page(page: Page[T], operation: str = "nextPage") -> Call[Page[T]]:
    """The call for the page after ``page`` (which must have a ``next_url``)."""
    if page.next_url is None or page.parse_item is None:
        raise ValueError("this page has no next page")
    return Call(operation, "GET", page.next_url, page_parser(page.parse_item))


# ------------------------------------------------------------------------ opportunities


def list_vacancies(filters: OpportunityFilters, cursor: str | None = None) -> Call[Page[Vacancy]]:
    params = query_params(filters, OpportunityFilters, operation="vacancies")
    return _list("listVacancies", "/vacancies", Vacancy.model_validate, params, _OPP, cursor)


def get_vacancy(vacancy_id: str) -> Call[Vacancy]:
    return _get("getVacancy", f"/vacancies/{_seg(vacancy_id)}", _model(Vacancy), _OPP)


def list_task_offers(
    filters: OpportunityFilters, cursor: str | None = None
) -> Call[Page[TaskOffer]]:
    params = query_params(filters, OpportunityFilters, operation="task_offers")
    return _list("listTaskOffers", "/task-offers", TaskOffer.model_validate, params, _OPP, cursor)


def get_task_offer(task_offer_id: str) -> Call[TaskOffer]:
    return _get("getTaskOffer", f"/task-offers/{_seg(task_offer_id)}", _model(TaskOffer), _OPP)


def list_instruments(filters: InstrumentFilters) -> Call[Page[Instrument]]:
    params = query_params(filters, InstrumentFilters, operation="instruments")
    return _list("listInstruments", "/instruments", Instrument.model_validate, params, _OPP)


def get_instrument(instrument_id: str) -> Call[Instrument]:
    return _get("getInstrument", f"/instruments/{_seg(instrument_id)}", _model(Instrument), _OPP)


# ------------------------------------------------------------------------ candidates, matching


def search_candidates(
    filters: CandidateFilters, cursor: str | None = None
) -> Call[Page[CandidateProfile]]:
    params = query_params(filters, CandidateFilters, operation="search_candidates")
    item = CandidateProfile.model_validate
    return _list("searchCandidates", "/candidates", item, params, _CAND, cursor)


def get_candidate(pseudonym: str) -> Call[CandidateProfile]:
    path = f"/candidates/{_seg(pseudonym)}"
    return _get("getCandidate", path, _model(CandidateProfile), _CAND)


def create_match(
    request: MatchRequest | Mapping[str, Any] | None,
    opportunity: OpportunityReference
    | OpportunityCriteria
    | Opportunity
    | Mapping[str, Any]
    | None,
    limit: int | None,
    filters: MatchFilters | Mapping[str, Any] | None,
) -> Call[MatchResult]:
    """``POST /matches`` from a whole request, or from its parts."""
    if request is None:
        if opportunity is None:
            raise TypeError("match() needs an opportunity (or a whole MatchRequest)")
        request = MatchRequest.model_validate(
            {"opportunity": opportunity, "limit": limit, "filters": filters}
        )
    elif opportunity is not None or limit is not None or filters is not None:
        raise TypeError("match() takes a MatchRequest or its parts, not both")
    body = _body(request)
    return _post("createMatch", "/matches", body, _model(MatchResult), ConformanceClass.MATCHING)


# ------------------------------------------------------------------------ introductions


def create_introduction(
    request: IntroductionRequest | Mapping[str, Any] | None,
    parts: Mapping[str, Any],
) -> Call[Introduction]:
    """``POST /introductions`` from a whole request, or from its parts (None ones left out)."""
    given = {k: v for k, v in parts.items() if v is not None}
    if request is None:
        contact = given.get("contact_person")
        if isinstance(contact, str):
            given["contact_person"] = ContactPerson(name=contact)
        request = IntroductionRequest.model_validate(given)
    elif given:
        raise TypeError("introduce() takes an IntroductionRequest or its parts, not both")
    body = _body(request)
    return _post("createIntroduction", "/introductions", body, _model(Introduction), _INTRO)


def get_introduction(introduction_id: str) -> Call[Introduction]:
    path = f"/introductions/{_seg(introduction_id)}"
    return _get("getIntroduction", path, _model(Introduction), _INTRO)


def list_introductions(status: str | None, limit: int | None) -> Call[Page[Introduction]]:
    params = {k: str(v) for k, v in (("status", status), ("limit", limit)) if v is not None}
    return _list("listIntroductions", "/introductions", Introduction.model_validate, params, _INTRO)


def cancel_introduction(introduction_id: str) -> Call[Introduction]:
    path = f"/introductions/{_seg(introduction_id)}/cancellation"
    return _post("cancelIntroduction", path, None, _model(Introduction), _INTRO)


# ------------------------------------------------------------------------ statistics


def statistics(
    population: str,
    group_by: Sequence[str] | None,
    arbeidsmarktregio: str | None,
    gemeente: str | None = None,
) -> Call[Statistics]:
    operation = "getCandidateStatistics" if population == "candidates" else "getPlacementStatistics"
    params: dict[str, str] = {}
    if group_by:
        params["groupBy"] = ",".join(group_by)
    if arbeidsmarktregio is not None:
        params["arbeidsmarktregio"] = arbeidsmarktregio
    if gemeente is not None:
        params["gemeente"] = gemeente
    return Call(
        operation,
        "GET",
        f"/statistics/{population}",
        _model(Statistics),
        params=params,
        needs=ConformanceClass.STATISTICS,
    )


# ------------------------------------------------------------------------ events


def _event_batch(content: bytes, url: str) -> EventBatch:
    body = json_value(content)
    items = body.get("items") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        raise ValueError(f"{url} did not answer an event page")
    return EventBatch([CloudEvent.model_validate(e) for e in items], next_href(body, url))


def list_events(
    cursor: str | None, types: Sequence[str] | None, limit: int | None
) -> Call[EventBatch]:
    """``GET /events``; ``cursor`` is a next link from an earlier batch, or a bare cursor."""
    if cursor is not None and cursor.startswith(("http://", "https://")):
        return Call("listEvents", "GET", cursor, _event_batch, needs=_EVENTS)
    params: dict[str, str] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if types:
        params["types"] = ",".join(types)
    if limit is not None:
        params["limit"] = str(limit)
    return Call("listEvents", "GET", "/events", _event_batch, params=params, needs=_EVENTS)


def create_subscription(url: str, types: Sequence[str], secret: str) -> Call[Subscription]:
    body = {"url": url, "types": list(types), "secret": secret}
    return _post("createSubscription", "/subscriptions", body, _model(Subscription), _EVENTS)


def list_subscriptions() -> Call[Page[Subscription]]:
    item = Subscription.model_validate
    return _list("listSubscriptions", "/subscriptions", item, {}, _EVENTS)


def delete_subscription(subscription_id: str) -> Call[None]:
    path = f"/subscriptions/{_seg(subscription_id)}"
    return Call("deleteSubscription", "DELETE", path, _nothing, needs=_EVENTS)


# ------------------------------------------------------------------------ publication


#: Publishable kinds: (operationId, model of the answer).
_PUBLISHED: dict[str, tuple[str, type[BaseModel]]] = {
    "vacancies": ("createVacancy", Vacancy),
    "task-offers": ("createTaskOffer", TaskOffer),
    "instruments": ("createInstrument", Instrument),
}


def publish(kind: str, body: Mapping[str, Any]) -> Call[Any]:
    """``POST /publication/{vacancies|task-offers|instruments}``, answering the typed resource."""
    operation, model = _PUBLISHED[kind]
    return _post(operation, f"/publication/{kind}", dict(body), _model(model), _PUB)


def create_candidate(body: Mapping[str, Any]) -> Call[dict[str, Any]]:
    return _post("createCandidateRecord", "/publication/candidates", dict(body), _raw, _PUB)


def create_candidate_batch(
    items: Sequence[Mapping[str, Any]] | Mapping[str, Any],
) -> Call[dict[str, Any]]:
    body = dict(items) if isinstance(items, Mapping) else {"items": [dict(i) for i in items]}
    return _post("createCandidateBatch", "/publication/candidate-batches", body, _raw, _PUB)


def create_consent(candidate_id: str, body: Mapping[str, Any]) -> Call[dict[str, Any]]:
    path = f"/publication/candidates/{_seg(candidate_id)}/consents"
    return _post("createConsent", path, dict(body), _raw, _PUB)


def withdraw_consent(
    candidate_id: str, consent_id: str, evidence: Mapping[str, Any] | None
) -> Call[dict[str, Any]]:
    path = f"/publication/candidates/{_seg(candidate_id)}/consents/{_seg(consent_id)}/withdrawal"
    body = {"evidence": dict(evidence)} if evidence is not None else {}
    return _post("withdrawConsent", path, body, _raw, _PUB)


def decide_introduction(introduction_id: str, body: Mapping[str, Any]) -> Call[dict[str, Any]]:
    path = f"/publication/introductions/{_seg(introduction_id)}/decision"
    return _post("recordIntroductionDecision", path, dict(body), _raw, _PUB)


def access_log(candidate_id: str) -> Call[Page[dict[str, Any]]]:
    path = f"/publication/candidates/{_seg(candidate_id)}/access-log"
    return _list("getCandidateAccessLog", path, _raw_item, {}, _PUB)
