"""FastAPI dependencies shared by the routes: app state, who is calling, validated input.

Declared as ``Annotated[..., Depends(...)]`` aliases so a route's signature says what it needs
(``_: Publisher, body: VacancyBody``) and FastAPI resolves them in that order: the caller is
authenticated before its input is read, so an anonymous client learns nothing from 400s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from openwerk.directory import Directory, DirectoryCache, DirectoryError
from openwerk_server.errors import InvalidInput, InvalidParam, NotAcceptable, ServiceUnavailable
from openwerk_server.log_writer import LogWriter
from openwerk_server.negotiation import choose, offered_media_types
from openwerk_server.pagination import CursorCodec, clamp_limit
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.pool import CachedView, PoolCache
from openwerk_server.processing_log import card_read_records, log_card_reads
from openwerk_server.rules import RULES_BY_SCHEMA, Moment, Rule
from openwerk_server.security import (
    Authenticator,
    InsufficientScope,
    InvalidToken,
    MissingToken,
    Principal,
)
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Key, Store
from openwerk_server.validation import check_parameters, parse_json_body, schema_problems

P = ParamSpec("P")
T = TypeVar("T")

__all__ = [
    "NEGOTIATION",
    "CandidateReader",
    "L0Reader",
    "MediaType",
    "Publisher",
    "RequestParams",
    "ScopeRequired",
    "SettingsDep",
    "StatisticsReader",
    "StoreDep",
    "consumer_for",
    "get_pool",
    "json_body",
    "moment",
    "request_params",
    "require_scope",
    "serve_cards",
    "store_read",
]


# ---------------------------------------------------------------------------- app state
# Dependencies that do no I/O are ``async def``: FastAPI runs sync dependencies in the thread
# pool, and a hop per trivial lookup costs more than the lookup. The routes themselves are
# sync, so their database work runs in the pool, off the event loop.
def get_settings(request: Request) -> NodeSettings:
    """The node's settings (set by ``create_app``)."""
    settings: NodeSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    """The node's store (set by ``create_app``)."""
    store: Store = request.app.state.store
    return store


def get_cursors(request: Request) -> CursorCodec:
    """The cursor codec keyed by the node's secret."""
    codec: CursorCodec = request.app.state.cursors
    return codec


async def _settings_dependency(request: Request) -> NodeSettings:
    return get_settings(request)


async def _store_dependency(request: Request) -> Store:
    return get_store(request)


SettingsDep = Annotated[NodeSettings, Depends(_settings_dependency)]
StoreDep = Annotated[Store, Depends(_store_dependency)]


def moment(request: Request) -> Moment:
    """ "Now" for rules on input, from the store's clock (tests move it)."""
    store = get_store(request)
    return Moment(now=store.now(), today=store.today())


# ---------------------------------------------------------------------------- callers
class ScopeRequired(InsufficientScope):
    """``InsufficientScope`` that names the missing scope (for the RFC 6750 challenge)."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"This operation needs an access token with the scope {scope}.")
        self.scope = scope


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'.")
    return token.strip()


def _authenticate(request: Request, token: str) -> Principal:
    authenticator: Authenticator | None = request.app.state.authenticator
    if authenticator is None:
        # No token verifier configured: protected operations stay closed, never open.
        raise InvalidToken("This node does not accept access tokens yet.")
    return authenticator.authenticate(token)


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits only callers whose access token carries ``scope``.

    Verifying an access token is local CPU work (a signature check), so it runs on the loop.
    """

    async def dependency(request: Request) -> Principal:
        token = _bearer(request)
        if token is None:
            raise MissingToken(f"This operation needs an access token with the scope {scope}.")
        principal = _authenticate(request, token)
        if not principal.has(scope):
            raise ScopeRequired(scope)
        return principal

    return dependency


async def l0_reader(request: Request) -> Principal | None:
    """L0 reads: public when the node serves open data, else ``opportunities:read``.

    A token sent to a public node is still verified: a bad token is an error, not ignored.
    """
    settings = get_settings(request)
    token = _bearer(request)
    if token is None:
        if settings.public_opportunities:
            return None
        raise MissingToken("This node serves L0 data only with the scope opportunities:read.")
    principal = _authenticate(request, token)
    if not settings.public_opportunities and not principal.has("opportunities:read"):
        raise ScopeRequired("opportunities:read")
    return principal


Publisher = Annotated[Principal, Depends(require_scope("publication:write"))]
L0Reader = Annotated[Principal | None, Depends(l0_reader)]


async def store_read(store: Store, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short, read-only store call: on the loop where ``store.inline_reads``, else in
    the thread pool. Writes, and reads that may take long (view builds), always use the pool.
    """
    if store.inline_reads:
        return call(*args, **kwargs)
    return await run_in_threadpool(call, *args, **kwargs)


# ---------------------------------------------------------------------------- consumers (L1, L2)
def get_pool(request: Request) -> PoolCache:
    """The per-consumer L2 view cache (set by ``create_app``)."""
    pool: PoolCache = request.app.state.pool
    return pool


async def serve_cards(
    request: Request,
    consumer: Consumer,
    pick: Callable[[CachedView], list[int]],
    operation: str,
    *,
    offload: bool = False,
) -> tuple[CachedView, list[int]]:
    """The view to answer from and the positions of the cards picked from it, logged.

    Fast path: the view already built for the consumer, with the processing-log write
    (grouped with other requests', ``log_writer``) confirming in its transaction that the
    pool has not changed since;
    a withdrawal acknowledged before that moment is therefore never served (OW-CONSENT-005).
    Otherwise, as before: ``PoolCache.view`` (reads the generation, rebuilds if needed) in a
    thread, then the log. ``offload`` runs ``pick`` in the thread pool (ranking a large
    pool), else it runs on the loop (a scan or a lookup).
    """
    pool = get_pool(request)

    async def picked_from(cached: CachedView) -> list[int]:
        return await run_in_threadpool(pick, cached) if offload else pick(cached)

    cached = pool.peek(consumer)
    if cached is not None:
        picked = await picked_from(cached)
        served = [cached.view.internal_ids[position] for position in picked]
        records = card_read_records(request, consumer, served, operation)
        writer: LogWriter = request.app.state.log_writer
        if await writer.write(records, generation=cached.generation):
            return cached, picked
    cached = await run_in_threadpool(pool.view, consumer)
    picked = await picked_from(cached)
    served = [cached.view.internal_ids[position] for position in picked]
    await run_in_threadpool(log_card_reads, request, consumer, served, operation)
    return cached, picked


def consumer_for(request: Request, principal: Principal) -> Consumer:
    """The consumer a view is built for, as the current directory describes the caller.

    With a directory, its entry decides (OW-CONSENT-002): the organisation type, and whether
    the member is a gateway that may only see ``any-member`` consents (OW-FED-014); a token
    of a member that has left the directory admits nothing. Without one (development, tests
    with a static authenticator) the token's own claims are used and nobody is a gateway.
    May refresh the directory (a file or network read): call it from a worker thread.
    """
    cache: DirectoryCache | None = getattr(request.app.state, "directory", None)
    if cache is None:
        return _consumer(request, principal, None)
    try:
        directory = cache.get()
    except DirectoryError as exc:
        raise ServiceUnavailable("The federation directory is unavailable.") from exc
    return _consumer(request, principal, directory)


def _consumer(request: Request, principal: Principal, directory: Directory | None) -> Consumer:
    if directory is None:
        consumer = Consumer(principal.client_id, principal.organisation_type, gateway=False)
    else:
        member = directory.member(principal.client_id)
        if member is None:
            raise InvalidToken("The token's client is no longer a member of the federation.")
        consumer = Consumer(member.id, member.organisation_type, gateway=member.has_role("gateway"))
    seen: dict[str, Consumer] | None = getattr(request.app.state, "seen_consumers", None)
    if seen is not None:
        seen[consumer.client_id] = consumer
    return consumer


def _consumer_dependency(scope: str) -> Callable[..., Awaitable[Consumer]]:
    checked = require_scope(scope)

    # On the loop while the directory held is current (no I/O); a refresh, which may read a
    # file or the network, goes to the thread pool.
    # A default, not Annotated: postponed annotations cannot name the closure's ``checked``.
    async def dependency(request: Request, principal: Principal = Depends(checked)) -> Consumer:
        cache: DirectoryCache | None = getattr(request.app.state, "directory", None)
        if cache is None:
            return _consumer(request, principal, None)
        directory = cache.fresh()
        if directory is not None:
            return _consumer(request, principal, directory)
        return await run_in_threadpool(consumer_for, request, principal)

    return dependency


CandidateReader = Annotated[Consumer, Depends(_consumer_dependency("candidates:read"))]
StatisticsReader = Annotated[Consumer, Depends(_consumer_dependency("statistics:read"))]


# ---------------------------------------------------------------------------- media types
async def negotiated_media_type(request: Request) -> str:
    """The success media type to answer with; 406 when ``Accept`` admits none (OW-ERR-005).

    Used as a router-level dependency, so every operation negotiates; ``getVacancy`` reads the
    (cached) result to choose between JSON and JSON-LD. Operations without a body (204) accept
    any ``Accept``.
    """
    operation_id = getattr(request.scope.get("route"), "operation_id", None)
    offers = offered_media_types(operation_id) if isinstance(operation_id, str) else ()
    if not offers:
        return ""
    chosen = choose(request.headers.get("accept"), offers)
    if chosen is None:
        raise NotAcceptable(f"This resource is available as {' or '.join(offers)}.")
    return chosen


MediaType = Annotated[str, Depends(negotiated_media_type)]
NEGOTIATION = [Depends(negotiated_media_type)]


# ---------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class RequestParams:
    """Validated query/path values of one operation, the page size and the cursor position."""

    values: dict[str, Any]
    limit: int
    after: Key | None

    def text(self, name: str) -> str | None:
        """A string parameter, or None when absent."""
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int | None:
        """An integer parameter, or None when absent."""
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def request_params(
    operation_id: str, *, listing: str | None = None
) -> Callable[[Request], Awaitable[RequestParams]]:
    """A dependency validating ``operation_id``'s parameters against the spec, all at once.

    With ``listing``, ``cursor`` is decoded as a position in that list and ``limit`` clamped.
    """

    async def dependency(request: Request) -> RequestParams:
        values, problems = check_parameters(operation_id, request.query_params, request.path_params)
        low, high = values.get("hoursMin"), values.get("hoursMax")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(InvalidParam("hoursMin", "must not exceed hoursMax", "range"))
        after: Key | None = None
        cursor = values.get("cursor")
        if listing is not None and isinstance(cursor, str):
            try:
                after = get_cursors(request).decode(listing, cursor)
            except InvalidInput as exc:
                problems.extend(exc.params)
        if problems:
            raise InvalidInput(problems)
        settings = get_settings(request)
        limit = clamp_limit(
            request_limit(values),
            default=settings.page_limit_default,
            maximum=settings.page_limit_max,
        )
        return RequestParams(values, limit, after)

    return dependency


def request_limit(values: dict[str, Any]) -> int | None:
    """The ``limit`` the client asked for, if any."""
    value = values.get("limit")
    return value if isinstance(value, int) else None


# ---------------------------------------------------------------------------- bodies
#: Bodies above this size are parsed and validated in the thread pool: a 1,000-candidate
#: batch takes seconds of JSON Schema work, which must not stall the event loop.
OFFLOAD_BYTES = 64 * 1024


def _checked(
    schema_name: str, rule: Rule, content_type: str | None, raw: bytes, now: Moment, required: bool
) -> Any:
    document = parse_json_body(content_type, raw)
    if document is None:
        if not required:
            return None
        raise InvalidInput([InvalidParam("body", "a JSON document is required", "required")])
    problems = schema_problems(schema_name, document)
    failed = {p.name for p in problems}
    problems += [p for p in rule(document, now, "body") if p.name not in failed]
    if problems:
        raise InvalidInput(problems)
    return document


def json_body(schema_name: str, *, required: bool = True) -> Callable[[Request], Awaitable[Any]]:
    """A dependency reading the JSON body and checking it against the spec's schema and the
    semantic rules for it, reporting every problem in one 400.
    """
    rule = RULES_BY_SCHEMA[schema_name]

    async def dependency(request: Request) -> Any:
        raw = await request.body()
        args = (schema_name, rule, request.headers.get("content-type"), raw, moment(request))
        if len(raw) > OFFLOAD_BYTES:
            return await run_in_threadpool(_checked, *args, required)
        return _checked(*args, required)

    return dependency
