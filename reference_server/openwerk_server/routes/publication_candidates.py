"""Publication class, part 2: the custodian's candidate records and their consents.

Identified data enters the node here and is served back only here. What consumers may see
(L2 cards, pseudonyms, the k-anonymity gate) is computed from these records elsewhere.
Consent state machine: given → withdrawn, given → given (re-confirmed); ``expired`` follows
from ``validUntil``; anything else is 409 ``illegal-transition``.
"""

from __future__ import annotations

from datetime import date
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
    json_body,
    request_params,
)
from openwerk_server.routes.l3_deps import trace_of
from openwerk_server.routes.responses import created, json_response, page_response
from openwerk_server.storage import (
    BatchItem,
    CandidateInput,
    CandidateQuery,
    ConsentInput,
    ConsentQuery,
    StoredCandidate,
)

router = APIRouter(dependencies=NEGOTIATION)

CandidateBody = Annotated[dict[str, Any], Depends(json_body("CandidateRecordInput"))]
BatchBody = Annotated[dict[str, Any], Depends(json_body("CandidateBatch"))]
ConsentBody = Annotated[dict[str, Any], Depends(json_body("ConsentInput"))]
ReconfirmationBody = Annotated[dict[str, Any], Depends(json_body("Reconfirmation"))]
WithdrawalBody = Annotated[dict[str, Any] | None, Depends(json_body("Withdrawal", required=False))]


def _params(operation_id: str, listing: str | None = None) -> Any:
    return Depends(request_params(operation_id, listing=listing))


def _candidate_document(item: StoredCandidate) -> dict[str, Any]:
    return item.as_document()


# ---------------------------------------------------------------------------- candidates
@router.get("/publication/candidates", operation_id="listCandidateRecords")
def list_candidate_records(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("listCandidateRecords", "candidates")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The node's identified records, by id."""
    query = CandidateQuery(
        external_reference=params.text("externalReference"),
        after=params.after,
        limit=params.limit,
    )
    return page_response(
        request,
        store.list_candidates(query),
        _candidate_document,
        listing="candidates",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.post("/publication/candidates", operation_id="createCandidateRecord", status_code=201)
def create_candidate_record(
    _: Publisher, body: CandidateBody, settings: SettingsDep, store: StoreDep
) -> Response:
    """Register a candidate; nothing is published before a consent is recorded."""
    stored = store.create_candidate(CandidateInput.from_document(body))
    return created(stored.as_document(), f"{settings.base_url}/publication/candidates/{stored.id}")


@router.post("/publication/candidate-batches", operation_id="createCandidateBatch", status_code=201)
def create_candidate_batch(_: Publisher, body: BatchBody, store: StoreDep) -> Response:
    """Up to 1,000 candidates with consents, all or nothing (OW-PUB-004)."""
    results = store.create_candidate_batch([BatchItem.from_document(i) for i in body["items"]])
    rendered = []
    for result in results:
        entry: dict[str, Any] = {"candidateId": result.candidate_id}
        if result.external_reference is not None:
            entry["externalReference"] = result.external_reference
        entry["consentIds"] = list(result.consent_ids)
        rendered.append(entry)
    return json_response({"items": rendered}, status_code=201)


@router.get("/publication/candidates/{candidateId}", operation_id="getCandidateRecord")
def get_candidate_record(
    _: Publisher,
    params: Annotated[RequestParams, _params("getCandidateRecord")],
    store: StoreDep,
) -> Response:
    """One identified record."""
    return json_response(store.get_candidate(params.text("candidateId") or "").as_document())


@router.put("/publication/candidates/{candidateId}", operation_id="replaceCandidateRecord")
def replace_candidate_record(
    _: Publisher,
    params: Annotated[RequestParams, _params("replaceCandidateRecord")],
    body: CandidateBody,
    store: StoreDep,
) -> Response:
    """Replace a record."""
    stored = store.replace_candidate(
        params.text("candidateId") or "", CandidateInput.from_document(body)
    )
    return json_response(stored.as_document())


@router.delete(
    "/publication/candidates/{candidateId}",
    operation_id="deleteCandidateRecord",
    status_code=204,
)
def delete_candidate_record(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("deleteCandidateRecord")],
    store: StoreDep,
) -> Response:
    """Erasure: the record and its consents go, a tombstone is recorded (OW-PUB-006), and
    its pending introductions are cancelled (OW-CONSENT-009)."""
    store.erase_candidate(params.text("candidateId") or "", trace=trace_of(request))
    return Response(status_code=204)


# ---------------------------------------------------------------------------- consents
@router.get("/publication/candidates/{candidateId}/consents", operation_id="listConsents")
def list_consents(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("listConsents", "consents")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """A candidate's consents, newest first, expired ones shown as ``expired``."""
    today = store.today()
    query = ConsentQuery(
        candidate_id=params.text("candidateId") or "", after=params.after, limit=params.limit
    )
    return page_response(
        request,
        store.list_consents(query),
        lambda consent: consent.as_document(today),
        listing="consents",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.post(
    "/publication/candidates/{candidateId}/consents",
    operation_id="createConsent",
    status_code=201,
)
def create_consent(
    _: Publisher,
    params: Annotated[RequestParams, _params("createConsent")],
    body: ConsentBody,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Record a consent the candidate gave."""
    candidate_id = params.text("candidateId") or ""
    stored = store.create_consent(candidate_id, ConsentInput.from_document(body))
    location = f"{settings.base_url}/publication/candidates/{candidate_id}/consents/{stored.id}"
    return created(stored.as_document(store.today()), location)


@router.get("/publication/candidates/{candidateId}/consents/{consentId}", operation_id="getConsent")
def get_consent(
    _: Publisher, params: Annotated[RequestParams, _params("getConsent")], store: StoreDep
) -> Response:
    """One consent record."""
    consent = store.get_consent(params.text("candidateId") or "", params.text("consentId") or "")
    return json_response(consent.as_document(store.today()))


@router.post(
    "/publication/candidates/{candidateId}/consents/{consentId}/reconfirmation",
    operation_id="reconfirmConsent",
)
def reconfirm_consent(
    _: Publisher,
    params: Annotated[RequestParams, _params("reconfirmConsent")],
    body: ReconfirmationBody,
    store: StoreDep,
) -> Response:
    """given → given, valid until a new date at most 12 months ahead."""
    consent = store.reconfirm_consent(
        params.text("candidateId") or "",
        params.text("consentId") or "",
        valid_until=date.fromisoformat(body["validUntil"]),
        evidence=body.get("evidence"),
    )
    return json_response(consent.as_document(store.today()))


@router.post(
    "/publication/candidates/{candidateId}/consents/{consentId}/withdrawal",
    operation_id="withdrawConsent",
)
def withdraw_consent(
    request: Request,
    _: Publisher,
    params: Annotated[RequestParams, _params("withdrawConsent")],
    body: WithdrawalBody,
    store: StoreDep,
) -> Response:
    """given → withdrawn, effective before this response is sent (OW-CONSENT-005); pending
    introductions it no longer covers are cancelled with it (OW-CONSENT-009)."""
    consent = store.withdraw_consent(
        params.text("candidateId") or "",
        params.text("consentId") or "",
        evidence=body.get("evidence") if body else None,
        trace=trace_of(request),
    )
    return json_response(consent.as_document(store.today()))
