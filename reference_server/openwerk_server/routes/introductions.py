"""Introductions class (L3): a requester asks to meet the candidate behind a pseudonym.

The requester is the calling member (OW-INTRO-001); it can ask only about a pseudonym the
node publishes to it now (else 404, OW-INTRO-008), and it sees only its own introductions
(another member's is 404, OW-INTRO-007). ``identity`` — given name, family name and the
contact channel the candidate chose — is present only when the introduction is
``accepted``, only for its requester (OW-INTRO-006), and only while a ``matching`` consent
of the candidate still admits the requester and the record exists: after a withdrawal,
expiry or erasure the introduction stays ``accepted`` but the name is no longer shown (the
privacy-protective reading; spec/docs/introductions.md says the requester "already has the
contact details", which this node does not rely on). Every read of a revealed identity
writes a processing-log record (OW-LOG-002).

Before answering, what time decided is persisted (``Store.settle_introductions``): a
pending introduction past ``expiresAt`` reads ``expired`` on every path (OW-INTRO-003).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.errors import NotFound
from openwerk_server.routes.deps import (
    NEGOTIATION,
    RequestParams,
    SettingsDep,
    StoreDep,
    get_cursors,
    get_pool,
    request_params,
)
from openwerk_server.routes.l3_deps import Requester, checked_body, trace_of
from openwerk_server.routes.responses import created, json_response, page_response
from openwerk_server.storage import Store
from openwerk_server.storage.introductions import (
    IntroductionInput,
    IntroductionQuery,
    StoredIntroduction,
    Trace,
)

__all__ = ["router"]

router = APIRouter(dependencies=NEGOTIATION)

IntroductionBody = Annotated[dict[str, Any], Depends(checked_body("IntroductionRequest"))]

#: The one 404 for a pseudonym the caller cannot see (the same as getCandidate's).
NOT_PUBLISHED = "No candidate profile under this pseudonym is published to you."


def _params(operation_id: str, listing: str | None = None) -> Any:
    return Depends(request_params(operation_id, listing=listing))


def render_for_requester(
    store: Store, intro: StoredIntroduction, *, trace: Trace, operation: str
) -> dict[str, Any]:
    """The ``Introduction`` as its requester sees it (identity when revealed, logged)."""
    identity = store.reveal_identity(intro, trace=trace, operation=operation)
    return intro.as_introduction(store.now(), identity)


@router.post("/introductions", operation_id="createIntroduction", status_code=201)
def create_introduction(
    request: Request,
    consumer: Requester,
    body: IntroductionBody,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Ask to be introduced to the candidate behind one of the caller's pseudonyms."""
    view = get_pool(request).view(consumer).view
    position = view.index.get(body["candidate"])
    if position is None:
        raise NotFound(NOT_PUBLISHED)
    ref = body["opportunity"]
    node = ref.get("node")
    if node is None or node == settings.node_id:
        store.get_opportunity(ref["type"], ref["id"])  # 404 for an unknown local opportunity
    item = IntroductionInput(
        requester=consumer.client_id,
        requester_type=consumer.organisation_type,
        role=body["requesterRole"],
        contact_person=body["contactPerson"],
        opportunity_type=ref["type"],
        opportunity_id=ref["id"],
        opportunity_node=node,
        candidate_id=view.internal_ids[position],
        pseudonym=body["candidate"],
        message=body["message"],
    )
    stored = store.create_introduction(
        item, ttl=timedelta(days=settings.introduction_ttl_days), trace=trace_of(request)
    )
    return created(
        stored.as_introduction(store.now()), f"{settings.base_url}/introductions/{stored.id}"
    )


@router.get("/introductions", operation_id="listIntroductions")
def list_introductions(
    request: Request,
    consumer: Requester,
    params: Annotated[RequestParams, _params("listIntroductions", "introductions")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The caller's introductions, newest first."""
    trace = trace_of(request)
    store.settle_introductions(trace=trace)
    query = IntroductionQuery(
        requester=consumer.client_id,
        status=params.text("status"),
        after=params.after,
        limit=params.limit,
    )
    return page_response(
        request,
        store.list_introductions(query),
        lambda intro: render_for_requester(
            store, intro, trace=trace, operation="listIntroductions"
        ),
        listing="introductions",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.get("/introductions/{introductionId}", operation_id="getIntroduction")
def get_introduction(
    request: Request,
    consumer: Requester,
    params: Annotated[RequestParams, _params("getIntroduction")],
    store: StoreDep,
) -> Response:
    """One of the caller's introductions; identity when accepted."""
    trace = trace_of(request)
    store.settle_introductions(trace=trace)
    intro = store.get_introduction(
        params.text("introductionId") or "", requester=consumer.client_id
    )
    return json_response(
        render_for_requester(store, intro, trace=trace, operation="getIntroduction")
    )


@router.post("/introductions/{introductionId}/cancellation", operation_id="cancelIntroduction")
def cancel_introduction(
    request: Request,
    consumer: Requester,
    params: Annotated[RequestParams, _params("cancelIntroduction")],
    store: StoreDep,
) -> Response:
    """pending → cancelled; anything else 409 ``illegal-transition``."""
    trace = trace_of(request)
    store.settle_introductions(trace=trace)
    intro = store.cancel_introduction(
        params.text("introductionId") or "", requester=consumer.client_id, trace=trace
    )
    return json_response(intro.as_introduction(store.now()))
