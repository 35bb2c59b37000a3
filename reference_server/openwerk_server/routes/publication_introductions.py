"""Publication class, introductions: the custodian puts requests to its candidates, records
their answers, and follows up placements.

The custodian sees each request with the internal candidate id (``IntroductionRecord``) and
records the candidate's decision (OW-INTRO-002): ``accepted`` with how the candidate's
consent to this one introduction was captured and the contact channel they chose;
``declined`` with no reason (OW-INTRO-005). Only a pending introduction can be decided;
anything else is 409 ``illegal-transition`` (OW-INTRO-004). Placement outcomes follow an
accepted introduction, at most one per checkpoint (OW-INTRO-009).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.routes.deps import (
    NEGOTIATION,
    Publisher,
    RequestParams,
    SettingsDep,
    StoreDep,
    get_cursors,
    request_params,
)
from openwerk_server.routes.l3_deps import checked_body, trace_of
from openwerk_server.routes.responses import json_response, page_response
from openwerk_server.storage.introductions import DecisionInput, IntroductionQuery, OutcomeQuery

__all__ = ["router"]

router = APIRouter(dependencies=NEGOTIATION)

DecisionBody = Annotated[dict[str, Any], Depends(checked_body("IntroductionDecision"))]
OutcomeBody = Annotated[dict[str, Any], Depends(checked_body("PlacementOutcomeInput"))]


def _params(operation_id: str, listing: str | None = None) -> Any:
    return Depends(request_params(operation_id, listing=listing))


@router.get("/publication/introductions", operation_id="listIntroductionRequests")
def list_introduction_requests(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("listIntroductionRequests", "introduction-requests")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Every introduction request for this node's candidates, newest first."""
    store.settle_introductions(trace=trace_of(request))
    now = store.now()
    query = IntroductionQuery(
        requester=None, status=params.text("status"), after=params.after, limit=params.limit
    )
    return page_response(
        request,
        store.list_introductions(query),
        lambda intro: intro.as_record(now),
        listing="introduction-requests",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.get("/publication/introductions/{introductionId}", operation_id="getIntroductionRequest")
def get_introduction_request(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("getIntroductionRequest")],
    store: StoreDep,
) -> Response:
    """One introduction as the custodian sees it."""
    store.settle_introductions(trace=trace_of(request))
    intro = store.get_introduction(params.text("introductionId") or "")
    return json_response(intro.as_record(store.now()))


@router.post(
    "/publication/introductions/{introductionId}/decision",
    operation_id="recordIntroductionDecision",
)
def record_introduction_decision(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("recordIntroductionDecision")],
    body: DecisionBody,
    store: StoreDep,
) -> Response:
    """The candidate's answer: pending → accepted | declined."""
    trace = trace_of(request)
    store.settle_introductions(trace=trace)
    decision = DecisionInput(
        decision=body["decision"], consent=body["consent"], contact=body.get("contact")
    )
    intro = store.decide_introduction(params.text("introductionId") or "", decision, trace=trace)
    return json_response(intro.as_record(store.now()))


@router.get(
    "/publication/introductions/{introductionId}/outcomes",
    operation_id="listPlacementOutcomes",
)
def list_placement_outcomes(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("listPlacementOutcomes", "outcomes")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """What came of an introduction, oldest first."""
    query = OutcomeQuery(
        introduction_id=params.text("introductionId") or "",
        after=params.after,
        limit=params.limit,
    )
    return page_response(
        request,
        store.list_outcomes(query),
        lambda outcome: outcome.as_document(),
        listing="outcomes",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.post(
    "/publication/introductions/{introductionId}/outcomes",
    operation_id="recordPlacementOutcome",
    status_code=201,
)
def record_placement_outcome(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("recordPlacementOutcome")],
    body: OutcomeBody,
    store: StoreDep,
) -> Response:
    """An outcome at one checkpoint of an accepted introduction (else 409)."""
    store.settle_introductions(trace=trace_of(request))
    outcome = store.record_outcome(params.text("introductionId") or "", body)
    return json_response(outcome.as_document(), status_code=201)
