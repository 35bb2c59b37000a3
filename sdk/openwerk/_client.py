"""``Client``: one Open Werk node, over ``httpx.Client``.

The client is a thin executor of the calls described in ``_operations``: it adds the token,
sends, retries once on a 401 with a fresh token, and hands the answer to the shared parsing
in ``_base``. List methods return lazy iterators that follow ``links.next``: nothing is sent
until the first item is asked for, and no page is fetched that is not needed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
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
from openwerk._transport import build_request, default_headers, translate_errors
from openwerk.assertions import ClientCredentials
from openwerk_spec.classes import ConformanceClass

__all__ = ["Client", "Publication"]

T = TypeVar("T")


class Client(BaseClient):
    """A client for one Open Werk node.

    ``base_url`` is the node's API root (``https://node.example.nl/v1``). With
    ``credentials`` the client gets access tokens from the node's token endpoint and sends
    them on every call except the public core ones. ``transport`` replaces httpx's network
    transport (``httpx.MockTransport``, ``httpx.ASGITransport``...) — the test seam.
    ``strict=True`` refuses calls needing a conformance class the node does not declare.
    """

    def __init__(
        self,
        base_url: str,
        *,
        credentials: ClientCredentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
        strict: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, credentials=credentials, strict=strict)
        self._http = httpx.Client(
            transport=transport, timeout=timeout, headers=default_headers(headers)
        )
        self._token_lock = threading.Lock()
        #: Custodian operations (the publication class).
        self.publication = Publication(self)

    # -------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------- machinery

    def _token(self) -> str:
        tokens = self._tokens
        assert tokens is not None  # only called when credentials were given
        with self._token_lock:  # one token request at a time, however many threads call
            cached = tokens.current()
            if cached is not None:
                return cached
            form = tokens.request_form()
            with translate_errors(f"token request to {tokens.url}"):
                response = self._http.post(tokens.url, data=form)
            return tokens.accept(response)

    def _send(
        self, call: Call[Any], url: httpx.URL, token: str | None
    ) -> tuple[httpx.Response, str | None]:
        request, trace_id = build_request(
            self._http, call.method, url, params=call.params, content=call.body, token=token
        )
        with translate_errors(f"{call.operation} {request.url}"):
            return self._http.send(request), trace_id

    def _exchange(self, call: Call[T]) -> T:
        url = self._url(call)
        token = self._token() if self._wants_token(call) else None
        response, trace_id = self._send(call, url, token)
        if response.status_code == httpx.codes.UNAUTHORIZED and token is not None:
            assert self._tokens is not None
            self._tokens.invalidate(token)  # the node no longer takes it: one fresh try
            response, trace_id = self._send(call, url, self._token())
        return self._finish(call, response, trace_id)

    def _call(self, call: Call[T]) -> T:
        if call.needs is not None and self._gate.mode != "ignore":
            if self._gate.needs_declaration:
                self._read_declaration()
            self._gate.check(call.needs, call.operation)
        return self._exchange(call)

    def _read_declaration(self) -> Conformance | None:
        try:
            declaration = self._exchange(ops.conformance())
        except (ApiError, InvalidResponseError) as exc:
            self._gate.record_failure(exc)
            return None
        self._gate.record(declaration.classes)
        return declaration

    def _iterate(self, call: Call[Page[T]]) -> Iterator[T]:
        guard = LinkGuard(self.base_url)
        page = self._call(call)
        while True:
            guard.fetched(page.url or call.url(self.base_url))
            yield from page.items
            if page.next_url is None:
                return
            page = self._call(call.follow(guard.check(page.next_url)))

    # -------------------------------------------------------------- core

    def landing(self) -> LandingPage:
        """The node's landing page: who it is, its k, its classes, its token endpoint."""
        return self._call(ops.landing())

    def conformance(self) -> Conformance:
        """Read ``/conformance`` now (and use it for gating from here on)."""
        declaration = self._exchange(ops.conformance())
        self._gate.record(declaration.classes)
        return declaration

    def conforms_to(self, cls: ConformanceClass | str) -> bool:
        """Whether the node declares ``cls``; reads ``/conformance`` on first use."""
        if not self._gate.loaded:
            self._read_declaration()
        declared = self._gate.declared
        return declared is not None and ConformanceClass(cls) in declared

    def next_page(self, page: Page[T]) -> Page[T] | None:
        """The page after ``page``, or ``None`` when it was the last."""
        call = self._next_call(page)
        return None if call is None else self._call(call)

    # -------------------------------------------------------------- opportunities (L0)

    def vacancies(self, **filters: Unpack[OpportunityFilters]) -> Iterator[Vacancy]:
        """Every vacancy matching ``filters``, newest first, across all pages."""
        return self._iterate(ops.list_vacancies(filters))

    def vacancies_page(
        self, cursor: str | None = None, **filters: Unpack[OpportunityFilters]
    ) -> Page[Vacancy]:
        """One page of vacancies (``limit`` sets its size); see ``next_page``."""
        return self._call(ops.list_vacancies(filters, cursor))

    def vacancy(self, vacancy_id: str) -> Vacancy:
        """One vacancy, open or closed."""
        return self._call(ops.get_vacancy(vacancy_id))

    def task_offers(self, **filters: Unpack[OpportunityFilters]) -> Iterator[TaskOffer]:
        """Every task offer matching ``filters``, newest first, across all pages."""
        return self._iterate(ops.list_task_offers(filters))

    def task_offers_page(
        self, cursor: str | None = None, **filters: Unpack[OpportunityFilters]
    ) -> Page[TaskOffer]:
        """One page of task offers."""
        return self._call(ops.list_task_offers(filters, cursor))

    def task_offer(self, task_offer_id: str) -> TaskOffer:
        """One task offer, open or closed."""
        return self._call(ops.get_task_offer(task_offer_id))

    def instruments(self, **filters: Unpack[InstrumentFilters]) -> Iterator[Instrument]:
        """The publisher's instruments and their conditions, across all pages."""
        return self._iterate(ops.list_instruments(filters))

    def instrument(self, instrument_id: str) -> Instrument:
        """One instrument of this publisher."""
        return self._call(ops.get_instrument(instrument_id))

    # -------------------------------------------------------------- candidates (L2), matching

    def search_candidates(self, **filters: Unpack[CandidateFilters]) -> Iterator[CandidateProfile]:
        """Every candidate card this node publishes to the caller that matches ``filters``."""
        return self._iterate(ops.search_candidates(filters))

    def search_candidates_page(
        self, cursor: str | None = None, **filters: Unpack[CandidateFilters]
    ) -> Page[CandidateProfile]:
        """One page of candidate cards."""
        return self._call(ops.search_candidates(filters, cursor))

    def candidate(self, pseudonym: str) -> CandidateProfile:
        """One card under the caller's pseudonym (``NotFound`` once consent is withdrawn)."""
        return self._call(ops.get_candidate(pseudonym))

    def match(
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
        """Rank the node's candidates against an opportunity with score-v1.

        Pass a whole ``MatchRequest`` (or dict), or its parts: ``opportunity`` is a
        ``Vacancy``/``TaskOffer`` read from any node, an ``OpportunityReference``, or inline
        ``OpportunityCriteria``.
        """
        return self._call(ops.create_match(request, opportunity, limit, filters))

    # -------------------------------------------------------------- introductions (L3)

    def introduce(
        self,
        request: IntroductionRequest | Mapping[str, Any] | None = None,
        *,
        opportunity: OpportunityReference | Opportunity | Mapping[str, Any] | None = None,
        candidate: str | CandidateProfile | MatchCard | None = None,
        requester_role: str | None = None,
        contact_person: ContactPerson | Mapping[str, Any] | str | None = None,
        message: str | None = None,
    ) -> Introduction:
        """Ask to meet the candidate behind a pseudonym; the introduction starts ``pending``.

        Pass an ``IntroductionRequest`` (or dict), or its parts; ``candidate`` may be the
        ``CandidateProfile`` or ``MatchCard`` it came on, ``contact_person`` just a name.
        """
        parts = {
            "opportunity": opportunity,
            "candidate": candidate,
            "requester_role": requester_role,
            "contact_person": contact_person,
            "message": message,
        }
        return self._call(ops.create_introduction(request, parts))

    def introduction(self, introduction_id: str) -> Introduction:
        """An introduction's state; ``identity`` is set once the candidate accepted."""
        return self._call(ops.get_introduction(introduction_id))

    def introductions(
        self, status: str | None = None, *, limit: int | None = None
    ) -> Iterator[Introduction]:
        """The caller's introductions, newest first, optionally only those in ``status``."""
        return self._iterate(ops.list_introductions(status, limit))

    def cancel_introduction(self, introduction_id: str) -> Introduction:
        """Withdraw a pending request (``Conflict`` once it was decided)."""
        return self._call(ops.cancel_introduction(introduction_id))

    # -------------------------------------------------------------- statistics (L1)

    def candidate_statistics(
        self,
        group_by: Sequence[str] | None = None,
        *,
        arbeidsmarktregio: str | None = None,
        gemeente: str | None = None,
    ) -> Statistics:
        """Anonymous candidate counts grouped by up to three dimensions."""
        return self._call(ops.statistics("candidates", group_by, arbeidsmarktregio, gemeente))

    def placement_statistics(
        self, group_by: Sequence[str] | None = None, *, arbeidsmarktregio: str | None = None
    ) -> Statistics:
        """Anonymous counts of placement outcomes."""
        return self._call(ops.statistics("placements", group_by, arbeidsmarktregio))

    # -------------------------------------------------------------- events

    def events(
        self,
        cursor: str | None = None,
        *,
        types: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[CloudEvent], str | None]:
        """One batch of the caller's events (oldest first) and the cursor to poll next.

        Keep the returned cursor and pass it back later to get newer events; it is opaque
        (in fact the node's next link). ``types`` applies to the first request only: a
        cursor carries its query.
        """
        batch = self._call(ops.list_events(cursor, types, limit))
        return batch.events, batch.next_cursor

    def create_subscription(self, url: str, types: Sequence[str], secret: str) -> Subscription:
        """Have the node POST the caller's events to ``url``, signed with ``secret``."""
        return self._call(ops.create_subscription(url, types, secret))

    def subscriptions(self) -> Iterator[Subscription]:
        """The caller's webhook subscriptions."""
        return self._iterate(ops.list_subscriptions())

    def delete_subscription(self, subscription_id: str) -> None:
        """Stop deliveries to a subscription."""
        self._call(ops.delete_subscription(subscription_id))


class Publication:
    """The custodian's write API (``client.publication``); needs ``publication:write``.

    Bodies are the spec's JSON (``VacancyInput``, ``CandidateRecordInput``, ...); answers about
    identified candidates stay plain dicts, so the SDK never models personal data it does not
    need to understand.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def create_vacancy(self, body: Mapping[str, Any]) -> Vacancy:
        """Publish a vacancy; the node assigns its id."""
        result: Vacancy = self._client._call(ops.publish("vacancies", body))
        return result

    def create_task_offer(self, body: Mapping[str, Any]) -> TaskOffer:
        """Publish a task offer."""
        result: TaskOffer = self._client._call(ops.publish("task-offers", body))
        return result

    def create_instrument(self, body: Mapping[str, Any]) -> Instrument:
        """Publish an instrument."""
        result: Instrument = self._client._call(ops.publish("instruments", body))
        return result

    def create_candidate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Register a candidate (nothing is published before a consent is recorded)."""
        return self._client._call(ops.create_candidate(body))

    def create_candidate_batch(
        self, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]
    ) -> dict[str, Any]:
        """Register up to 1,000 candidates with consents, all or nothing."""
        return self._client._call(ops.create_candidate_batch(items))

    def create_consent(self, candidate_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Record a consent the candidate gave."""
        return self._client._call(ops.create_consent(candidate_id, body))

    def withdraw_consent(
        self, candidate_id: str, consent_id: str, *, evidence: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Withdraw a consent; it takes effect before the node answers."""
        return self._client._call(ops.withdraw_consent(candidate_id, consent_id, evidence))

    def decide_introduction(self, introduction_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Record the candidate's answer to an introduction request."""
        return self._client._call(ops.decide_introduction(introduction_id, body))

    def access_log(self, candidate_id: str) -> Iterator[dict[str, Any]]:
        """Who read this candidate's profile, when and why (right of access)."""
        return self._client._iterate(ops.access_log(candidate_id))
