"""The HTTP binding of ``POST /oauth/token`` on a bare FastAPI app (not ``create_app``).

The app's real problem mapping lives elsewhere; here a tiny stand-in turns the domain
errors into status codes so the router's own behaviour (media type, form parsing, headers)
is tested in isolation.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from openwerk.assertions import ClientCredentials
from openwerk.directory import Directory
from openwerk.keys import generate_signing_key, jwks
from openwerk_server.auth import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    AssertionVerifier,
    TokenEndpoint,
    build_token_router,
)
from openwerk_server.errors import (
    MalformedBody,
    OpenWerkServerError,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from openwerk_server.security import AuthError

TOKEN_URL = "http://testserver/v1/oauth/token"
NODE_KEY, CLIENT_KEY = generate_signing_key(), generate_signing_key()
DIRECTORY = Directory.model_validate(
    {
        "iss": "werkbedrijf-test",
        "iat": 0,
        "exp": 2**31,
        "members": [
            {
                "id": "app-c",
                "name": "App C",
                "organisationType": "platform",
                "roles": ["consumer"],
                "jwks": jwks([CLIENT_KEY]),
            }
        ],
    }
)
STATUS = {UnsupportedMediaType: 415, MalformedBody: 400, PayloadTooLarge: 413}


class MemoryReplayGuard:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def claim_jti(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        fresh = f"{client_id}:{jti}" not in self.seen
        self.seen.add(f"{client_id}:{jti}")
        return fresh


class Client:
    """Synchronous calls into the app in-process (httpx.ASGITransport, no network)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def post(
        self,
        path: str,
        *,
        data: dict[str, str] | None = None,
        content: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.post(path, data=data, content=content, headers=headers)

        return asyncio.run(call())


@pytest.fixture
def client() -> Client:
    app = FastAPI()
    verifier = AssertionVerifier(lambda: DIRECTORY, TOKEN_URL, MemoryReplayGuard())
    app.state.token_endpoint = TokenEndpoint(
        verifier, AccessTokenIssuer("node-a", NODE_KEY, 300), "node-a"
    )
    app.include_router(build_token_router(), prefix="/v1")

    @app.exception_handler(AuthError)
    async def auth_error(_: Request, exc: AuthError) -> JSONResponse:
        body = {"error": exc.oauth_error, "detail": exc.detail}
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(OpenWerkServerError)
    async def domain_error(_: Request, exc: OpenWerkServerError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=STATUS[type(exc)])

    return Client(app)


def _form(**overrides: str) -> dict[str, str]:
    creds = ClientCredentials("app-c", CLIENT_KEY, TOKEN_URL)
    return creds.token_request() | overrides


def test_token_request_over_http(client: Client) -> None:
    response = client.post("/v1/oauth/token", data=_form(scope="events:read"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["scope"] == "events:read"
    principal = AccessTokenVerifier("node-a", NODE_KEY).authenticate(body["access_token"])
    assert principal.client_id == "app-c"


def test_charset_utf8_is_accepted(client: Client) -> None:
    response = client.post(
        "/v1/oauth/token",
        content=urlencode(_form()),
        headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded; charset=latin-1",
    ],
)
def test_other_media_types_are_415(client: Client, content_type: str) -> None:
    response = client.post(
        "/v1/oauth/token", content=urlencode(_form()), headers={"content-type": content_type}
    )
    assert response.status_code == 415


@pytest.mark.parametrize("body", [b"grant_type", b"a=1&&b=2", b"scope=%ff"])
def test_malformed_form_bodies_are_400(client: Client, body: bytes) -> None:
    response = client.post(
        "/v1/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400


def test_duplicate_parameter_is_invalid_request(client: Client) -> None:
    body = urlencode(_form()) + "&grant_type=client_credentials"
    response = client.post(
        "/v1/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_oversized_body_is_413(client: Client) -> None:
    body = urlencode(_form(padding="x" * 20_000))
    response = client.post(
        "/v1/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_bad_assertion_is_401_invalid_client(client: Client) -> None:
    form = _form()
    assert client.post("/v1/oauth/token", data=form).status_code == 200
    replay = client.post("/v1/oauth/token", data=form)
    assert replay.status_code == 401
    assert replay.json() == {
        "error": "invalid_client",
        "detail": "assertion replayed (jti already used): sign a new assertion",
    }
