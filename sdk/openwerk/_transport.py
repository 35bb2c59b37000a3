"""The HTTP edge shared by ``Client`` and ``AsyncClient``: headers, tracing, error translation.

The transport itself is httpx's, and it is the SDK's test seam: pass
``transport=httpx.MockTransport(handler)`` (or ``httpx.ASGITransport(app)`` for an in-process
reference node) and no socket is opened. Everything here is free of I/O so both clients use
the same code for building requests and reading answers.

Every request carries a fresh W3C ``traceparent``: the node writes its trace id into the
processing log of every candidate the call touches (OW-LOG-003), and the SDK puts the same
id on any ``ApiError``, so one id links an application's log line to the custodian's record.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import metadata
from typing import Any

import httpx
from pydantic import ValidationError

from openwerk._errors import (
    InvalidResponseError,
    OpenWerkWarning,
    TransportError,
    error_from_response,
    warn,
)
from openwerk_spec.classes import CLASS_URI_PREFIX

__all__ = [
    "REQUEST_TIMEOUT",
    "SPEC_MAJOR",
    "VersionWatch",
    "build_request",
    "check_response",
    "default_headers",
    "is_not_json",
    "json_value",
    "new_traceparent",
    "not_json_error",
    "request_timeout",
    "sdk_version",
    "translate_errors",
]

#: The spec major version this SDK speaks, taken from the conformance class URIs
#: (``https://w3id.org/openwerk/v1/conf/``) so it cannot drift from openwerk_spec.
SPEC_MAJOR = CLASS_URI_PREFIX.rstrip("/").split("/")[-2].removeprefix("v")


def sdk_version() -> str:
    """The installed version of the ``openwerk`` distribution (``0+unknown`` from a bare tree)."""
    try:
        return metadata.version("openwerk")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers sent on every request; the caller's ``extra`` wins over the defaults."""
    headers = {
        "Accept": "application/json, application/problem+json",
        "User-Agent": f"openwerk-python/{sdk_version()} httpx/{httpx.__version__}",
    }
    headers.update(extra or {})
    return headers


def new_traceparent() -> tuple[str, str]:
    """A fresh W3C ``traceparent`` header value and its trace id."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-00", trace_id


#: httpx's timeout for the requests made in the current context, over the client's own.
#: ``fan_out`` sets it to none in each node's task: the fan-out's deadline bounds those calls
#: (it cancels them), so a client's per-request timeout must not cut a node before it.
#: A context variable because each asyncio task has its own copy: the setting covers exactly
#: the calls one node's task makes (token, ``/conformance``, pages, the retry after a 401) and
#: never a call the application makes at the same time on the same client.
REQUEST_TIMEOUT: ContextVar[httpx.Timeout | None] = ContextVar(
    "openwerk_request_timeout", default=None
)


def request_timeout(http: httpx.Client | httpx.AsyncClient) -> httpx.Timeout:
    """The timeout for a request ``http`` sends now (``REQUEST_TIMEOUT``, else its own)."""
    override = REQUEST_TIMEOUT.get()
    return http.timeout if override is None else override


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    token: str | None = None,
) -> tuple[httpx.Request, str | None]:
    """A request with tracing and, when given, the bearer token; also its trace id.

    ``content`` is a JSON body already encoded (``Call.body``: encoded once, however many
    nodes it goes to). A ``traceparent`` the caller set in the client's headers is kept
    (they are propagating their own trace); then the trace id is theirs and the SDK does
    not claim to know it.
    """
    headers: dict[str, str] = {}
    trace_id: str | None = None
    if "traceparent" not in http.headers:
        headers["traceparent"], trace_id = new_traceparent()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if content is not None:
        headers["Content-Type"] = "application/json"
    request = http.build_request(
        method,
        url,
        params=dict(params) if params else None,
        content=content,
        headers=headers,
        timeout=request_timeout(http),
    )
    return request, trace_id


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn httpx's request errors into ``TransportError`` (chained), naming ``what`` failed."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransportError(f"{what}: timed out ({exc})", request=_request_of(exc)) from exc
    except httpx.RequestError as exc:
        raise TransportError(
            f"{what}: {exc or type(exc).__name__}", request=_request_of(exc)
        ) from exc


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when the error was created without a request
        return None


def check_response(response: httpx.Response, trace_id: str | None) -> None:
    """Raise the ``ApiError`` subclass for an error status; 1xx/3xx count as errors too."""
    if not response.is_success:
        raise error_from_response(response, trace_id=trace_id)


def json_value(content: bytes) -> Any:
    """The JSON value of a body (``None`` when empty); ``json.JSONDecodeError`` if not JSON."""
    return json.loads(content) if content else None


def is_not_json(exc: ValueError) -> bool:
    """Whether a parser's error says the body is no JSON at all (not JSON of the wrong shape).

    Answers are read either by ``json_value`` (``json.JSONDecodeError``, a ``UnicodeDecodeError``)
    or in one step by pydantic's ``model_validate_json``, which reports malformed JSON as a
    ``ValidationError`` of type ``json_invalid``.
    """
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return True
    return isinstance(exc, ValidationError) and any(
        error["type"] == "json_invalid" for error in exc.errors(include_url=False)
    )


def not_json_error(response: httpx.Response) -> InvalidResponseError:
    """The error for a success answer whose body is not JSON."""
    ctype = response.headers.get("content-type", "no content type")
    return InvalidResponseError(
        f"{response.request.method} {response.url} answered {response.status_code} "
        f"with a body that is not JSON ({ctype})",
        response=response,
    )


class VersionWatch:
    """Warns once when a node answers with an ``API-Version`` of another major version."""

    def __init__(self) -> None:
        self._warned = False

    def see(self, response: httpx.Response) -> None:
        """Look at one response's ``API-Version`` header."""
        version = response.headers.get("API-Version")
        if self._warned or not version or version.split(".")[0] == SPEC_MAJOR:
            return
        self._warned = True
        warn(
            f"{response.url.host} follows Open Werk {version}; this SDK speaks "
            f"v{SPEC_MAJOR}.x, so answers may not parse as expected",
            OpenWerkWarning,
        )
