"""Opportunities class (L0 open data): vacancies, task offers and instruments.

Read-only and public unless the node sets ``public_opportunities = false``. Every filter of
the spec combines with AND; lists are newest first and keyset-paged (OW-OPP-001, OW-PAGE-004).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.errors import InvalidInput, InvalidParam
from openwerk_server.jsonld import LD_JSON, job_posting
from openwerk_server.pagination import page_links
from openwerk_server.routes.deps import (
    NEGOTIATION,
    L0Reader,
    MediaType,
    RequestParams,
    SettingsDep,
    StoreDep,
    get_cursors,
    request_params,
    store_read,
)
from openwerk_server.routes.responses import fragment_page_response, json_response, page_response
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import (
    InstrumentQuery,
    OpportunityQuery,
    Resource,
    Store,
    StoredInstrument,
)
from openwerk_server.storage.queries import (
    parse_datetime,
)

router = APIRouter(dependencies=NEGOTIATION)

VacancyList = Annotated[
    RequestParams, Depends(request_params("listVacancies", listing="vacancies"))
]
TaskOfferList = Annotated[
    RequestParams, Depends(request_params("listTaskOffers", listing="task-offers"))
]
InstrumentList = Annotated[
    RequestParams, Depends(request_params("listInstruments", listing="instruments"))
]
VacancyPath = Annotated[RequestParams, Depends(request_params("getVacancy"))]
TaskOfferPath = Annotated[RequestParams, Depends(request_params("getTaskOffer"))]
InstrumentPath = Annotated[RequestParams, Depends(request_params("getInstrument"))]


def updated_since(params: RequestParams) -> datetime | None:
    """``updatedSince`` as an aware datetime (the spec's ``date-time`` is always offset)."""
    text = params.text("updatedSince")
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise InvalidInput(
            [InvalidParam("updatedSince", "must be an RFC 3339 date-time", "format")]
        ) from exc


def opportunity_query(resource: Resource, params: RequestParams) -> OpportunityQuery:
    """The store query for ``listVacancies``/``listTaskOffers``.

    ``occupation`` is an ESCO URI (exact) or 1-4 ISCO-08 digits (prefix of the unit group).
    """
    occupation = params.text("occupation")
    by_isco = occupation is not None and occupation.isdigit()
    return OpportunityQuery(
        resource=resource,
        status=params.text("status") or "open",
        esco_uri=None if by_isco else occupation,
        isco08_prefix=occupation if by_isco else None,
        skill=params.text("skill"),
        gemeente=params.text("gemeente"),
        arbeidsmarktregio=params.text("arbeidsmarktregio"),
        kind=params.text("kind"),
        hours_min=params.number("hoursMin"),
        hours_max=params.number("hoursMax"),
        instrument=params.text("instrument"),
        updated_since=updated_since(params),
        after=params.after,
        limit=params.limit,
    )


async def _opportunity_page(
    request: Request, store: Store, query: OpportunityQuery, settings: NodeSettings
) -> Response:
    """A page of vacancies or task offers, spliced from each row's kept rendering."""
    page = await store_read(store, store.list_opportunity_rows, query)
    listing = "vacancies" if query.resource == "vacancy" else "task-offers"
    next_cursor = (
        get_cursors(request).encode(listing, page.next_key) if page.next_key is not None else None
    )
    links = page_links(
        request, base_url=settings.base_url, limit=query.limit, next_cursor=next_cursor
    )
    return fragment_page_response([row.rendered() for row in page.items], links)


def _instrument_document(item: StoredInstrument) -> dict[str, object]:
    return item.as_document()


@router.get("/vacancies", operation_id="listVacancies")
async def list_vacancies(
    request: Request, _: L0Reader, params: VacancyList, settings: SettingsDep, store: StoreDep
) -> Response:
    """Open (or closed) vacancies of this node matching every filter."""
    return await _opportunity_page(request, store, opportunity_query("vacancy", params), settings)


@router.get("/vacancies/{vacancyId}", operation_id="getVacancy")
def get_vacancy(
    media: MediaType, _: L0Reader, params: VacancyPath, settings: SettingsDep, store: StoreDep
) -> Response:
    """One vacancy, as JSON or as a schema.org JobPosting (OW-OPP-005)."""
    vacancy = store.get_opportunity("vacancy", params.text("vacancyId") or "")
    headers = {"Vary": "Accept"}
    if media == LD_JSON:
        return json_response(
            job_posting(vacancy, base_url=settings.base_url), headers=headers, media_type=LD_JSON
        )
    return json_response(vacancy.as_document(), headers=headers)


@router.get("/task-offers", operation_id="listTaskOffers")
async def list_task_offers(
    request: Request, _: L0Reader, params: TaskOfferList, settings: SettingsDep, store: StoreDep
) -> Response:
    """Open (or closed) task offers matching every filter."""
    return await _opportunity_page(
        request, store, opportunity_query("task-offer", params), settings
    )


@router.get("/task-offers/{taskOfferId}", operation_id="getTaskOffer")
def get_task_offer(_: L0Reader, params: TaskOfferPath, store: StoreDep) -> Response:
    """One task offer, open or closed."""
    offer = store.get_opportunity("task-offer", params.text("taskOfferId") or "")
    return json_response(offer.as_document())


@router.get("/instruments", operation_id="listInstruments")
def list_instruments(
    request: Request, _: L0Reader, params: InstrumentList, settings: SettingsDep, store: StoreDep
) -> Response:
    """This publisher's instruments, newest first."""
    query = InstrumentQuery(
        type=params.text("type"),
        gemeente=params.text("gemeente"),
        status=params.text("status") or "active",
        updated_since=updated_since(params),
        after=params.after,
        limit=params.limit,
    )
    return page_response(
        request,
        store.list_instruments(query),
        _instrument_document,
        listing="instruments",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.get("/instruments/{instrumentId}", operation_id="getInstrument")
def get_instrument(_: L0Reader, params: InstrumentPath, store: StoreDep) -> Response:
    """One instrument, active or closed."""
    return json_response(store.get_instrument(params.text("instrumentId") or "").as_document())
