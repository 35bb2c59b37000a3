"""The one place where errors become RFC 9457 ``application/problem+json`` responses.

Domain errors (``errors.py``), auth errors (``security.py``), FastAPI's request validation,
Starlette's 404/405 and anything unexpected all end here, so every error a node sends has the
same members (type, title, status, detail, code, instance, invalidParams, traceId), the codes
of ``openwerk_spec.problems``, and never a stack trace.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from openwerk_server import errors
from openwerk_server.errors import InvalidParam
from openwerk_server.security import (
    AuthError,
    InsufficientScope,
    InvalidClient,
    InvalidTokenRequest,
    MissingToken,
)
from openwerk_spec.problems import PROBLEM_TYPES, ProblemCode

__all__ = [
    "PROBLEM_JSON",
    "install_exception_handlers",
    "internal_error_response",
    "problem_body",
    "problem_response",
    "token_error_response",
]

logger = logging.getLogger("openwerk_server")

PROBLEM_JSON = "application/problem+json"
#: The token endpoint's path below ``/v1``; its problems also carry RFC 6749 ``error``.
TOKEN_PATH_SUFFIX = "/oauth/token"  # noqa: S105 - a path, not a secret

# Most specific first: IllegalTransition is a Conflict, so it must be matched before it.
_DOMAIN: tuple[tuple[type[errors.OpenWerkServerError], ProblemCode, int | None], ...] = (
    (errors.InvalidInput, ProblemCode.INVALID_PARAMETERS, None),
    (errors.MalformedBody, ProblemCode.MALFORMED_BODY, None),
    (errors.NotFound, ProblemCode.NOT_FOUND, None),
    (errors.IllegalTransition, ProblemCode.ILLEGAL_TRANSITION, None),
    (errors.Conflict, ProblemCode.CONFLICT, None),
    (errors.PayloadTooLarge, ProblemCode.PAYLOAD_TOO_LARGE, None),
    (errors.UnsupportedMediaType, ProblemCode.UNSUPPORTED_MEDIA_TYPE, None),
    (errors.NotAcceptable, ProblemCode.NOT_ACCEPTABLE, None),
    (errors.StorageUnavailable, ProblemCode.SERVICE_UNAVAILABLE, 503),
    (errors.ServiceUnavailable, ProblemCode.SERVICE_UNAVAILABLE, 503),
)

_BY_STATUS: Mapping[int, ProblemCode] = {
    400: ProblemCode.INVALID_PARAMETERS,
    401: ProblemCode.UNAUTHORIZED,
    403: ProblemCode.FORBIDDEN,
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    406: ProblemCode.NOT_ACCEPTABLE,
    409: ProblemCode.CONFLICT,
    413: ProblemCode.PAYLOAD_TOO_LARGE,
    415: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
}


def _trace_id(scope: Scope) -> str | None:
    state = scope.get("state")
    value = state.get("trace_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def _instance(scope: Scope) -> str | None:
    # The path as a URI reference: percent-encoded, as the client sent it.
    path = scope.get("path")
    return quote(path, safe="/:@!$&'()*+,;=-._~") if isinstance(path, str) and path else None


def problem_body(
    code: ProblemCode,
    detail: str,
    *,
    status: int | None = None,
    title: str | None = None,
    instance: str | None = None,
    invalid_params: Sequence[InvalidParam] = (),
    trace_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem document; ``status`` and ``title`` default to the code's own."""
    kind = PROBLEM_TYPES[code]
    body: dict[str, Any] = {
        "type": code.type_uri,
        "title": title or kind.title,
        "status": status or kind.status,
        "detail": detail,
        "code": code.value,
    }
    if instance:
        body["instance"] = instance
    if invalid_params:
        body["invalidParams"] = [
            {"name": p.name, "reason": p.reason, "code": p.code} for p in invalid_params
        ]
    if trace_id:
        body["traceId"] = trace_id
    if extra:
        body.update(extra)
    return body


def _render(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        content, status_code=int(body["status"]), headers=headers, media_type=PROBLEM_JSON
    )


def problem_response(
    scope: Scope,
    code: ProblemCode,
    detail: str,
    *,
    status: int | None = None,
    title: str | None = None,
    invalid_params: Sequence[InvalidParam] = (),
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A problem response for the request in ``scope`` (``instance`` and ``traceId`` filled in)."""
    body = problem_body(
        code,
        detail,
        status=status,
        title=title,
        instance=_instance(scope),
        invalid_params=invalid_params,
        trace_id=_trace_id(scope),
        extra=extra,
    )
    path = str(scope.get("path", ""))
    if path.endswith(TOKEN_PATH_SUFFIX) and body["status"] in (400, 401) and "error" not in body:
        # RFC 6749 §5.2 via the spec's TokenProblem: whatever refused a token request, the
        # client library looks for ``error``.
        body["error"] = "invalid_client" if body["status"] == 401 else "invalid_request"
        body["error_description"] = detail
    return _render(body, headers)


def internal_error_response(scope: Scope) -> Response:
    """The 500 for an unexpected exception: a trace id to quote, nothing about the cause."""
    return problem_response(
        scope,
        ProblemCode.INTERNAL,
        "The node failed unexpectedly. Quote the traceId when reporting this.",
    )


# ---------------------------------------------------------------------------- auth
_UNSAFE_HEADER_CHARS = re.compile(r'[^\x20-\x7e]|["\\]')


def _quoted(text: str) -> str:
    return _UNSAFE_HEADER_CHARS.sub("", text)[:200]


def _challenge(exc: AuthError, scope_needed: str | None) -> str:
    # RFC 6750 §3.1: no error code when the request carried no credentials at all.
    if isinstance(exc, MissingToken):
        return 'Bearer realm="openwerk"'
    parts = [
        'Bearer realm="openwerk"',
        f'error="{exc.oauth_error}"',
        f'error_description="{_quoted(exc.detail)}"',
    ]
    if scope_needed:
        parts.append(f'scope="{_quoted(scope_needed)}"')
    return ", ".join(parts)


def token_error_response(scope: Scope, exc: AuthError) -> Response:
    """A token-endpoint failure: problem+json that also carries RFC 6749 ``error`` members.

    A refused client assertion is 401 ``unauthorized``; a malformed request, unsupported grant
    type or invalid scope is 400 ``token-request-invalid`` (spec/docs/errors-and-pagination.md).
    """
    code = ProblemCode.UNAUTHORIZED if exc.status == 401 else ProblemCode.TOKEN_REQUEST_INVALID
    return problem_response(
        scope,
        code,
        exc.detail,
        status=exc.status,
        extra={"error": exc.oauth_error, "error_description": exc.detail},
    )


def auth_error_response(scope: Scope, exc: AuthError) -> Response:
    """401/403 with a ``WWW-Authenticate`` challenge, or a token-endpoint error."""
    if isinstance(exc, InvalidClient | InvalidTokenRequest):
        return token_error_response(scope, exc)
    if isinstance(exc, InsufficientScope):
        code = ProblemCode.INSUFFICIENT_SCOPE
    elif isinstance(exc, MissingToken):
        code = ProblemCode.UNAUTHORIZED
    else:
        code = ProblemCode.INVALID_TOKEN
    needed = getattr(exc, "scope", None)
    headers = {"WWW-Authenticate": _challenge(exc, needed if isinstance(needed, str) else None)}
    return problem_response(scope, code, exc.detail, status=exc.status, headers=headers)


# ---------------------------------------------------------------------------- validation
def _param_name(loc: Sequence[Any]) -> str:
    """FastAPI's error location as the spec names it (spec/docs/errors-and-pagination.md):
    ``("query", "limit")`` → ``limit``; ``("body", "items", 3)`` → ``body.items[3]``.
    """
    parts = list(loc)
    if parts and parts[0] in ("query", "path", "header", "cookie") and len(parts) > 1:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "request"


def _validation_params(exc: RequestValidationError) -> list[InvalidParam]:
    params = []
    for error in exc.errors():
        code = str(error.get("type", "invalid")).replace("_", "-")
        if code == "missing":
            code = "required"
        params.append(InvalidParam(_param_name(error.get("loc", ())), str(error.get("msg")), code))
    return params


# ---------------------------------------------------------------------------- handlers
async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.OpenWerkServerError)
    for cls, code, status in _DOMAIN:
        if isinstance(exc, cls):
            params = exc.params if isinstance(exc, errors.InvalidInput) else ()
            if status == 503:
                return problem_response(
                    request.scope, code, exc.detail, status=503, title="Service unavailable"
                )
            return problem_response(request.scope, code, exc.detail, invalid_params=params)
    logger.error("unmapped domain error %s: %s", type(exc).__name__, exc.detail)
    return internal_error_response(request.scope)


async def _on_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    return auth_error_response(request.scope, exc)


async def _on_request_validation(request: Request, exc: Exception) -> Response:
    # The spec says 400 for invalid input, never FastAPI's 422 (OW-ERR-003), with every
    # problem listed at once.
    assert isinstance(exc, RequestValidationError)
    params = _validation_params(exc)
    return problem_response(
        request.scope,
        ProblemCode.INVALID_PARAMETERS,
        f"{len(params)} invalid parameter(s).",
        invalid_params=params,
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _BY_STATUS.get(exc.status_code)
    if code is None:
        code = ProblemCode.INTERNAL if exc.status_code >= 500 else ProblemCode.INVALID_PARAMETERS
    if exc.status_code == 404:
        detail = f"Nothing at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    else:
        detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    return problem_response(request.scope, code, detail, status=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at this path (RFC 9110 §15.5.6).

    Starlette's own ``Allow`` names only the first route whose path matched, but FastAPI
    keeps GET, PUT and DELETE of one path as separate routes.
    """
    path = request.url.path
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if isinstance(regex, re.Pattern) and regex.match(path):
            allowed |= set(route.methods or ())
    return allowed


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error (trace %s)", _trace_id(request.scope), exc_info=exc)
    return internal_error_response(request.scope)


def install_exception_handlers(app: FastAPI) -> None:
    """Route every error class to its problem response."""
    app.add_exception_handler(errors.OpenWerkServerError, _on_domain_error)
    app.add_exception_handler(AuthError, _on_auth_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
