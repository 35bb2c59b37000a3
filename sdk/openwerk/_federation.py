"""``FederatedClient``: ask every provider of a federation at once, under one deadline.

There is no central database: a platform that wants "all candidates for this vacancy in
the region" asks every provider in the signed directory and merges what comes back::

    directory = DirectoryCache("https://werkbedrijf.example.nl/directory.jws", operator_key)
    async with FederatedClient(directory, client_id="platform-x", private_key=key) as fed:
        result = await fed.match(opportunity=vacancy, limit=20)
        for card in result.items:
            print(card.node, card.pseudonym, card.score)
        if result.partial:
            print("missing:", [(n.node, n.status) for n in result.missing])

The client fans out **under the caller's own identity**: it signs a ``private_key_jwt``
assertion per node (``aud`` = that node's ``{baseUrl}/oauth/token``), so each node applies
the caller's consents, scopes and k-anonymity view, and serves the caller's pseudonyms —
which is why ``introduce`` goes to the one node a card came from (pseudonyms are per node).

**One deadline, not per-node timeouts.** What a caller needs is a bound on the whole
answer: a page must render, a CLI must return. Per-node timeouts do not give that — with
token requests, paging and a concurrency limit, a node's calls run in sequence, and their
timeouts add up — and they make "how long may this take" a sum nobody configured. One
deadline for the whole fan-out (default 5 s, as the spec recommends for gateways,
OW-FED-004) gives exactly one number: at the deadline every node still running is
cancelled and reported as ``timeout``, and the call returns what arrived. A slow node
cannot hold the others hostage, and a node that is merely slower than the others still gets
the full deadline — also when the deadline is longer than the ``timeout`` of single-node
calls (10 s by default): inside a fan-out httpx's per-request timeout is off and the
deadline alone cuts a node. Resolving the directory counts against the same deadline.

**``refused`` is kept apart from ``error``.** ``error`` (a 5xx, a network failure, a
malformed answer, a 400) means the node is broken or unreachable: retrying later may help,
and it is the node operator's problem. ``refused`` (401/403, or no token from the node's
token endpoint) means the node works and said no *to this caller*: a missing consent scope,
a role the directory does not give, keys not yet propagated, or a removal from the
directory. Retrying will not help; the caller's own configuration or membership needs
attention. Folding both into one status would send operators chasing healthy nodes and hide
access problems behind "the network is flaky".

Per node, the answer carries a ``NodeStatus`` exactly as the spec's: ``ok``, ``timeout``,
``error`` or ``refused``, with ``itemCount``, ``durationMs`` (since the call began) and a
short ``detail``; ``partial`` is true when any node is not ``ok``. ``on_node_done`` is
called with each status as it becomes known (for progress bars), in the calling thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar, Unpack

from joserfc.jwk import ECKey

from openwerk import _operations as ops
from openwerk._async_client import AsyncClient
from openwerk._errors import InvalidResponseError
from openwerk._fanout import NodeDoneHook, NodePool, Outcome, TransportFactory, fan_out, read_node
from openwerk._federation_merge import (
    FederatedMatchCard,
    FederatedMatchResult,
    FederatedPage,
    MatchMerge,
    NodeBuffer,
    WalkState,
    candidate_key,
    decode_cursor,
    finish_walk,
    newest_first_key,
)
from openwerk._introductions import ContactPerson, Introduction, IntroductionRequest
from openwerk._matching import (
    MatchFilters,
    MatchRequest,
    OpportunityCriteria,
    OpportunityReference,
)
from openwerk._models import CandidateProfile, Instrument, Opportunity, TaskOffer, Vacancy
from openwerk._operations import Call
from openwerk._pagination import Page
from openwerk._params import CandidateFilters, InstrumentFilters, OpportunityFilters
from openwerk.assertions import ClientCredentials
from openwerk.directory import Directory, DirectoryCache, Member
from openwerk.keys import import_private_jwk
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.score import SCORE_VERSION

__all__ = ["DEFAULT_DEADLINE", "FederatedClient", "TransportFactory"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_DEADLINE = 5.0
_DEFAULT_LIMIT = 20  # the spec's default page size and match limit


@dataclass(frozen=True)
class _ListOp(Generic[T]):
    """A list operation a federation walks: how to call it, how to merge it."""

    operation: str
    make: Callable[[Any], Call[Page[T]]]  # filters -> the call of its first page
    key: Callable[[T, str], Any]  # merge key of an item from a node
    needs: ConformanceClass


_OPP = ConformanceClass.OPPORTUNITIES
_CANDIDATES = _ListOp(
    "searchCandidates", ops.search_candidates, candidate_key, ConformanceClass.CANDIDATES
)
_VACANCIES = _ListOp("listVacancies", ops.list_vacancies, newest_first_key, _OPP)
_TASK_OFFERS = _ListOp("listTaskOffers", ops.list_task_offers, newest_first_key, _OPP)
_INSTRUMENTS = _ListOp("listInstruments", ops.list_instruments, newest_first_key, _OPP)


def _as_set(values: Collection[str] | str | None) -> frozenset[str] | None:
    if values is None:
        return None
    return frozenset([values] if isinstance(values, str) else values)


def _check_reference(body: Mapping[str, Any]) -> None:
    ref = body.get("opportunity", {}).get("ref")
    if isinstance(ref, Mapping) and not ref.get("node"):
        raise ValueError(
            "a federated match needs the node that published the opportunity: pass the "
            "Vacancy/TaskOffer read from a node, or OpportunityReference(..., node=...). "
            "Without it every node would look for the id in its own opportunities."
        )


class FederatedClient:
    """Fan-out over the providers of a verified federation directory.

    ``directory`` is a verified ``Directory`` or a ``DirectoryCache`` (re-read when due).
    The caller's identity is ``client_id`` and ``private_key`` (or ``credentials``, whose
    token endpoint is replaced per node); without either, only open L0 data can be read.
    ``deadline`` bounds every federated call as a whole (seconds). ``transport_factory``
    gives the httpx transport per member — the test seam; by default httpx's network
    transport talks to each member's ``baseUrl``. ``providers`` limits the fan-out to
    member ids and/or arbeidsmarktregio codes. ``max_concurrency`` caps parallel nodes.
    ``only_declared`` reads each node's ``/conformance`` (once) and leaves out, unreported,
    nodes that do not declare the operation's class, as a gateway does. ``timeout`` is the
    httpx timeout of single-node calls (``introduce``, ``node()``) only: the calls of a
    fan-out are bounded by ``deadline`` alone, however it compares to ``timeout``.
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
        if not deadline > 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if credentials is not None:
            if client_id is not None or private_key is not None:
                raise TypeError("pass credentials, or client_id and private_key, not both")
        elif (client_id is None) != (private_key is None):
            raise TypeError("client_id and private_key go together (or pass neither)")
        elif client_id is not None and private_key is not None:
            key = private_key if isinstance(private_key, ECKey) else import_private_jwk(private_key)
            credentials = ClientCredentials(client_id, key, "")
        self._source = directory
        self.deadline = float(deadline)
        self._providers = _as_set(providers)
        self.max_concurrency = max_concurrency
        self.on_node_done = on_node_done
        self.only_declared = only_declared
        self._pool = NodePool(
            credentials, transport_factory=transport_factory, timeout=timeout, headers=headers
        )

    @property
    def client_id(self) -> str | None:
        """The member id this client asks as (``None``: anonymous, open data only)."""
        return self._pool.client_id

    def __repr__(self) -> str:
        return (
            f"FederatedClient(client_id={self.client_id!r}, deadline={self.deadline:g}, "
            f"nodes={self._pool.node_ids()!r})"
        )

    # -------------------------------------------------------------- lifecycle

    async def aclose(self) -> None:
        """Close every node's connection pool."""
        await self._pool.aclose()

    async def __aenter__(self) -> FederatedClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -------------------------------------------------------------- directory and nodes

    async def directory(self) -> Directory:
        """The verified directory in use (a due ``DirectoryCache`` refresh runs in a thread)."""
        if isinstance(self._source, Directory):
            return self._source
        return await asyncio.to_thread(self._source.get)

    async def providers(self, providers: Collection[str] | str | None = None) -> list[Member]:
        """The members a fan-out asks: providers with a ``baseUrl``, filtered, by id."""
        return self._select(await self.directory(), providers)

    def _select(
        self, directory: Directory, providers: Collection[str] | str | None
    ) -> list[Member]:
        wanted = self._providers if providers is None else _as_set(providers)
        members = directory.providers()
        if wanted is not None:
            members = tuple(m for m in members if m.id in wanted or wanted & set(m.regions or ()))
            if not members:
                raise ValueError(
                    f"no provider in the directory matches providers={sorted(wanted)!r} "
                    "(member ids or arbeidsmarktregio codes)"
                )
        return sorted(members, key=lambda m: m.id)

    async def node(self, node_id: str) -> AsyncClient:
        """The ``AsyncClient`` for one provider, under this client's identity.

        For single-node operations (``candidate``, ``introduction`` ...); it is closed with
        this client.
        """
        member = (await self.directory()).member(node_id)
        if member is None or not member.has_role("provider") or not member.base_url:
            raise ValueError(f"{node_id!r} is not a provider with a baseUrl in the directory")
        return self._pool.client(member)

    # -------------------------------------------------------------- fan-out

    async def _fan_out(
        self,
        members: list[Member],
        work: Callable[[AsyncClient, Member], Awaitable[tuple[R, int]]],
        *,
        needs: ConformanceClass,
        started: float,
        on_node_done: NodeDoneHook | None,
    ) -> list[Outcome[R]]:
        """``work`` at every member under this client's deadline (see ``_fanout.fan_out``)."""

        async def at(member: Member) -> tuple[R, int] | None:
            client = self._pool.client(member)
            if self.only_declared and not await client.conforms_to(needs):
                if client.declared_classes is not None:
                    return None  # the node does not offer this: not asked, not reported
                raise InvalidResponseError(f"{member.id}: /conformance could not be read")
            return await work(client, member)

        return await fan_out(
            members,
            at,
            started=started,
            deadline=self.deadline,
            max_concurrency=self.max_concurrency,
            on_node_done=on_node_done or self.on_node_done,
        )

    # -------------------------------------------------------------- matching

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
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
    ) -> FederatedMatchResult:
        """The best ``limit`` cards of all providers: score desc, node id, pseudonym.

        Each node is asked for ``limit`` cards (default 20), so the merge is exact. A
        reference to an opportunity must name its ``node`` (a ``Vacancy`` read from a node
        does). A node that scored with another version than score-v1 is an ``error``.
        """
        started = asyncio.get_running_loop().time()
        call = ops.create_match(request, opportunity, limit, filters)
        _check_reference(call.json)
        cut = call.json.get("limit") or _DEFAULT_LIMIT
        members = self._select(await self.directory(), providers)

        merge = MatchMerge(cut)

        async def work(client: AsyncClient, member: Member) -> tuple[OpportunityCriteria, int]:
            result = await client._call(call)
            if result.score_version != SCORE_VERSION:
                raise InvalidResponseError(
                    f"{member.id} ranked with {result.score_version!r}; only {SCORE_VERSION} "
                    "scores can be merged"
                )
            # Folded in at once, with no await before this node's outcome is final: a node
            # whose cards are in the merge is always reported ``ok``, and the rest of its
            # page is dropped here rather than held until the last node answered.
            merge.add(member.id, result.items)
            return result.opportunity, len(result.items)

        outcomes = await self._fan_out(
            members,
            work,
            needs=ConformanceClass.MATCHING,
            started=started,
            on_node_done=on_node_done,
        )
        criteria = [o.value for o in outcomes if o.value is not None]
        nodes = [o.status for o in outcomes]
        return FederatedMatchResult(
            items=merge.cards(),
            partial=any(n.status != "ok" for n in nodes),
            nodes=nodes,
            opportunity=criteria[0] if criteria else None,
        )

    # -------------------------------------------------------------- lists

    async def search_candidates(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[CandidateFilters],
    ) -> FederatedPage[CandidateProfile]:
        """One page of candidate cards of all providers, by pseudonym then node id.

        ``limit`` (a filter, default 20) is the size of the federated page;
        ``limit_per_node`` the page size asked of each node (default: ``limit``). For the
        next page pass ``cursor=page.next_cursor`` alone: it carries the query.
        """
        return await self._walk(
            _CANDIDATES, dict(filters), cursor, limit_per_node, providers, on_node_done
        )

    async def vacancies(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[OpportunityFilters],
    ) -> FederatedPage[Vacancy]:
        """One page of vacancies of all providers, newest first (see ``search_candidates``)."""
        return await self._walk(
            _VACANCIES, dict(filters), cursor, limit_per_node, providers, on_node_done
        )

    async def task_offers(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[OpportunityFilters],
    ) -> FederatedPage[TaskOffer]:
        """One page of task offers of all providers, newest first."""
        return await self._walk(
            _TASK_OFFERS, dict(filters), cursor, limit_per_node, providers, on_node_done
        )

    async def instruments(
        self,
        cursor: str | None = None,
        *,
        limit_per_node: int | None = None,
        providers: Collection[str] | str | None = None,
        on_node_done: NodeDoneHook | None = None,
        **filters: Unpack[InstrumentFilters],
    ) -> FederatedPage[Instrument]:
        """One page of every provider's instruments, newest first."""
        return await self._walk(
            _INSTRUMENTS, dict(filters), cursor, limit_per_node, providers, on_node_done
        )

    async def _walk(
        self,
        op: _ListOp[T],
        filters: dict[str, Any],
        cursor: str | None,
        limit_per_node: int | None,
        providers: Collection[str] | str | None,
        on_node_done: NodeDoneHook | None,
    ) -> FederatedPage[T]:
        started = asyncio.get_running_loop().time()
        if cursor is not None:
            if filters or limit_per_node is not None or providers is not None:
                raise TypeError(
                    "with a cursor the query comes from the cursor: pass cursor alone "
                    "(filters, limit, limit_per_node and providers are fixed for a walk)"
                )
            state = decode_cursor(cursor, op.operation)
            base = op.make({})
        else:
            limit = filters.get("limit") or _DEFAULT_LIMIT
            per_node = limit_per_node or limit
            if limit < 1 or per_node < 1:
                raise ValueError("limit and limit_per_node must be at least 1")
            state = WalkState(op.operation, limit)
            base = op.make({**filters, "limit": per_node})  # checks the filter names, too
        directory = await self.directory()
        if cursor is None:
            members = self._select(directory, providers)
        else:
            by_id = {m.id: m for m in directory.providers()}
            members = [by_id[n] for n in sorted(state.positions) if n in by_id]

        async def work(client: AsyncClient, member: Member) -> tuple[NodeBuffer[T], int]:
            return await read_node(client, base, state.positions.get(member.id), state.limit)

        outcomes = await self._fan_out(
            members, work, needs=op.needs, started=started, on_node_done=on_node_done
        )
        answered = {o.status.node: o.value for o in outcomes if o.value is not None}
        return finish_walk(state, answered, [o.status for o in outcomes], op.key)

    # -------------------------------------------------------------- introductions

    async def introduce(
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
        """Ask the node a card came from to introduce the candidate behind its pseudonym.

        Pseudonyms are per node and per consumer, so the request goes to exactly one node:
        ``node_id``, or the node of ``candidate`` when it is a card. This is one call, not a
        fan-out: errors are raised as ``AsyncClient.introduce`` raises them.
        """
        origin = None
        if isinstance(candidate, FederatedMatchCard | CandidateProfile):
            origin = candidate.node
        if node_id is None:
            if origin is None:
                raise TypeError("introduce() needs node_id, or a candidate card that names it")
            node_id = origin
        elif origin is not None and origin != node_id:
            raise ValueError(
                f"the candidate's card came from {origin!r}, not {node_id!r}: its pseudonym "
                "means nothing at another node"
            )
        client = await self.node(node_id)
        return await client.introduce(
            request,
            opportunity=opportunity,
            candidate=candidate,
            requester_role=requester_role,
            contact_person=contact_person,
            message=message,
        )
