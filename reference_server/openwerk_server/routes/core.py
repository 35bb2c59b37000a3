"""Core class: landing page, conformance, the normative OpenAPI document and code lists.

The node serves the spec's own document (with ``servers`` set to itself), never a generated
one, so what a client reads is exactly what the conformance suite checks (OW-CORE-003).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.errors import NotFound
from openwerk_server.routes.deps import NEGOTIATION, RequestParams, SettingsDep, request_params
from openwerk_server.routes.responses import json_response
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.codelists import CODE_LIST_NAMES, UnknownCodeList, as_json, load_code_list
from openwerk_spec.openapi import openapi_for_server, spec_version

router = APIRouter(dependencies=NEGOTIATION)

CodeListParams = Annotated[RequestParams, Depends(request_params("getCodeList"))]


def _classes(request: Request) -> list[ConformanceClass]:
    classes: list[ConformanceClass] = request.app.state.conformance_classes
    return classes


def _issues_tokens(request: Request) -> bool:
    # The token router (openwerk_server.auth) serves from app.state.token_endpoint.
    return getattr(request.app.state, "token_endpoint", None) is not None


def landing_page(request: Request, settings: SettingsDep) -> Response:
    """What this node is and where everything else is (OW-CORE-001)."""
    base = settings.base_url
    organisation: dict[str, Any] = {
        "type": settings.organisation_type,
        "name": settings.organisation_name,
    }
    identifiers = {
        key: value
        for key, value in (
            ("oin", settings.identifiers.oin),
            ("kvkNumber", settings.identifiers.kvk_number),
            ("cbsGemeentecode", settings.identifiers.cbs_gemeentecode),
        )
        if value is not None
    }
    if identifiers:
        organisation["identifiers"] = identifiers
    regions: dict[str, Any] = {"arbeidsmarktregios": settings.regions}
    if settings.gemeenten:
        regions["gemeenten"] = list(settings.gemeenten)
    classes = _classes(request)
    links = [
        {"href": f"{base}/", "rel": "self", "type": "application/json"},
        {
            "href": f"{base}/openapi.json",
            "rel": "service-desc",
            "type": "application/vnd.oai.openapi+json;version=3.1",
        },
        {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
        {"href": f"{base}/code-lists", "rel": "code-lists", "type": "application/json"},
    ]
    if ConformanceClass.OPPORTUNITIES in classes:
        for name in ("vacancies", "task-offers", "instruments"):
            links.append({"href": f"{base}/{name}", "rel": name, "type": "application/json"})
    page: dict[str, Any] = {
        "id": settings.node_id,
        "name": settings.node_name,
        "organisation": organisation,
        "regions": regions,
        "mode": settings.mode,
        "specVersion": spec_version(),
        "k": settings.k,
        "conformsTo": [c.uri for c in classes],
        "publicOpportunities": settings.public_opportunities,
        "links": links,
    }
    if settings.node_description:
        page["description"] = settings.node_description
    if _issues_tokens(request):
        page["tokenEndpoint"] = f"{base}/oauth/token"
    return json_response(page)


# The landing page answers at /v1 and /v1/: the spec's server URL ends in /v1 and its path is
# "/", and neither spelling should cost a client a redirect.
router.add_api_route("", landing_page, methods=["GET"], operation_id="getLandingPage")
router.add_api_route(
    "/", landing_page, methods=["GET"], operation_id="getLandingPage", include_in_schema=False
)


@router.get("/conformance", operation_id="getConformance")
def get_conformance(request: Request) -> Response:
    """The classes this node implements (OW-CORE-002)."""
    return json_response({"conformsTo": [c.uri for c in _classes(request)]})


@router.get("/openapi.json", operation_id="getOpenApiDocument")
def get_openapi_document(request: Request, settings: SettingsDep) -> Response:
    """The normative document with ``servers`` set to this node (built once per app)."""
    cached: bytes | None = getattr(request.app.state, "openapi_document", None)
    if cached is None:
        document = openapi_for_server(settings.base_url)
        cached = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        request.app.state.openapi_document = cached
    return Response(cached, media_type="application/json")


@router.get("/code-lists", operation_id="listCodeLists")
def list_code_lists(settings: SettingsDep) -> Response:
    """Every code list of the standard with its version (OW-CORE-005)."""
    items = []
    for name in CODE_LIST_NAMES:
        code_list = load_code_list(name)
        items.append(
            {
                "name": code_list.name,
                "version": code_list.version,
                "title": dict(code_list.title),
                "links": {"self": {"href": f"{settings.base_url}/code-lists/{name}"}},
            }
        )
    return json_response({"items": items})


@router.get("/code-lists/{codeListName}", operation_id="getCodeList")
def get_code_list(params: CodeListParams) -> Response:
    """One code list exactly as published in ``spec/v1/codelists``."""
    name = params.text("codeListName") or ""
    try:
        return json_response(as_json(name))
    except UnknownCodeList as exc:
        raise NotFound(f"No code list named {name!r}.") from exc
