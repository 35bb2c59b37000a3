"""Every protected operation × every way to be unauthorised → 401 or 403 problem+json.

Runs against a node wired the production way: keys and a signed directory written by
``write_sandbox``, tokens obtained at the real token endpoint with private_key_jwt.
The operation list comes from the spec and the app's own routes, so each class that lands
is covered without touching this file.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.testclient import TestClient

from openwerk.assertions import ClientCredentials, make_client_assertion
from openwerk.keys import generate_signing_key, load_private_key
from openwerk_server.app import create_app
from openwerk_server.sandbox import SandboxFiles, write_sandbox
from openwerk_server.security import SCOPES
from openwerk_server.settings import NodeSettings
from openwerk_spec.openapi import operations
from openwerk_spec.openapi import validation_errors as schema_errors

TOKEN_URL = "http://127.0.0.1:8000/v1/oauth/token"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> SandboxFiles:
    return write_sandbox(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="module")
def client(sandbox: SandboxFiles) -> Iterator[TestClient]:
    settings = NodeSettings.from_file(sandbox.node_config, public_opportunities=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def _key(sandbox: SandboxFiles, member: str) -> ECKey:
    return load_private_key(sandbox.federation.keys[member])


def _token(client: TestClient, sandbox: SandboxFiles, member: str) -> str:
    creds = ClientCredentials(member, _key(sandbox, member), TOKEN_URL)
    response = client.post("/v1/oauth/token", data=creds.token_request())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["access_token"])


def _protected(client: TestClient) -> list[tuple[str, str, str, str]]:
    """(method, concrete path, operationId, scope) of every protected operation the app serves."""
    served = {
        (method, str(route.path))
        for route in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        for method in route.methods or ()
    }
    found = []
    for method, path, op in operations():
        scopes = [s for req in op.get("security", []) for s in req.get("oauth2", [])]
        if not scopes or (method, "/v1" + path) not in served:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x0", "/v1" + path)
        found.append((method, concrete, op["operationId"], scopes[0]))
    return found


def _call(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, path, headers=headers, json=body)


def _assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["api-version"]
    assert schema_errors("Problem", response.json()) == []
    assert response.headers["www-authenticate"].startswith("Bearer")


def _forged(sandbox: SandboxFiles, *, aud: str, exp: int, key: ECKey | None = None) -> str:
    """An access token with the node's claim set (auth/access_tokens.py), varied one way."""
    signing = key or _key(sandbox, "sandbox-node")
    now = int(time.time())
    claims = {
        "iss": "sandbox-node",
        "aud": aud,
        "sub": "consumer-a",
        "client_id": "consumer-a",
        "scope": " ".join(SCOPES),
        "org": "platform",
        "iat": min(now, exp - 60),
        "exp": exp,
        "jti": str(uuid.uuid4()),
    }
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid}
    return jwt.encode(header, claims, signing)


def test_there_are_protected_operations_to_check(client: TestClient) -> None:
    assert len(_protected(client)) >= 20


def test_every_protected_operation_refuses_every_bad_token(
    client: TestClient, sandbox: SandboxFiles
) -> None:
    now = int(time.time())
    consumer = _token(client, sandbox, "consumer-a")
    publisher = _token(client, sandbox, "publisher")
    bad_tokens = {
        "no token": None,
        "garbage": "not-a-jwt",
        "expired": _forged(sandbox, aud="sandbox-node", exp=now - 120),
        "for another node": _forged(sandbox, aud="another-node", exp=now + 300),
        "signed with the wrong key": _forged(
            sandbox, aud="sandbox-node", exp=now + 300, key=generate_signing_key()
        ),
    }
    checked = 0
    for method, path, op_id, scope in _protected(client):
        for name, token in bad_tokens.items():
            response = _call(client, method, path, token)
            assert response.status_code == 401, (op_id, name, response.text)
            _assert_refused(response, 401)
            checked += 1
        # A valid token of this node without the operation's scope.
        wrong = consumer if scope == "publication:write" else publisher
        response = _call(client, method, path, wrong)
        assert response.status_code == 403, (op_id, "missing scope", response.text)
        _assert_refused(response, 403)
        assert "insufficient_scope" in response.headers["www-authenticate"]
        checked += 1
    assert checked >= 6 * 20


@pytest.mark.parametrize("case", ["unknown client", "replayed assertion", "wrong key"])
def test_the_token_endpoint_refuses_bad_assertions(
    client: TestClient, sandbox: SandboxFiles, case: str
) -> None:
    if case == "unknown client":
        assertion = make_client_assertion("nobody", generate_signing_key(), TOKEN_URL)
        member = "nobody"
    elif case == "wrong key":
        assertion = make_client_assertion("consumer-a", generate_signing_key(), TOKEN_URL)
        member = "consumer-a"
    else:
        assertion = make_client_assertion("consumer-a", _key(sandbox, "consumer-a"), TOKEN_URL)
        member = "consumer-a"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    if case == "replayed assertion":
        assert client.post("/v1/oauth/token", data=form).status_code == 200
    response = client.post("/v1/oauth/token", data=form)
    assert response.status_code == 401, (member, response.text)
    problem = response.json()
    assert problem["error"] == "invalid_client"
    assert schema_errors("TokenProblem", problem) == []


def test_replay_protection_holds_across_replicas(sandbox: SandboxFiles, tmp_path: Path) -> None:
    """Two app instances on one database: an assertion used at one is refused at the other."""
    settings = NodeSettings.from_file(sandbox.node_config)
    assertion = make_client_assertion("consumer-a", _key(sandbox, "consumer-a"), TOKEN_URL)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    with (
        TestClient(create_app(settings)) as first,
        TestClient(create_app(settings)) as second,
    ):
        assert first.post("/v1/oauth/token", data=form).status_code == 200
        assert second.post("/v1/oauth/token", data=form).status_code == 401


def test_scopes_follow_roles(client: TestClient, sandbox: SandboxFiles) -> None:
    def scopes(member: str) -> set[str]:
        creds = ClientCredentials(member, _key(sandbox, member), TOKEN_URL)
        response = client.post("/v1/oauth/token", data=creds.token_request())
        return set(response.json()["scope"].split())

    assert scopes("publisher") == {"publication:write"}
    assert "publication:write" not in scopes("consumer-a")
    assert {"candidates:read", "introductions:write"} <= scopes("consumer-b")
