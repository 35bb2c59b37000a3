"""Publication class, part 3: what the custodian learns about its candidates' privacy.

``getCandidateAccessLog`` is the right of access (GDPR art. 15): every processing-log record
about one candidate, newest first (OW-LOG-004). ``listWithheldProfiles`` reports every
(candidate, consumer) pair the k-anonymity gate withholds, with the class size and k, so
the custodian can explain why a profile is not visible (OW-KANON-007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk.directory import DirectoryCache, DirectoryError
from openwerk_server.errors import ServiceUnavailable
from openwerk_server.pagination import page_links
from openwerk_server.privacy.consent import Consumer
from openwerk_server.routes.deps import (
    NEGOTIATION,
    Publisher,
    RequestParams,
    SettingsDep,
    StoreDep,
    get_cursors,
    get_pool,
    request_params,
)
from openwerk_server.routes.responses import json_response, page_response
from openwerk_server.storage import Store
from openwerk_server.storage.access_log import AccessLogQuery, StoredAccessRecord
from openwerk_server.storage.records import rfc3339

__all__ = ["report_consumers", "router"]

router = APIRouter(dependencies=NEGOTIATION)

AccessLogParams = Annotated[
    RequestParams, Depends(request_params("getCandidateAccessLog", listing="access-log"))
]
WithheldParams = Annotated[
    RequestParams, Depends(request_params("listWithheldProfiles", listing="withheld-profiles"))
]


def _access_document(item: StoredAccessRecord) -> dict[str, Any]:
    return item.as_document()


@router.get(
    "/publication/candidates/{candidateId}/access-log", operation_id="getCandidateAccessLog"
)
def get_candidate_access_log(
    request: Request,
    _: Publisher,
    params: AccessLogParams,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Who read or acted on this candidate's profile, when, why, under which trace."""
    query = AccessLogQuery(
        candidate_id=params.text("candidateId") or "", after=params.after, limit=params.limit
    )
    return page_response(
        request,
        store.access_log(query),
        _access_document,
        listing="access-log",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@dataclass(frozen=True)
class _Withheld:
    consumer: str
    candidate_id: str
    class_size: int


def report_consumers(request: Request, store: Store, only: str | None) -> list[Consumer]:
    """The consumers whose views the report covers, sorted by id.

    With a directory: every member with the ``consumer`` or ``gateway`` role. Without one
    (development): the consumers the processing log names, described as this process last
    saw them (a consumer it has not seen counts with an unknown organisation type).
    """
    directory: DirectoryCache | None = getattr(request.app.state, "directory", None)
    found: dict[str, Consumer] = {}
    if directory is not None:
        try:
            members = directory.get().members
        except DirectoryError as exc:
            raise ServiceUnavailable("The federation directory is unavailable.") from exc
        for member in members:
            if member.has_role("consumer") or member.has_role("gateway"):
                found[member.id] = Consumer(
                    member.id, member.organisation_type, gateway=member.has_role("gateway")
                )
    else:
        seen: dict[str, Consumer] = getattr(request.app.state, "seen_consumers", None) or {}
        names = set(store.access_log_consumers())
        if only is not None:
            names.add(only)
        for name in names:
            found[name] = seen.get(name) or Consumer(name, "unknown")
    if only is not None:
        return [found[only]] if only in found else []
    return [found[name] for name in sorted(found)]


@router.get("/publication/withheld-profiles", operation_id="listWithheldProfiles")
def list_withheld_profiles(
    request: Request,
    _: Publisher,
    params: WithheldParams,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Every profile the k-anonymity gate withholds, per consumer, with totals."""
    cache = get_pool(request)
    evaluated_at = store.now()
    published = 0
    withheld: list[_Withheld] = []
    for consumer in report_consumers(request, store, params.text("consumer")):
        gate = cache.view(consumer).view.gate
        if gate is None:  # pragma: no cover - build_view always sets it
            continue
        published += len(gate.published)
        withheld.extend(
            _Withheld(consumer.client_id, candidate_id, entry.class_size)
            for candidate_id, entry in gate.withheld.items()
        )
    withheld.sort(key=lambda item: (item.consumer, item.candidate_id))
    after = params.after
    if after is not None:
        position = (str(after[0]), str(after[-1]))
        withheld_after = [w for w in withheld if (w.consumer, w.candidate_id) > position]
    else:
        withheld_after = withheld
    page = withheld_after[: params.limit]
    more = len(withheld_after) > params.limit
    next_cursor = (
        get_cursors(request).encode("withheld-profiles", (page[-1].consumer, page[-1].candidate_id))
        if more and page
        else None
    )
    body = {
        "evaluatedAt": rfc3339(evaluated_at),
        "publishedCount": published,
        "withheldCount": len(withheld),
        "items": [
            {
                "candidateId": item.candidate_id,
                "consumer": item.consumer,
                "reason": "k-anonymity",
                "classSize": item.class_size,
                "k": cache.k,
            }
            for item in page
        ],
        "links": page_links(
            request, base_url=settings.base_url, limit=params.limit, next_cursor=next_cursor
        ),
    }
    return json_response(body)
