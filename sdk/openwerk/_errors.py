"""The SDK's exception tree, and the one place an HTTP error response becomes an exception.

Modelled on httpx: one root (``OpenWerkError``) so an application can catch everything the SDK
raises with one clause, and subclasses chosen by what a caller does next, not by where the
failure happened::

    OpenWerkError
    ├── TransportError          the node could not be reached or did not answer (retry later)
    ├── ApiError                the node answered with an error status (problem+json)
    │   ├── BadRequest          400: fix the input; ``invalid_params`` lists every problem
    │   ├── Unauthorized        401: the token was refused (after one refresh)
    │   ├── Forbidden           403: the token lacks a scope, or the caller may not act here
    │   ├── NotFound            404: no such resource, or none this caller may see
    │   ├── Conflict            409: illegal state transition (e.g. cancel an accepted intro)
    │   ├── PayloadTooLarge     413: split the batch
    │   └── ServerError         5xx: the node failed; not the caller's fault
    ├── AuthenticationError     the token endpoint refused the client assertion
    ├── ConformanceError        strict mode: the node does not declare a needed class
    ├── PaginationError         a node's ``next`` links loop or leave the node
    └── InvalidResponseError    a 2xx answer whose body is not what the spec says

Every exception that stands for another one is raised ``from`` it, so ``__cause__`` keeps the
httpx, JSON or validation error that explains it (STYLE: never drop the cause).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from openwerk_spec.classes import ConformanceClass

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ConformanceError",
    "ConformanceWarning",
    "Forbidden",
    "InvalidResponseError",
    "NotFound",
    "OpenWerkError",
    "OpenWerkWarning",
    "PaginationError",
    "PayloadTooLarge",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "error_from_response",
    "warn",
]

#: How much of a non-problem error body is kept as ``detail``: enough to recognise a proxy's
#: HTML error page, not so much that a log line becomes a page.
_DETAIL_SNIPPET = 300


class OpenWerkError(Exception):
    """Root of every exception the SDK raises."""


class OpenWerkWarning(UserWarning):
    """Root of the SDK's warnings, so ``warnings.filterwarnings`` can target them all."""


class ConformanceWarning(OpenWerkWarning):
    """A call needs a conformance class the node does not declare (default, non-strict mode)."""


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[OpenWerkWarning]) -> None:
    """Issue a warning attributed to the first caller outside this package.

    A fixed ``stacklevel`` would point into SDK internals whenever the call path differs
    (iterators, async, the CLI); walking out of the package points at the application's line.
    """
    # stacklevel=2 is the caller of this function, i.e. sys._getframe(1); walk up from there.
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)


class TransportError(OpenWerkError):
    """The request did not get an HTTP answer: connection refused, DNS, TLS, timeout, reset.

    ``__cause__`` is the httpx exception; ``request`` is the request that failed.
    """

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class ApiError(OpenWerkError):
    """The node answered with an error status.

    ``problem`` is the RFC 9457 body as a dict (``type``, ``title``, ``status``, ``detail``,
    ``code``, ``invalidParams``, ``traceId``). When the body was not problem+json (a proxy's
    HTML page, an empty 502) the SDK fills in ``title``, ``status`` and ``detail`` from the
    response, so callers can always read them; ``is_problem`` says which case it was.
    """

    def __init__(
        self,
        problem: Mapping[str, Any],
        *,
        response: httpx.Response | None = None,
        trace_id: str | None = None,
        is_problem: bool = True,
    ) -> None:
        self.problem: dict[str, Any] = dict(problem)
        self.response = response
        self.is_problem = is_problem
        status = self.problem.get("status")
        if response is not None:
            status = response.status_code
        self.status: int = status if isinstance(status, int) else 0
        trace = self.problem.get("traceId")
        #: The W3C trace id of the request: the node's ``traceId`` if it named one, else the
        #: id the SDK sent in ``traceparent``. Quote it when asking the node's operator.
        self.trace_id: str | None = trace if isinstance(trace, str) else trace_id
        super().__init__(self._message())

    @property
    def request_id(self) -> str | None:
        """Same as ``trace_id``: Open Werk identifies a request by its W3C trace id."""
        return self.trace_id

    @property
    def code(self) -> str | None:
        """The spec's stable problem code (``not-found``, ``invalid-parameters``, ...)."""
        return _str_or_none(self.problem.get("code"))

    @property
    def title(self) -> str | None:
        """The problem's short, human-readable summary."""
        return _str_or_none(self.problem.get("title"))

    @property
    def detail(self) -> str | None:
        """What went wrong with this request in particular."""
        return _str_or_none(self.problem.get("detail"))

    @property
    def type(self) -> str | None:
        """The problem type URI, ``https://w3id.org/openwerk/v1/problems/{code}``."""
        return _str_or_none(self.problem.get("type"))

    @property
    def invalid_params(self) -> list[dict[str, Any]]:
        """Every invalid input as ``{name, reason, code?}``; empty when the node listed none."""
        raw = self.problem.get("invalidParams")
        if not isinstance(raw, list):
            return []
        return [dict(p) for p in raw if isinstance(p, Mapping)]

    def _message(self) -> str:
        parts = [f"{self.status} {self.title or 'error'}"]
        if self.detail:
            parts.append(f": {self.detail}")
        if self.code:
            parts.append(f" [{self.code}]")
        if self.trace_id:
            parts.append(f" (trace {self.trace_id})")
        for param in self.invalid_params:
            parts.append(f"\n  - {param.get('name', '?')}: {param.get('reason', '?')}")
        return "".join(parts)


class BadRequest(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """400: the input breaks the spec's rules; ``invalid_params`` lists them all (OW-ERR-003)."""


class Unauthorized(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """401: no token, or one the node refused even after the SDK fetched a fresh one."""


class Forbidden(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """403: the token lacks the scope the operation needs, or this caller may not act here."""


class NotFound(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """404: no such resource, or none the caller may see (another consumer's pseudonym)."""


class Conflict(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """409: the request conflicts with the resource's state (an illegal transition)."""


class PayloadTooLarge(ApiError):  # noqa: N818 - named for the HTTP status, as in the spec
    """413: the body exceeds the node's limit (at least 1 MiB; 10 MiB for batches)."""


class ServerError(ApiError):
    """5xx: the node (or, for a gateway, an upstream member) failed."""


class AuthenticationError(OpenWerkError):
    """The node's token endpoint did not issue a token.

    ``error`` is the RFC 6749 code the node gave (``invalid_client``, ``invalid_grant``, ...)
    when it gave one; ``__cause__`` is the ``ApiError`` (or decoding error) behind it. A
    transport failure on the way to the token endpoint stays a ``TransportError``.
    """

    def __init__(
        self, message: str, *, error: str | None = None, problem: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.error = error
        self.problem: dict[str, Any] = dict(problem or {})


class ConformanceError(OpenWerkError):
    """Strict mode: the node does not declare a conformance class the call needs.

    ``declared`` is ``None`` when the node's ``/conformance`` could not be read at all.
    """

    def __init__(
        self,
        message: str,
        *,
        needed: ConformanceClass,
        declared: frozenset[ConformanceClass] | None,
    ) -> None:
        super().__init__(message)
        self.needed = needed
        self.declared = declared


class PaginationError(OpenWerkError):
    """A ``links.next`` that would make the SDK loop (a page already fetched) or send the
    caller's token to another origin; the iteration stops instead."""


class InvalidResponseError(OpenWerkError):
    """A success status with a body that is not the JSON the spec describes.

    ``__cause__`` is the JSON or pydantic validation error; ``response`` is kept for debugging.
    """

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


#: Status → exception class. Codes not listed map to ``ServerError`` (5xx) or ``ApiError``.
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}


def error_class_for(status: int) -> type[ApiError]:
    """The exception class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status <= 599:
        return ServerError
    return ApiError


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_problem(response: httpx.Response) -> tuple[dict[str, Any], bool]:
    """The problem dict of an error response and whether the node sent a real problem body.

    A JSON object is taken as the problem whatever its media type (some proxies relabel it);
    anything else becomes a synthesised problem from the status line and a snippet of the body.
    """
    try:
        body = json.loads(response.content) if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and ("title" in body or "type" in body or "code" in body):
        problem = dict(body)
        problem.setdefault("status", response.status_code)
        return problem, True
    text = response.content[:_DETAIL_SNIPPET].decode("utf-8", "replace").strip()
    synthesised: dict[str, Any] = {
        "title": response.reason_phrase or "HTTP error",
        "status": response.status_code,
        "detail": text or f"The node answered {response.status_code} without a problem body.",
    }
    return synthesised, False


def error_from_response(response: httpx.Response, *, trace_id: str | None = None) -> ApiError:
    """The ``ApiError`` subclass instance for an error response (not raised, so callers chain)."""
    problem, is_problem = parse_problem(response)
    cls = error_class_for(response.status_code)
    return cls(problem, response=response, trace_id=trace_id, is_problem=is_problem)
