"""The application factory: one configured node per call, no work at import.

``create_app(settings, store, authenticator)`` wires the routes of the conformance classes
this implementation offers, the error mapping and the protocol middleware. FastAPI's own
OpenAPI and docs are off: the node serves the normative document at ``/v1/openapi.json``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from openwerk_server.auth.router import build_token_router
from openwerk_server.auth.token_endpoint import TokenEndpoint
from openwerk_server.auth.wiring import build_node_auth
from openwerk_server.errors import ServiceUnavailable
from openwerk_server.feed import FeedRenderer
from openwerk_server.log_writer import LogWriter
from openwerk_server.middleware import (
    ApiVersionMiddleware,
    BodyLimitMiddleware,
    ErrorBoundaryMiddleware,
    TraceContextMiddleware,
)
from openwerk_server.pagination import CursorCodec
from openwerk_server.privacy.pool import PoolCache
from openwerk_server.problems import install_exception_handlers
from openwerk_server.routes import (
    candidates,
    core,
    introductions,
    matching,
    opportunities,
    publication,
    statistics,
)
from openwerk_server.routes import events as events_routes
from openwerk_server.security import Authenticator
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_server.webhooks import WebhookWorker
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import spec_version

__all__ = ["API_PREFIX", "IMPLEMENTED_CLASSES", "create_app"]

logger = logging.getLogger("openwerk_server")

API_PREFIX = "/v1"

#: The conformance classes this implementation offers, with the routers that implement them.
#: ``conformsTo`` is derived from this, so a node never claims a class it has no routes for.
IMPLEMENTED_CLASSES: tuple[tuple[ConformanceClass, APIRouter], ...] = (
    (ConformanceClass.CORE, core.router),
    (ConformanceClass.OPPORTUNITIES, opportunities.router),
    (ConformanceClass.CANDIDATES, candidates.router),
    (ConformanceClass.MATCHING, matching.router),
    (ConformanceClass.INTRODUCTIONS, introductions.router),
    (ConformanceClass.PUBLICATION, publication.router),
    (ConformanceClass.STATISTICS, statistics.router),
    (ConformanceClass.EVENTS, events_routes.router),
)

BATCH_PATH_SUFFIX = "/publication/candidate-batches"


def _secret(settings: NodeSettings) -> bytes:
    if settings.pseudonym_secret is not None:
        return settings.pseudonym_secret.get_secret_value().encode("utf-8")
    # Only reachable in development (settings refuse a missing secret in production).
    logger.warning(
        "no pseudonym_secret configured: using a random one for this process; cursors and "
        "pseudonyms change on every restart"
    )
    return secrets.token_bytes(32)


def _token_endpoint(request: Request) -> TokenEndpoint:
    endpoint = getattr(request.app.state, "token_endpoint", None)
    if not isinstance(endpoint, TokenEndpoint):
        raise ServiceUnavailable(
            "this node has no federation directory and keys configured, so it issues no tokens"
        )
    return endpoint


def create_app(
    settings: NodeSettings,
    store: Store | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """A node. Without ``store`` one is built from ``settings.database_url`` (and disposed on
    shutdown). Without ``authenticator`` the node builds its own from the keys and signed
    directory in ``settings``; with none of those configured (development) every protected
    operation answers 401 and the token endpoint 503.
    """
    owned = store is None
    node_store = store if store is not None else Store.from_url(settings.database_url)
    node_auth = build_node_auth(
        node_id=settings.node_id,
        base_url=settings.base_url,
        node_key_path=settings.node_key_path,
        directory_path=settings.directory_path,
        operator_key_path=settings.operator_key_path,
        access_token_ttl_seconds=settings.access_token_ttl_seconds,
        replay_guard=node_store,
    )
    if authenticator is None and node_auth is not None:
        authenticator = node_auth.authenticator
    migrate = settings.migrate_on_start
    if migrate is None:
        migrate = settings.is_sqlite

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await run_in_threadpool(node_store.migrate)
        # The webhook delivery worker (webhooks.py); every replica may run one.
        worker: WebhookWorker | None = getattr(_app.state, "webhooks", None)
        if worker is not None and settings.webhook_worker and settings.mode == "node":
            worker.start(settings.webhook_worker_interval_seconds)
        yield
        if worker is not None:
            await worker.stop()
        await run_in_threadpool(log_writer.close)
        if owned:
            node_store.dispose()

    app = FastAPI(
        title=f"Open Werk node {settings.node_id}",
        version=spec_version(),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = node_store
    app.state.authenticator = authenticator
    app.state.token_endpoint = node_auth.token_endpoint if node_auth else None
    app.state.directory = node_auth.directory if node_auth else None
    secret = _secret(settings)
    app.state.cursors = CursorCodec(secret)
    # Per-consumer L2 views, rebuilt when the pool generation or the Dutch date changes.
    app.state.pool = PoolCache(
        node_store,
        node_id=settings.node_id,
        secret=secret,
        k=settings.k,
        clock=node_store.local_now,
    )
    app.state.seen_consumers = {}
    # Processing-log writes of the async L2 reads, committed in groups (log_writer.py).
    log_writer = app.state.log_writer = LogWriter(node_store)
    # Events as CloudEvents per consumer (feed and webhooks), and their delivery worker.
    app.state.feed = FeedRenderer(source=settings.base_url, secret=secret)
    app.state.webhooks = WebhookWorker.from_settings(node_store, app.state.feed, settings)
    # createMatch fetches opportunities of other members over this (tests inject a mock).
    app.state.upstream_transport = None
    app.state.conformance_classes = [cls for cls, _router in IMPLEMENTED_CLASSES]

    install_exception_handlers(app)
    app.include_router(build_token_router(_token_endpoint), prefix=API_PREFIX)
    if settings.mode == "gateway":
        # A gateway holds no pool: core plus the federation class, answered by fan-out.
        from openwerk_server.gateway import install_gateway

        install_gateway(app, settings, prefix=API_PREFIX)
    else:
        for _cls, router in IMPLEMENTED_CLASSES:
            app.include_router(router, prefix=API_PREFIX)

    # Added innermost first: the API-Version header wraps everything, including 413 and 500.
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        batch_limit=settings.max_batch_body_bytes,
        batch_path_suffix=BATCH_PATH_SUFFIX,
    )
    app.add_middleware(ErrorBoundaryMiddleware)
    app.add_middleware(TraceContextMiddleware)
    app.add_middleware(ApiVersionMiddleware, version=spec_version())
    return app
