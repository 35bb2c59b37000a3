"""Gateway mode (federation class): core plus the read API answered by fan-out.

``create_app`` calls ``install_gateway`` instead of adding the node's own routers when
``settings.mode == "gateway"``. The gateway keeps the node's core routes, token endpoint,
middleware and error mapping; it has no pool, no publication API, no statistics and no
introductions (spec/docs/federation.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from openwerk_server.gateway.routes import router as federation_router
from openwerk_server.gateway.service import Gateway
from openwerk_server.routes import core
from openwerk_server.settings import NodeSettings
from openwerk_spec.classes import ConformanceClass

__all__ = ["GATEWAY_CLASSES", "Gateway", "install_gateway"]

#: The classes a gateway declares, with the routers that implement them.
GATEWAY_CLASSES: tuple[tuple[ConformanceClass, APIRouter], ...] = (
    (ConformanceClass.CORE, core.router),
    (ConformanceClass.FEDERATION, federation_router),
)


def install_gateway(app: FastAPI, settings: NodeSettings, *, prefix: str = "/v1") -> Gateway:
    """Make ``app`` (built by ``create_app``) a gateway: routers, classes, fan-out client.

    The fan-out client is closed when the app shuts down (wrapping the app's lifespan).
    """
    gateway = Gateway(settings, getattr(app.state, "directory", None), app.state.cursors)
    app.state.gateway = gateway
    app.state.conformance_classes = [cls for cls, _router in GATEWAY_CLASSES]
    for _cls, router in GATEWAY_CLASSES:
        app.include_router(router, prefix=prefix)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        # create_app's lifespan yields no state, so there is none to pass on.
        async with inner(application):
            try:
                yield
            finally:
                await gateway.aclose()

    app.router.lifespan_context = lifespan
    return gateway
