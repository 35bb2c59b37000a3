"""Publication class, part 1: the custodian writes its L0 data (vacancies, task offers,
instruments). Candidates and consents are in ``publication_candidates``.

Every operation needs ``publication:write``. Invalid input is refused whole (OW-PUB-001,
OW-PUB-002) and each accepted write records its event in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from openwerk_server.routes import (
    publication_candidates,
    publication_introductions,
    publication_privacy,
)
from openwerk_server.routes.deps import (
    NEGOTIATION,
    Publisher,
    RequestParams,
    SettingsDep,
    StoreDep,
    json_body,
    request_params,
)
from openwerk_server.routes.responses import created, json_response
from openwerk_server.storage import InstrumentInput, OpportunityInput

router = APIRouter(dependencies=NEGOTIATION)

VacancyBody = Annotated[dict[str, Any], Depends(json_body("VacancyInput"))]
TaskOfferBody = Annotated[dict[str, Any], Depends(json_body("TaskOfferInput"))]
InstrumentBody = Annotated[dict[str, Any], Depends(json_body("InstrumentInput"))]


def _path(operation_id: str) -> Any:
    return Depends(request_params(operation_id))


# ---------------------------------------------------------------------------- vacancies
@router.post("/publication/vacancies", operation_id="createVacancy", status_code=201)
def create_vacancy(
    _: Publisher, body: VacancyBody, settings: SettingsDep, store: StoreDep
) -> Response:
    """Publish a vacancy with a node-assigned id."""
    stored = store.create_opportunity(
        OpportunityInput.from_document("vacancy", body), publisher=settings.node_id
    )
    return created(stored.as_document(), f"{settings.base_url}/vacancies/{stored.id}")


@router.put("/publication/vacancies/{vacancyId}", operation_id="replaceVacancy")
def replace_vacancy(
    _: Publisher,
    params: Annotated[RequestParams, _path("replaceVacancy")],
    body: VacancyBody,
    store: StoreDep,
) -> Response:
    """Replace an open vacancy's content."""
    stored = store.replace_opportunity(
        params.text("vacancyId") or "", OpportunityInput.from_document("vacancy", body)
    )
    return json_response(stored.as_document())


@router.post("/publication/vacancies/{vacancyId}/closure", operation_id="closeVacancy")
def close_vacancy(
    _: Publisher, params: Annotated[RequestParams, _path("closeVacancy")], store: StoreDep
) -> Response:
    """Close a vacancy; it stays fetchable with status ``closed``."""
    stored = store.close_opportunity("vacancy", params.text("vacancyId") or "")
    return json_response(stored.as_document())


# ---------------------------------------------------------------------------- task offers
@router.post("/publication/task-offers", operation_id="createTaskOffer", status_code=201)
def create_task_offer(
    _: Publisher, body: TaskOfferBody, settings: SettingsDep, store: StoreDep
) -> Response:
    """Publish a task offer with a node-assigned id."""
    stored = store.create_opportunity(
        OpportunityInput.from_document("task-offer", body), publisher=settings.node_id
    )
    return created(stored.as_document(), f"{settings.base_url}/task-offers/{stored.id}")


@router.put("/publication/task-offers/{taskOfferId}", operation_id="replaceTaskOffer")
def replace_task_offer(
    _: Publisher,
    params: Annotated[RequestParams, _path("replaceTaskOffer")],
    body: TaskOfferBody,
    store: StoreDep,
) -> Response:
    """Replace an open task offer's content."""
    stored = store.replace_opportunity(
        params.text("taskOfferId") or "", OpportunityInput.from_document("task-offer", body)
    )
    return json_response(stored.as_document())


@router.post("/publication/task-offers/{taskOfferId}/closure", operation_id="closeTaskOffer")
def close_task_offer(
    _: Publisher, params: Annotated[RequestParams, _path("closeTaskOffer")], store: StoreDep
) -> Response:
    """Close a task offer."""
    stored = store.close_opportunity("task-offer", params.text("taskOfferId") or "")
    return json_response(stored.as_document())


# ---------------------------------------------------------------------------- instruments
@router.post("/publication/instruments", operation_id="createInstrument", status_code=201)
def create_instrument(
    _: Publisher, body: InstrumentBody, settings: SettingsDep, store: StoreDep
) -> Response:
    """Publish an instrument of this publisher."""
    stored = store.create_instrument(
        InstrumentInput.from_document(body), publisher=settings.node_id
    )
    return created(stored.as_document(), f"{settings.base_url}/instruments/{stored.id}")


@router.put("/publication/instruments/{instrumentId}", operation_id="replaceInstrument")
def replace_instrument(
    _: Publisher,
    params: Annotated[RequestParams, _path("replaceInstrument")],
    body: InstrumentBody,
    store: StoreDep,
) -> Response:
    """Replace an active instrument's content."""
    stored = store.replace_instrument(
        params.text("instrumentId") or "", InstrumentInput.from_document(body)
    )
    return json_response(stored.as_document())


@router.post("/publication/instruments/{instrumentId}/closure", operation_id="closeInstrument")
def close_instrument(
    _: Publisher, params: Annotated[RequestParams, _path("closeInstrument")], store: StoreDep
) -> Response:
    """Close an instrument."""
    stored = store.close_instrument(params.text("instrumentId") or "")
    return json_response(stored.as_document())


router.include_router(publication_candidates.router)
router.include_router(publication_privacy.router)
router.include_router(publication_introductions.router)
