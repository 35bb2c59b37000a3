"""The federation class: a gateway's own operation and the read API answered by fan-out.

``listFederationMembers`` shows the public part of the verified directory (OW-FED-010).
``listVacancies``, ``listTaskOffers``, ``listInstruments``, ``searchCandidates`` and
``createMatch`` keep their node semantics — same parameters, same validation, same scopes —
and are answered from the providers' answers, with ``partial`` and ``nodes`` added
(OW-FED-004, OW-FED-005). Merge order and cursor composition are the SDK's
(``FederatedClient``), which implements OW-FED-006 and OW-FED-007.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk import FederatedMatchCard
from openwerk_server.errors import InvalidInput, InvalidParam, ServiceUnavailable
from openwerk_server.gateway.service import Gateway, federation_fields, item_document
from openwerk_server.pagination import page_links
from openwerk_server.routes.deps import (
    NEGOTIATION,
    L0Reader,
    RequestParams,
    SettingsDep,
    moment,
    request_params,
    require_scope,
)
from openwerk_server.routes.responses import json_response
from openwerk_server.rules import RULES_BY_SCHEMA
from openwerk_server.security import Principal
from openwerk_server.validation import parse_json_body, schema_problems

__all__ = ["router"]

router = APIRouter(dependencies=NEGOTIATION)

CandidateReader = Annotated[Principal, Depends(require_scope("candidates:read"))]


async def _match_body(request: Request) -> dict[str, Any]:
    """The ``MatchRequest`` body, checked against the spec's schema and the node's rules.

    Looked up per request rather than through ``json_body``: the matching class owns the
    semantic rules of ``MatchRequest``, and the gateway applies whatever it registers.
    """
    document = parse_json_body(request.headers.get("content-type"), await request.body())
    if document is None:
        raise InvalidInput([InvalidParam("body", "a JSON document is required", "required")])
    problems = schema_problems("MatchRequest", document)
    rule = RULES_BY_SCHEMA.get("MatchRequest")
    if rule is not None and not problems:
        problems = rule(document, moment(request), "body")
    if problems:
        raise InvalidInput(problems)
    return dict(document)


MatchBody = Annotated[dict[str, Any], Depends(_match_body)]
_PAGING = ("cursor", "limit")
_MATCH_DEFAULT, _MATCH_MAX = 20, 100


def _params(operation_id: str, listing: str | None = None) -> Any:
    return Depends(request_params(operation_id, listing=listing))


async def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]


def _filters(params: RequestParams) -> dict[str, Any]:
    return {k: v for k, v in params.values.items() if k not in _PAGING}


async def _federated_page(
    request: Request, gateway: Gateway, walk: str, params: RequestParams, base_url: str
) -> Response:
    page, cursor = await gateway.page(walk, _filters(params), params.text("cursor"), params.limit)
    body: dict[str, Any] = {
        "items": [item_document(item) for item in page.items],
        "links": page_links(request, base_url=base_url, limit=params.limit, next_cursor=cursor),
    }
    body.update(federation_fields(page.partial, page.nodes))
    return json_response(body)


# ---------------------------------------------------------------------------- directory
@router.get("/federation/members", operation_id="listFederationMembers")
async def list_federation_members(
    request: Request,
    params: Annotated[RequestParams, _params("listFederationMembers", "federation-members")],
    settings: SettingsDep,
    gateway: GatewayDep,
) -> Response:
    """The members of the directory this gateway uses, without keys (OW-FED-010)."""
    directory = await gateway.directory()
    members = sorted(directory.members, key=lambda m: m.id)
    if params.after is not None:
        members = [m for m in members if m.id > str(params.after[0])]
    shown = members[: params.limit]
    more = len(members) > params.limit
    items = []
    for member in shown:
        item: dict[str, Any] = {
            "id": member.id,
            "name": member.name,
            "organisationType": member.organisation_type,
        }
        if member.base_url:
            item["baseUrl"] = member.base_url
        item["roles"] = list(member.roles)
        if member.regions:
            item["regions"] = list(member.regions)
        items.append(item)
    cursor = None
    if more and shown:
        cursor = request.app.state.cursors.encode("federation-members", (shown[-1].id,))
    return json_response(
        {
            "directory": {"iss": directory.iss, "iat": directory.iat, "exp": directory.exp},
            "items": items,
            "links": page_links(
                request, base_url=settings.base_url, limit=params.limit, next_cursor=cursor
            ),
        }
    )


# ---------------------------------------------------------------------------- L0 lists
@router.get("/vacancies", operation_id="listVacancies")
async def list_vacancies(
    request: Request,
    _: L0Reader,
    params: Annotated[RequestParams, _params("listVacancies")],
    settings: SettingsDep,
    gateway: GatewayDep,
) -> Response:
    """Every provider's vacancies, newest first, then node id (OW-FED-006)."""
    return await _federated_page(request, gateway, "vacancies", params, settings.base_url)


@router.get("/task-offers", operation_id="listTaskOffers")
async def list_task_offers(
    request: Request,
    _: L0Reader,
    params: Annotated[RequestParams, _params("listTaskOffers")],
    settings: SettingsDep,
    gateway: GatewayDep,
) -> Response:
    """Every provider's task offers, newest first."""
    return await _federated_page(request, gateway, "task-offers", params, settings.base_url)


@router.get("/instruments", operation_id="listInstruments")
async def list_instruments(
    request: Request,
    _: L0Reader,
    params: Annotated[RequestParams, _params("listInstruments")],
    settings: SettingsDep,
    gateway: GatewayDep,
) -> Response:
    """Every provider's instruments, newest first."""
    return await _federated_page(request, gateway, "instruments", params, settings.base_url)


# ---------------------------------------------------------------------------- L2
@router.get("/candidates", operation_id="searchCandidates")
async def search_candidates(
    request: Request,
    _: CandidateReader,
    params: Annotated[RequestParams, _params("searchCandidates")],
    settings: SettingsDep,
    gateway: GatewayDep,
) -> Response:
    """The cards every provider shows this gateway, by pseudonym then node id."""
    return await _federated_page(request, gateway, "candidates", params, settings.base_url)


def _card_document(card: FederatedMatchCard) -> dict[str, Any]:
    document = item_document(card)
    document.pop("node", None)  # the card's origin is candidate.node; MatchCard has no node
    return document


def _reference_node(body: Mapping[str, Any]) -> None:
    ref = body["opportunity"].get("ref")
    if isinstance(ref, Mapping) and not ref.get("node"):
        raise InvalidInput(
            [
                InvalidParam(
                    "body.opportunity.ref.node",
                    "a gateway publishes no opportunities of its own: name the member that "
                    "published this one",
                    "required",
                )
            ]
        )


@router.post("/matches", operation_id="createMatch")
async def create_match(
    _: CandidateReader, body: MatchBody, settings: SettingsDep, gateway: GatewayDep
) -> Response:
    """The best ``limit`` cards of all providers: score desc, node id, pseudonym."""
    _reference_node(body)
    # Clamped here, not only by each provider: the merge keeps at most ``limit`` cards.
    request = {**body, "limit": min(body.get("limit", _MATCH_DEFAULT), _MATCH_MAX)}
    result = await gateway.run(lambda client: client.match(request))
    if result.opportunity is not None:
        criteria = result.opportunity.to_json_dict()
    elif "inline" in body["opportunity"]:
        criteria = dict(body["opportunity"]["inline"])
    else:
        summary = ", ".join(f"{n.node}: {n.status}" for n in result.nodes) or "no providers"
        raise ServiceUnavailable(
            "No provider answered within the gateway's deadline, so the referenced "
            f"opportunity's criteria are unknown ({summary})."
        )
    document: dict[str, Any] = {
        "scoreVersion": result.score_version,
        "node": settings.node_id,
        "opportunity": criteria,
        "items": [_card_document(card) for card in result.items],
    }
    document.update(federation_fields(result.partial, result.nodes))
    return json_response(document)
