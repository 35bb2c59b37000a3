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
from importlib import metadata
from typing import Any

import httpx

from openwerk._errors import (
    InvalidResponseError,
    OpenWerkWarning,
    TransportError,
    error_from_response,
    warn,
)
from openwerk_spec.classes import CLASS_URI_PREFIX

__all__ = [
    "SPEC_MAJOR",
    "VersionWatch",
    "build_request",
    "check_response",
    "decode_json",
    "default_headers",
    "new_traceparent",
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


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    json_body: Any = None,
    token: str | None = None,
) -> tuple[httpx.Request, str | None]:
    """A request with tracing and, when given, the bearer token; also its trace id.

    A ``traceparent`` the caller set in the client's headers is kept (they are propagating
    their own trace); then the trace id is theirs and the SDK does not claim to know it.
    """
    headers: dict[str, str] = {}
    trace_id: str | None = None
    if "traceparent" not in http.headers:
        headers["traceparent"], trace_id = new_traceparent()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = http.build_request(
        method, url, params=dict(params) if params else None, json=json_body, headers=headers
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


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of a success response; ``InvalidResponseError`` when it is not JSON."""
    if response.status_code == httpx.codes.NO_CONTENT or not response.content:
        return None
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        ctype = response.headers.get("content-type", "no content type")
        raise InvalidResponseError(
            f"{response.request.method} {response.url} answered {response.status_code} "
            f"with a body that is not JSON ({ctype})",
            response=response,
        ) from exc


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
