"""``SyncFederatedClient``: ``FederatedClient`` for code without an event loop.

A fan-out is concurrent by nature, so there is one implementation, the async one. This
wrapper owns a private event loop (``asyncio.Runner``) and runs each call to completion on
it; the loop lives as long as the client, so the nodes' connection pools and cached tokens
are kept between calls (``asyncio.run`` per call would throw them away each time). It cannot
be used from inside a running event loop — use ``FederatedClient`` there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar, Unpack

from joserfc.jwk import ECKey

from openwerk._fanout import NodeDoneHook, TransportFactory
from openwerk._federation import DEFAULT_DEADLINE, FederatedClient
from openwerk._federation_merge import FederatedMatchCard, FederatedMatchResult, FederatedPage
from openwerk._introductions import ContactPerson, Introduction, IntroductionRequest
from openwerk._matching import MatchFilters, MatchRequest, OpportunityCriteria, OpportunityReference
from openwerk._models import CandidateProfile, Instrument, Opportunity, TaskOffer, Vacancy
from openwerk._params import CandidateFilters, InstrumentFilters, OpportunityFilters
from openwerk.assertions import ClientCredentials
from openwerk.directory import Directory, DirectoryCache, Member

__all__ = ["SyncFederatedClient"]

T = TypeVar("T")


class SyncFederatedClient:
    """The blocking twin of ``FederatedClient``: same parameters, same answers.

    ``on_node_done`` is called in the calling thread while the call runs. Close the client
    (or use it as a context manager) to close the nodes' connections and its event loop.
    """

    def __init__(
        self,
        directory: Directory | DirectoryCache,
        *,
        client_id: str | None = None,
        private_key: ECKey | Mapping[str, Any] | None = None,
        credentials: ClientCredentials | None = None,
        deadline: float = DEFAULT_DEADLINE,
        transport_factory: TransportFactory | None = None,
        providers: Collection[str] | str | None = None,
        max_concurrency: int | None = None,
        on_node_done: NodeDoneHook | None = None,
        only_declared: bool = False,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        #: The async client doing the work (for its attributes; do not await it here).
        self.federated = FederatedClient(
            directory,
            client_id=client_id,
            private_key=private_key,
            credentials=credentials,
            deadline=deadline,
            transport_factory=transport_factory,
            providers=providers,
            max_concurrency=max_concurrency,
            on_node_done=on_node_done,
            only_declared=only_declared,
            timeout=timeout,
            headers=headers,
        )
        self._runner = asyncio.Runner()

    def __repr__(self) -> str:
        return f"Sync{self.federated!r}"

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        # The answer leaves the loop through ``box``, not as the task's result: in the main
        # thread ``Runner.run`` restores its SIGINT handler afterwards, and ``signal.signal``
        # formats the old handler (a partial naming the finished task) with ``repr`` — which
        # would render the whole answer, every card, on every call (~13 ms for 20 cards).
        box: list[T] = []

        async def keep() -> None:
            box.append(await coroutine)

        self._runner.run(keep())
        return box[0]

    # -------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the nodes' connections and the private event loop."""
        try:
            self._run(self.federated.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncFederatedClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------- operations

    def providers(self, providers: Collection[str] | str | None = None) -> list[Member]:
        """The members a fan-out asks (see ``FederatedClient.providers``)."""
        return self._run(self.federated.providers(providers))

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
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
    ) -> FederatedMatchResult:
        """The best ``limit`` cards of all providers (see ``FederatedClient.match``)."""
        return self._run(
            self.federated.match(
                request,
                opportunity=opportunity,
                limit=limit,
                filters=filters,
                providers=providers,
                on_node_done=on_node_done,
            )
        )

    def search_candidates(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[CandidateFilters],
    ) -> FederatedPage[CandidateProfile]:
        """One page of all providers' candidate cards (see ``FederatedClient``)."""
        return self._run(
            self.federated.search_candidates(
                cursor,
                limit_per_node=limit_per_node,
                providers=providers,
                on_node_done=on_node_done,
                **filters,
            )
        )

    def vacancies(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[OpportunityFilters],
    ) -> FederatedPage[Vacancy]:
        """One page of all providers' vacancies, newest first."""
        return self._run(
            self.federated.vacancies(
                cursor,
                limit_per_node=limit_per_node,
                providers=providers,
                on_node_done=on_node_done,
                **filters,
            )
        )

    def task_offers(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[OpportunityFilters],
    ) -> FederatedPage[TaskOffer]:
        """One page of all providers' task offers, newest first."""
        return self._run(
            self.federated.task_offers(
                cursor,
                limit_per_node=limit_per_node,
                providers=providers,
                on_node_done=on_node_done,
                **filters,
            )
        )

    def instruments(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[InstrumentFilters],
    ) -> FederatedPage[Instrument]:
        """One page of all providers' instruments, newest first."""
        return self._run(
            self.federated.instruments(
                cursor,
                limit_per_node=limit_per_node,
                providers=providers,
                on_node_done=on_node_done,
                **filters,
            )
        )

    def introduce(
        self,
        node_id: str | None = None,
        request: IntroductionRequest | Mapping[str, Any] | None = None,
        *,
        opportunity: OpportunityReference | Opportunity | Mapping[str, Any] | None = None,
        candidate: str | CandidateProfile | FederatedMatchCard | None = None,
        requester_role: str | None = None,
        contact_person: ContactPerson | Mapping[str, Any] | str | None = None,
        message: str | None = None,
    ) -> Introduction:
        """Ask the node a card came from for an introduction (see ``FederatedClient``)."""
        return self._run(
            self.federated.introduce(
                node_id,
                request,
                opportunity=opportunity,
                candidate=candidate,
                requester_role=requester_role,
                contact_person=contact_person,
                message=message,
            )
        )
