"""HTTP binding of the token endpoint: ``POST /oauth/token`` (operationId createAccessToken).

Independent of the app's internals: the ``TokenEndpoint`` comes from
``request.app.state.token_endpoint`` (or another ``endpoint_factory``), and failures are
raised as domain errors (``errors.*``, ``security.AuthError``) for the app's single
problem mapping to turn into problem+json.

The form is parsed here with ``urllib.parse.parse_qs(strict_parsing=True)`` rather than
FastAPI's ``Form``: that needs python-multipart, and strict parsing lets us refuse a
malformed body and see duplicated parameters (RFC 6749 §3.2), which ``Form`` would merge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from openwerk_server.auth.token_endpoint import TokenEndpoint
from openwerk_server.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType

__all__ = ["MAX_TOKEN_REQUEST_BYTES", "build_token_router", "token_endpoint_from_app_state"]

#: A token request is three short fields and an assertion of at most 8 KiB.
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
_FORM = "application/x-www-form-urlencoded"
#: RFC 6749 §5.1: token responses must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

EndpointFactory = Callable[[Request], TokenEndpoint]


def token_endpoint_from_app_state(request: Request) -> TokenEndpoint:
    """The ``TokenEndpoint`` the app factory put in ``app.state.token_endpoint``."""
    endpoint = getattr(request.app.state, "token_endpoint", None)
    if not isinstance(endpoint, TokenEndpoint):
        raise RuntimeError("app.state.token_endpoint is not set: create_app must wire it")
    return endpoint


def _check_media_type(content_type: str | None) -> None:
    media_type, _, params = (content_type or "").partition(";")
    if media_type.strip().lower() != _FORM:
        raise UnsupportedMediaType(
            f"the token endpoint accepts {_FORM} only, not {content_type or 'an untyped body'!r}"
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise UnsupportedMediaType(f"the token request must be UTF-8, not {value.strip()!r}")


async def _read_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            raise PayloadTooLarge(f"a token request is at most {MAX_TOKEN_REQUEST_BYTES} bytes")
    return bytes(body)


def _parse_form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=32,
        )
    except ValueError as exc:  # includes UnicodeDecodeError
        raise MalformedBody(f"the token request is not a valid form body: {exc}") from exc


def build_token_router(
    endpoint_factory: EndpointFactory = token_endpoint_from_app_state,
) -> APIRouter:
    """A router with ``POST /oauth/token``; include it under the ``/v1`` prefix."""
    router = APIRouter()

    @router.post(
        "/oauth/token",
        operation_id="createAccessToken",
        tags=["core"],
        response_model=None,
        summary="Get an access token (client credentials with private_key_jwt)",
    )
    async def create_access_token(request: Request) -> JSONResponse:
        _check_media_type(request.headers.get("content-type"))
        form = _parse_form(await _read_body(request))
        endpoint = endpoint_factory(request)
        # Signature checks and the replay-table write are blocking: keep them off the loop.
        body: dict[str, Any] = await run_in_threadpool(endpoint.handle, form)
        return JSONResponse(body, headers=_NO_STORE)

    return router
