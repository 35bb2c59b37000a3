"""The fan-out engine under ``FederatedClient``: one deadline, one status per node.

``NodePool`` holds one ``AsyncClient`` per member, each with the caller's credentials for
that member's token endpoint. ``fan_out`` runs one coroutine per member in parallel (at
most ``max_concurrency`` at a time), reports each node's ``NodeStatus`` as soon as it is
known, and at the deadline cancels whatever still runs and reports it as ``timeout``. It
never raises for a node's failure: ``classify`` turns every exception into ``error`` or
``refused`` (why the two differ is in ``_federation``). ``read_node`` is the list
operations' work at one node.

**Timeouts.** Inside a fan-out the deadline alone bounds a node's calls: each node's task
runs with httpx's timeout switched off (``REQUEST_TIMEOUT``), and the deadline cancels it.
The clients' own ``timeout`` (10 s by default) is for single-node calls (``node()``,
``introduce``). Before, it bounded fan-out calls too, so under a deadline above it a slow
node was cut at 10 s instead of at the deadline. A shorter per-node timeout inside a
fan-out is deliberately not offered: it would only turn a slow node's answer into a
``timeout`` earlier, while the call still waits for the others — one number bounds the call.

**Cost per node answer.** A fan-out over 30 nodes reads 30 pages for one answer, so what
the caller spends per answer counts 30 times (``bench/fanout_caller.py``). Each node keeps
one client, its connection pool (keep-alive) and its cached token across calls; answers are
parsed and validated in one step (``model_validate_json``); a client parses the URL of a
relative path once and a call's JSON body is encoded once for all nodes; a match folds each
node's cards into the merge as they arrive (``MatchMerge``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

from openwerk._async_client import AsyncClient
from openwerk._base import normalise_base_url
from openwerk._errors import ApiError, AuthenticationError, OpenWerkError, TransportError
from openwerk._federation_merge import NodeBuffer, Position, Segment, item_id, resume_index
from openwerk._models import NodeStatus
from openwerk._operations import Call
from openwerk._pagination import LinkGuard, Page
from openwerk._transport import REQUEST_TIMEOUT
from openwerk.assertions import ClientCredentials, token_endpoint_for
from openwerk.directory import Member

__all__ = [
    "NodeDoneHook",
    "NodePool",
    "Outcome",
    "TransportFactory",
    "classify",
    "fan_out",
    "read_node",
]

T = TypeVar("T")
R = TypeVar("R")

#: Called with each node's status as soon as it is known.
NodeDoneHook = Callable[[NodeStatus], None]
#: Gives the httpx transport for a member (``None``: httpx's network transport).
TransportFactory = Callable[[Member], httpx.AsyncBaseTransport | None]

#: httpx's timeout inside a fan-out: none, the deadline cancels what runs too long.
_NO_TIMEOUT = httpx.Timeout(None)
#: After the deadline, how long cancelled node calls get to unwind before the call returns.
_CANCEL_GRACE = 0.02
_DETAIL_MAX = 200


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def classify(exc: Exception) -> tuple[str, str]:
    """The ``NodeStatus`` status and a short detail for what a node's call raised."""
    if isinstance(exc, AuthenticationError):
        cause = exc.__cause__
        if isinstance(cause, ApiError):  # the token endpoint answered an error status
            reason = exc.error or cause.code or cause.title or "error"
            status = "error" if cause.status >= 500 else "refused"
            return status, _short(f"no token: {cause.status} {reason}")
        return "error", _short(str(exc))  # a token answer without a usable token
    if isinstance(exc, ApiError):
        status = "refused" if exc.status in (401, 403) else "error"
        return status, _short(f"{exc.status} {exc.code or exc.title or 'error'}")
    if isinstance(exc, TransportError) and isinstance(exc.__cause__, httpx.TimeoutException):
        return "timeout", _short(str(exc))
    if isinstance(exc, OpenWerkError):  # transport, invalid response, pagination, conformance
        return "error", _short(str(exc))
    # A bug or an unforeseen answer at one node must not sink the whole federated call.
    return "error", _short(f"{type(exc).__name__}: {exc}")


class NodePool:
    """One ``AsyncClient`` per member, asking as the holder of ``credentials``.

    The token endpoint differs per node (``{baseUrl}/oauth/token``, the assertion's
    ``aud``), so each node's client gets the credentials with its own endpoint. A member
    whose ``baseUrl`` changes in a refreshed directory gets a new client. ``timeout`` is
    httpx's timeout of the clients' single-node calls; inside ``fan_out`` the deadline
    bounds them instead (see the module docstring).
    """

    def __init__(
        self,
        credentials: ClientCredentials | None,
        *,
        transport_factory: TransportFactory | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.credentials = credentials
        self._transport_factory = transport_factory
        self._timeout = timeout
        self._headers = dict(headers) if headers else None
        self._clients: dict[str, tuple[str, AsyncClient]] = {}  # id -> (its baseUrl, client)
        self._retired: list[AsyncClient] = []

    @property
    def client_id(self) -> str | None:
        """The member id the clients ask as, if any."""
        return self.credentials.client_id if self.credentials else None

    def node_ids(self) -> list[str]:
        """The members a client exists for."""
        return sorted(self._clients)

    def client(self, member: Member) -> AsyncClient:
        """The client for ``member`` (``ValueError`` when it has no usable ``baseUrl``)."""
        if member.base_url is None:
            raise ValueError(f"{member.id} has no baseUrl in the directory")
        known = self._clients.get(member.id)
        if known is not None and known[0] == member.base_url:
            return known[1]  # the common case: no URL parsing on every call of every node
        base_url = normalise_base_url(member.base_url)
        if known is not None:
            if known[1].base_url == base_url:
                self._clients[member.id] = (member.base_url, known[1])
                return known[1]
            self._retired.append(known[1])  # moved by the directory; closes with ours
        credentials = None
        if self.credentials is not None:
            endpoint = token_endpoint_for(base_url)
            credentials = dataclasses.replace(self.credentials, token_endpoint=endpoint)
        transport = self._transport_factory(member) if self._transport_factory else None
        client = AsyncClient(
            base_url,
            credentials=credentials,
            transport=transport,
            timeout=self._timeout,
            headers=self._headers,
        )
        client.ignore_conformance()  # gating is the fan-out's choice (only_declared)
        self._clients[member.id] = (member.base_url, client)
        return client

    async def aclose(self) -> None:
        """Close every client's connection pool."""
        clients = [*(client for _, client in self._clients.values()), *self._retired]
        self._clients.clear()
        self._retired.clear()
        await asyncio.gather(*(c.aclose() for c in clients))


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """One node's status and, when ``ok``, what it answered."""

    status: NodeStatus
    value: R | None = None


async def fan_out(
    members: Sequence[Member],
    work: Callable[[Member], Awaitable[tuple[R, int] | None]],
    *,
    started: float,
    deadline: float,
    max_concurrency: int | None = None,
    on_node_done: NodeDoneHook | None = None,
) -> list[Outcome[R]]:
    """Run ``work`` at every member until all are done or ``started + deadline`` (loop time).

    ``work`` answers ``(value, item count)``, or ``None`` to leave its node out unreported.
    Outcomes come back in ``members`` order.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    begun: set[str] = set()

    def status(member: Member, value: str, count: int = 0, detail: str | None = None) -> NodeStatus:
        elapsed = round((loop.time() - started) * 1000)
        return NodeStatus(
            node=member.id, status=value, item_count=count, duration_ms=elapsed, detail=detail
        )

    async def attempt(member: Member) -> Outcome[R] | None:
        begun.add(member.id)
        # The deadline bounds this node's calls, not httpx's per-request timeout (the
        # client's ``timeout``, 10 s by default, is for single-node calls): at the deadline
        # this task is cancelled, and before it no shorter timeout may cut the node.
        # This task's own context, so no other call on the same client is affected.
        REQUEST_TIMEOUT.set(_NO_TIMEOUT)
        try:
            answer = await work(member)
        except Exception as exc:  # every failure at one node becomes that node's status
            failure, detail = classify(exc)
            return Outcome(status(member, failure, 0, detail))
        if answer is None:
            return None
        value, count = answer
        return Outcome(status(member, "ok", count), value)

    async def one(member: Member) -> Outcome[R] | None:
        if gate is None:
            return await attempt(member)
        async with gate:
            return await attempt(member)

    tasks = {asyncio.create_task(one(m), name=f"openwerk-fan-out:{m.id}"): m for m in members}
    outcomes: dict[str, Outcome[R]] = {}
    pending = set(tasks)
    try:
        while pending:
            remaining = started + deadline - loop.time()
            if remaining <= 0:
                break
            done, pending = await asyncio.wait(
                pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for task in sorted(done, key=lambda t: tasks[t].id):
                outcome = task.result()
                if outcome is not None:
                    outcomes[tasks[task].id] = outcome
                    if on_node_done is not None:
                        on_node_done(outcome.status)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_CANCEL_GRACE)
    for task in sorted(pending, key=lambda t: tasks[t].id):
        member = tasks[task]
        if task.done() and not task.cancelled():  # finished just before the deadline
            late = task.result()
            if late is None:
                continue
            outcomes[member.id] = late
        else:
            why = "no answer" if member.id in begun else "not started"
            if member.id not in begun and max_concurrency:
                why += f" (max_concurrency={max_concurrency})"
            timeout = status(member, "timeout", 0, f"{why} within the {deadline:g} s deadline")
            outcomes[member.id] = late = Outcome(timeout)
        if on_node_done is not None:
            on_node_done(late.status)
    return [outcomes[m.id] for m in members if m.id in outcomes]


async def read_node(
    client: AsyncClient, base: Call[Page[T]], position: Position | None, limit: int
) -> tuple[NodeBuffer[T], int]:
    """At least ``limit`` items of one node's list (or all it has left), from ``position``.

    Follows the node's ``next`` links while fewer than ``limit`` items arrived, so the merge
    of all nodes can fill a page. A ``next`` that loops or leaves the node is an error.
    """
    call = base if position is None else base.follow(position.url)
    guard = LinkGuard(client.base_url)
    segments: list[Segment[T]] = []
    total = 0
    while True:
        page = await client._call(call)
        url = page.url or call.url(client.base_url)
        guard.fetched(url)
        skip = resume_index(page.items, position, item_id) if position else 0
        last = item_id(page.items[skip - 1]) if skip else None
        segments.append(Segment(url, skip, page.items[skip:], last))
        total += len(page.items) - skip
        position = None
        if page.next_url is None:
            return NodeBuffer(segments, None), total
        next_url = guard.check(page.next_url)
        if total >= limit:
            return NodeBuffer(segments, next_url), total
        call = base.follow(next_url)
