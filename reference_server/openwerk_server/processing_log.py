"""Writing the processing log for profiles served (OW-LOG-001, OW-LOG-003).

Every card a consumer receives — in search, fetch or match — leaves one record per
candidate: when, which consumer, for what purpose, by which operation, under the request's
trace. The trace id is the caller's when it sent a valid ``traceparent``
(``TraceContextMiddleware``), so the consumer's records and the node's share it. All records
of one request go in one insert, before the response is sent: a card that could not be
logged is not served (the store error becomes a 503).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Protocol

from starlette.requests import Request

from openwerk_server.storage import Store
from openwerk_server.storage.access_log import AccessRecord

__all__ = ["card_read_records", "log_card_reads"]


class Caller(Protocol):
    """Who read the cards: a ``security.Principal`` or a ``privacy.consent.Consumer``."""

    @property
    def client_id(self) -> str:
        """The member id in the directory."""
        ...


def card_read_records(
    request: Request,
    principal: Caller,
    internal_ids: Iterable[str],
    operation: str,
    purpose: str = "matching",
    *,
    activity_id: str | None = None,
) -> list[AccessRecord]:
    """One processing-log record per candidate served (duplicates collapsed).

    ``operation`` is the operationId (``searchCandidates``, ``getCandidate``,
    ``createMatch``); ``purpose`` the consent purpose the processing serves.
    """
    unique = list(dict.fromkeys(internal_ids))
    if not unique:
        return []
    store: Store = request.app.state.store
    state = request.state
    trace_id = getattr(state, "trace_id", None) or secrets.token_hex(16)
    span_id = getattr(state, "span_id", None) or secrets.token_hex(8)
    now = store.now()
    return [
        AccessRecord(
            candidate_id=candidate_id,
            time=now,
            consumer=principal.client_id,
            purpose=purpose,
            operation=operation,
            trace_id=trace_id,
            span_id=span_id,
            activity_id=activity_id,
        )
        for candidate_id in unique
    ]


def log_card_reads(
    request: Request,
    principal: Caller,
    internal_ids: Iterable[str],
    operation: str,
    purpose: str = "matching",
    *,
    activity_id: str | None = None,
) -> None:
    """Write ``card_read_records(...)`` now, in this thread."""
    records = card_read_records(
        request, principal, internal_ids, operation, purpose, activity_id=activity_id
    )
    store: Store = request.app.state.store
    store.log_access(records)
