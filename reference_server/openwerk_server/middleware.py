"""Protocol-level behaviour every response shares, as pure ASGI middleware.

Pure ASGI rather than ``BaseHTTPMiddleware``: no per-request task and body buffering, and the
``API-Version`` header lands on every response, including the ones other middleware or the
router produce (404, 405, 413, 500) (OW-CORE-004).
"""

from __future__ import annotations

import logging
import re
import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openwerk_server.errors import PayloadTooLarge
from openwerk_server.problems import internal_error_response, problem_response
from openwerk_spec.problems import ProblemCode

__all__ = [
    "ApiVersionMiddleware",
    "BodyLimitMiddleware",
    "ErrorBoundaryMiddleware",
    "TraceContextMiddleware",
]

logger = logging.getLogger("openwerk_server")

# W3C Trace Context: version-traceid-parentid-flags, lower-case hex.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class ApiVersionMiddleware:
    """Adds ``API-Version: <spec version>`` to every HTTP response."""

    def __init__(self, app: ASGIApp, version: str) -> None:
        self.app = app
        self.version = version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["API-Version"] = self.version
            await send(message)

        await self.app(scope, receive, send_with_version)


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace id, parent span id) of a valid ``traceparent``, else None (then we start a trace)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id


class TraceContextMiddleware:
    """Puts ``trace_id``, ``span_id`` and ``parent_span_id`` on ``request.state``.

    The trace id continues the caller's trace when it sent a valid ``traceparent``, so a
    consumer can find its request in the node's logs and access log; otherwise a new one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parsed = parse_traceparent(Headers(scope=scope).get("traceparent"))
        trace_id, parent = parsed if parsed else (secrets.token_hex(16), None)
        state = scope.setdefault("state", {})
        state["trace_id"] = trace_id
        state["span_id"] = secrets.token_hex(8)
        state["parent_span_id"] = parent
        await self.app(scope, receive, send)


class ErrorBoundaryMiddleware:
    """Turns an exception that escaped every handler into a 500 problem, logged with its trace.

    Starlette's own ``ServerErrorMiddleware`` sits outside all user middleware, so its 500 would
    lack ``API-Version``; this boundary answers first.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            state = scope.get("state") or {}
            logger.exception("unexpected error (trace %s)", state.get("trace_id"))
            if started:
                raise
            await internal_error_response(scope)(scope, receive, send)


class _TooLarge(PayloadTooLarge):
    """Raised from ``receive`` when a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Refuses request bodies above the node's limit with 413, before reading them whole.

    ``Content-Length`` is checked up front; bodies without it (chunked) are counted as they
    stream, and the first byte over the limit stops the read.
    """

    def __init__(
        self, app: ASGIApp, *, limit: int, batch_limit: int, batch_path_suffix: str
    ) -> None:
        self.app = app
        self.limit = limit
        self.batch_limit = batch_limit
        self.batch_path_suffix = batch_path_suffix

    def _limit_for(self, scope: Scope) -> int:
        path = str(scope.get("path", "")).rstrip("/")
        return self.batch_limit if path.endswith(self.batch_path_suffix) else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(f"The request body exceeds {limit} bytes.")
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            scope,
            ProblemCode.PAYLOAD_TOO_LARGE,
            f"The request body exceeds this node's limit of {limit} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
