"""Matching class (L2): ``POST /matches`` ranks this node's cards against an opportunity.

Query-to-data: the node ranks the profiles it publishes to the caller with score-v1 on the
cards as served (``matching.engine.CardColumns``: exact, vectorised, proven equal to
``openwerk_spec.score``), and returns the ``limit`` best with score and components
(OW-MATCH-001..005). Nothing is stored. Only the cards returned are rendered and logged
(OW-LOG-001); the per-card work beyond the top ``limit`` is numpy's.

The opportunity is given inline, or by reference: without ``node`` (or naming this node)
it is a vacancy or task offer here, open or closed; naming another member, it is fetched
from that member's L0 API at the base URL the verified directory lists for it — never from
a URL the caller supplies (OW-MATCH-006, SSRF). Unknown opportunities are 404, a node that
is not a provider member of the federation 400, an upstream that does not answer 502.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from openwerk.directory import DirectoryCache, DirectoryError
from openwerk_server.errors import InvalidInput, InvalidParam, NotFound, ServiceUnavailable
from openwerk_server.jsontext import json_bytes
from openwerk_server.matching.engine import Filters
from openwerk_server.privacy.pool import CachedView
from openwerk_server.problems import problem_response
from openwerk_server.routes.deps import (
    NEGOTIATION,
    CandidateReader,
    SettingsDep,
    StoreDep,
    serve_cards,
    store_read,
)
from openwerk_server.routes.l3_deps import checked_body, match_rules
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_server.validation import schema_problems
from openwerk_spec.problems import ProblemCode
from openwerk_spec.score import ScoreResult

__all__ = ["UPSTREAM_TIMEOUT_SECONDS", "criteria_of", "router"]

logger = logging.getLogger("openwerk_server")

router = APIRouter(dependencies=NEGOTIATION)

MatchBody = Annotated[dict[str, Any], Depends(checked_body("MatchRequest", match_rules))]

#: How long a referenced opportunity at another member may take.
UPSTREAM_TIMEOUT_SECONDS = 5.0
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_CRITERIA = ("occupation", "skills", "hoursPerWeek", "location", "startDate", "supportOffered")
_PATHS = {"vacancy": "vacancies", "task-offer": "task-offers"}


class UpstreamUnavailable(Exception):  # noqa: N818 - answered as the problem of that name
    """The member holding a referenced opportunity did not answer usably."""


def criteria_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The ``OpportunityCriteria`` of a vacancy or task offer: the members score-v1 reads."""
    criteria = {key: document[key] for key in _CRITERIA if key in document}
    criteria.setdefault("skills", [])
    return criteria


def _member_base_url(request: Request, node: str) -> str:
    directory: DirectoryCache | None = getattr(request.app.state, "directory", None)
    member = None
    if directory is not None:
        try:
            member = directory.get().member(node)
        except DirectoryError as exc:
            raise ServiceUnavailable("The federation directory is unavailable.") from exc
    if member is None or not member.has_role("provider") or not member.base_url:
        raise InvalidInput(
            [
                InvalidParam(
                    "body.opportunity.ref.node",
                    "not a member of the federation that serves opportunities",
                    "unknown-node",
                )
            ]
        )
    return member.base_url.rstrip("/")


def _fetch_remote(request: Request, node: str, resource: str, opportunity_id: str) -> Any:
    url = f"{_member_base_url(request, node)}/{_PATHS[resource]}/{quote(opportunity_id, safe='')}"
    transport: httpx.BaseTransport | None = getattr(request.app.state, "upstream_transport", None)
    try:
        with httpx.Client(
            transport=transport, timeout=UPSTREAM_TIMEOUT_SECONDS, follow_redirects=False
        ) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        logger.warning("opportunity %s at %s: %s", opportunity_id, node, exc)
        raise UpstreamUnavailable(
            f"{node} did not answer for {resource} {opportunity_id}."
        ) from exc
    if response.status_code == 404:
        raise NotFound(f"{node} has no {resource} {opportunity_id!r}.")
    if response.status_code != 200:
        raise UpstreamUnavailable(
            f"{node} answered {response.status_code} for {resource} {opportunity_id}."
        )
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamUnavailable(f"{node} sent no JSON for {resource} {opportunity_id}.") from exc


async def _criteria(
    request: Request, opportunity: Mapping[str, Any], settings: NodeSettings, store: Store
) -> dict[str, Any]:
    if "inline" in opportunity:
        return dict(opportunity["inline"])
    ref = opportunity["ref"]
    node, resource, opportunity_id = ref.get("node"), ref["type"], ref["id"]
    if node is None or node == settings.node_id:
        stored = await store_read(store, store.get_opportunity, resource, opportunity_id)
        return criteria_of(stored.as_document())
    document = await run_in_threadpool(_fetch_remote, request, node, resource, opportunity_id)
    criteria = criteria_of(document) if isinstance(document, Mapping) else {}
    if schema_problems("OpportunityCriteria", criteria):
        raise UpstreamUnavailable(f"{node} sent a {resource} that is not a valid opportunity.")
    return criteria


def _filters(body: Mapping[str, Any]) -> Filters:
    given = body.get("filters") or {}
    return Filters(
        hours_overlap=bool(given.get("hoursOverlap", False)),
        arbeidsmarktregios=frozenset(given.get("arbeidsmarktregios") or ()),
        gemeenten=frozenset(given.get("gemeenten") or ()),
    )


@router.post("/matches", operation_id="createMatch")
async def create_match(
    request: Request,
    consumer: CandidateReader,
    body: MatchBody,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The best ``limit`` cards for the opportunity, with score-v1 and its components.

    Served like a search (``serve_cards``): from the consumer's built view, logged by the
    group-committed writer in the transaction that confirms the view is still current. A
    fan-out sends this to every node, so the per-request cost is paid federation-wide.
    """
    try:
        criteria = await _criteria(request, body["opportunity"], settings, store)
    except UpstreamUnavailable as exc:
        return problem_response(request.scope, ProblemCode.UPSTREAM_UNAVAILABLE, str(exc))
    limit = min(int(body.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
    filters = _filters(body)
    results: list[ScoreResult] = []

    def pick(cached: CachedView) -> list[int]:
        top = cached.columns.top(criteria, limit, filters)
        results[:] = [result for _, result in top]
        return [index for index, _ in top]

    cached, picked = await serve_cards(request, consumer, pick, "createMatch", offload=True)
    view = cached.view
    items = b",".join(
        b'{"candidate":' + view.rendered(index) + b"," + json_bytes(result.as_json())[1:]
        for index, result in zip(picked, results, strict=True)
    )
    head = json_bytes(
        {"scoreVersion": "score-v1", "node": settings.node_id, "opportunity": criteria}
    )
    return Response(head[:-1] + b',"items":[' + items + b"]}", media_type="application/json")
