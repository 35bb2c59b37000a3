"""``AsyncClient``: the same API as ``Client``, over ``httpx.AsyncClient``.

Every method mirrors ``Client``'s with ``await``; list methods are async iterators
(``async for v in client.vacancies()``). Requests, gating, parsing and errors come from the
same sans-I/O modules, so the two clients answer alike by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from openwerk import _operations as ops
from openwerk._base import BaseClient
from openwerk._errors import ApiError, InvalidResponseError
from openwerk._introductions import ContactPerson, Introduction, IntroductionRequest
from openwerk._matching import (
    MatchCard,
    MatchFilters,
    MatchRequest,
    MatchResult,
    OpportunityCriteria,
    OpportunityReference,
)
from openwerk._models import (
    CandidateProfile,
    CloudEvent,
    Conformance,
    Instrument,
    LandingPage,
    Opportunity,
    Statistics,
    Subscription,
    TaskOffer,
    Vacancy,
)
from openwerk._operations import Call
from openwerk._pagination import LinkGuard, Page
from openwerk._params import CandidateFilters, InstrumentFilters, OpportunityFilters
from openwerk._transport import (
    build_request,
    default_headers,
    request_timeout,
    translate_errors,
)
from openwerk.assertions import ClientCredentials
from openwerk_spec.classes import ConformanceClass

__all__ = ["AsyncClient", "AsyncPublication"]

T = TypeVar("T")


class AsyncClient(BaseClient):
    """An asyncio client for one Open Werk node; see ``Client`` for the parameters."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: ClientCredentials | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
        strict: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, credentials=credentials, strict=strict)
        self._http = httpx.AsyncClient(
            transport=transport, timeout=timeout, headers=default_headers(headers)
        )
        # One token request at a time; asyncio.Lock binds to a loop only when first used.
        self._token_lock = asyncio.Lock()
        #: Custodian operations (the publication class).
        self.publication = AsyncPublication(self)

    # -------------------------------------------------------------- lifecycle

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -------------------------------------------------------------- machinery

    async def _token(self) -> str:
        tokens = self._tokens
        assert tokens is not None  # only called when credentials were given
        async with self._token_lock:
            cached = tokens.current()
            if cached is not None:
                return cached
            form = tokens.request_form()
            with translate_errors(f"token request to {tokens.url}"):
                response = await self._http.post(
                    tokens.url, data=form, timeout=request_timeout(self._http)
                )
            return tokens.accept(response)

    async def _send(
        self, call: Call[Any], url: httpx.URL, token: str | None
    ) -> tuple[httpx.Response, str | None]:
        request, trace_id = build_request(
            self._http, call.method, url, params=call.params, content=call.body, token=token
        )
        with translate_errors(f"{call.operation} {request.url}"):
            return await self._http.send(request), trace_id

    async def _exchange(self, call: Call[T]) -> T:
        url = self._url(call)
        token = await self._token() if self._wants_token(call) else None
        response, trace_id = await self._send(call, url, token)
        if response.status_code == httpx.codes.UNAUTHORIZED and token is not None:
            assert self._tokens is not None
            self._tokens.invalidate(token)  # the node no longer takes it: one fresh try
            response, trace_id = await self._send(call, url, await self._token())
        return self._finish(call, response, trace_id)

    async def _call(self, call: Call[T]) -> T:
        if call.needs is not None and self._gate.mode != "ignore":
            if self._gate.needs_declaration:
                await self._read_declaration()
            self._gate.check(call.needs, call.operation)
        return await self._exchange(call)

    async def _read_declaration(self) -> Conformance | None:
        try:
            declaration = await self._exchange(ops.conformance())
        except (ApiError, InvalidResponseError) as exc:
            self._gate.record_failure(exc)
            return None
        self._gate.record(declaration.classes)
        return declaration

    async def _iterate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        guard = LinkGuard(self.base_url)
        page = await self._call(call)
        while True:
            guard.fetched(page.url or call.url(self.base_url))
            for item in page.items:
                yield item
            if page.next_url is None:
                return
            page = await self._call(call.follow(guard.check(page.next_url)))

    # -------------------------------------------------------------- core

    async def landing(self) -> LandingPage:
        """The node's landing page."""
        return await self._call(ops.landing())

    async def conformance(self) -> Conformance:
        """Read ``/conformance`` now (and use it for gating from here on)."""
        declaration = await self._exchange(ops.conformance())
        self._gate.record(declaration.classes)
        return declaration

    async def conforms_to(self, cls: ConformanceClass | str) -> bool:
        """Whether the node declares ``cls``; reads ``/conformance`` on first use."""
        if not self._gate.loaded:
            await self._read_declaration()
        declared = self._gate.declared
        return declared is not None and ConformanceClass(cls) in declared

    async def next_page(self, page: Page[T]) -> Page[T] | None:
        """The page after ``page``, or ``None`` when it was the last."""
        call = self._next_call(page)
        if call is None:
            return None
        return await self._call(call)

    # -------------------------------------------------------------- opportunities (L0)

    def vacancies(self, **filters: Unpack[OpportunityFilters]) -> AsyncIterator[Vacancy]:
        """Every vacancy matching ``filters``, newest first, across all pages."""
        return self._iterate(ops.list_vacancies(filters))

    async def vacancies_page(
        self, cursor: str | None = None, **filters: Unpack[OpportunityFilters]
    ) -> Page[Vacancy]:
        """One page of vacancies."""
        return await self._call(ops.list_vacancies(filters, cursor))

    async def vacancy(self, vacancy_id: str) -> Vacancy:
        """One vacancy, open or closed."""
        return await self._call(ops.get_vacancy(vacancy_id))

    def task_offers(self, **filters: Unpack[OpportunityFilters]) -> AsyncIterator[TaskOffer]:
        """Every task offer matching ``filters``, across all pages."""
        return self._iterate(ops.list_task_offers(filters))

    async def task_offers_page(
        self, cursor: str | None = None, **filters: Unpack[OpportunityFilters]
    ) -> Page[TaskOffer]:
        """One page of task offers."""
        return await self._call(ops.list_task_offers(filters, cursor))

    async def task_offer(self, task_offer_id: str) -> TaskOffer:
        """One task offer, open or closed."""
        return await self._call(ops.get_task_offer(task_offer_id))

    def instruments(self, **filters: Unpack[InstrumentFilters]) -> AsyncIterator[Instrument]:
        """The publisher's instruments, across all pages."""
        return self._iterate(ops.list_instruments(filters))

    async def instrument(self, instrument_id: str) -> Instrument:
        """One instrument of this publisher."""
        return await self._call(ops.get_instrument(instrument_id))

    # -------------------------------------------------------------- candidates (L2), matching

    def search_candidates(
        self, **filters: Unpack[CandidateFilters]
    ) -> AsyncIterator[CandidateProfile]:
        """Every candidate card this node publishes to the caller that matches ``filters``."""
        return self._iterate(ops.search_candidates(filters))

    async def search_candidates_page(
        self, cursor: str | None = None, **filters: Unpack[CandidateFilters]
    ) -> Page[CandidateProfile]:
        """One page of candidate cards."""
        return await self._call(ops.search_candidates(filters, cursor))

    async def candidate(self, pseudonym: str) -> CandidateProfile:
        """One card under the caller's pseudonym."""
        return await self._call(ops.get_candidate(pseudonym))

    async def match(
        self,
        request: MatchRequest | Mapping[str, Any] | None = None,
        *,
        opportunity: OpportunityReference
        | OpportunityCriteria
        | Opportunity
        | Mapping[str, Any]
        | None = None,
        limit: int | None = None,
        filters: MatchFilters | Mapping[str, Any] | None = None,
    ) -> MatchResult:
        """Rank the node's candidates against an opportunity with score-v1."""
        return await self._call(ops.create_match(request, opportunity, limit, filters))

    # -------------------------------------------------------------- introductions (L3)

    async def introduce(
        self,
        request: IntroductionRequest | Mapping[str, Any] | None = None,
        *,
        opportunity: OpportunityReference | Opportunity | Mapping[str, Any] | None = None,
        candidate: str | CandidateProfile | MatchCard | None = None,
        requester_role: str | None = None,
        contact_person: ContactPerson | Mapping[str, Any] | str | None = None,
        message: str | None = None,
    ) -> Introduction:
        """Ask to meet the candidate behind a pseudonym."""
        parts = {
            "opportunity": opportunity,
            "candidate": candidate,
            "requester_role": requester_role,
            "contact_person": contact_person,
            "message": message,
        }
        return await self._call(ops.create_introduction(request, parts))

    async def introduction(self, introduction_id: str) -> Introduction:
        """An introduction's state; ``identity`` is set once the candidate accepted."""
        return await self._call(ops.get_introduction(introduction_id))

    def introductions(
        self, status: str | None = None, *, limit: int | None = None
    ) -> AsyncIterator[Introduction]:
        """The caller's introductions, newest first."""
        return self._iterate(ops.list_introductions(status, limit))

    async def cancel_introduction(self, introduction_id: str) -> Introduction:
        """Withdraw a pending request."""
        return await self._call(ops.cancel_introduction(introduction_id))

    # -------------------------------------------------------------- statistics (L1)

    async def candidate_statistics(
        self,
        group_by: Sequence[str] | None = None,
        *,
        arbeidsmarktregio: str | None = None,
        gemeente: str | None = None,
    ) -> Statistics:
        """Anonymous candidate counts grouped by up to three dimensions."""
        call = ops.statistics("candidates", group_by, arbeidsmarktregio, gemeente)
        return await self._call(call)

    async def placement_statistics(
        self, group_by: Sequence[str] | None = None, *, arbeidsmarktregio: str | None = None
    ) -> Statistics:
        """Anonymous counts of placement outcomes."""
        return await self._call(ops.statistics("placements", group_by, arbeidsmarktregio))

    # -------------------------------------------------------------- events

    async def events(
        self,
        cursor: str | None = None,
        *,
        types: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[CloudEvent], str | None]:
        """One batch of the caller's events and the cursor to poll next."""
        batch = await self._call(ops.list_events(cursor, types, limit))
        return batch.events, batch.next_cursor

    async def create_subscription(
        self, url: str, types: Sequence[str], secret: str
    ) -> Subscription:
        """Have the node POST the caller's events to ``url``, signed with ``secret``."""
        return await self._call(ops.create_subscription(url, types, secret))

    def subscriptions(self) -> AsyncIterator[Subscription]:
        """The caller's webhook subscriptions."""
        return self._iterate(ops.list_subscriptions())

    async def delete_subscription(self, subscription_id: str) -> None:
        """Stop deliveries to a subscription."""
        await self._call(ops.delete_subscription(subscription_id))


class AsyncPublication:
    """The custodian's write API (``client.publication``) for ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create_vacancy(self, body: Mapping[str, Any]) -> Vacancy:
        """Publish a vacancy; the node assigns its id."""
        result: Vacancy = await self._client._call(ops.publish("vacancies", body))
        return result

    async def create_task_offer(self, body: Mapping[str, Any]) -> TaskOffer:
        """Publish a task offer."""
        result: TaskOffer = await self._client._call(ops.publish("task-offers", body))
        return result

    async def create_instrument(self, body: Mapping[str, Any]) -> Instrument:
        """Publish an instrument."""
        result: Instrument = await self._client._call(ops.publish("instruments", body))
        return result

    async def create_candidate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Register a candidate."""
        return await self._client._call(ops.create_candidate(body))

    async def create_candidate_batch(
        self, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]
    ) -> dict[str, Any]:
        """Register up to 1,000 candidates with consents, all or nothing."""
        return await self._client._call(ops.create_candidate_batch(items))

    async def create_consent(self, candidate_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Record a consent the candidate gave."""
        return await self._client._call(ops.create_consent(candidate_id, body))

    async def withdraw_consent(
        self, candidate_id: str, consent_id: str, *, evidence: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Withdraw a consent."""
        return await self._client._call(ops.withdraw_consent(candidate_id, consent_id, evidence))

    async def decide_introduction(
        self, introduction_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Record the candidate's answer to an introduction request."""
        return await self._client._call(ops.decide_introduction(introduction_id, body))

    def access_log(self, candidate_id: str) -> AsyncIterator[dict[str, Any]]:
        """Who read this candidate's profile, when and why."""
        return self._client._iterate(ops.access_log(candidate_id))
