"""Client assertions (RFC 7523) as the SDK makes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from openwerk.assertions import (
    CLIENT_ASSERTION_TYPE,
    ClientCredentials,
    make_client_assertion,
    token_endpoint_for,
)
from openwerk.keys import generate_signing_key, public_jwk, save_private_key

ENDPOINT = "https://node-a.example/v1/oauth/token"
T0 = 1_800_000_000


def test_assertion_claims_and_header() -> None:
    key = generate_signing_key()
    token = make_client_assertion("app-c", key, ENDPOINT, lifetime=120, now=T0)
    decoded = jwt.decode(token, ECKey.import_key(public_jwk(key)), algorithms=["ES256"])
    assert decoded.header == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    claims = decoded.claims
    assert claims["iss"] == claims["sub"] == "app-c"
    assert claims["aud"] == ENDPOINT
    assert (claims["iat"], claims["exp"]) == (T0, T0 + 120)
    assert len(claims["jti"]) == 36


def test_every_assertion_gets_a_new_jti() -> None:
    key = generate_signing_key()
    jtis = {
        jwt.decode(make_client_assertion("app-c", key, ENDPOINT, now=T0), key).claims["jti"]
        for _ in range(20)
    }
    assert len(jtis) == 20


@pytest.mark.parametrize("lifetime", [0, 301, 600])
def test_lifetime_beyond_five_minutes_is_refused(lifetime: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.300"):
        make_client_assertion("app-c", generate_signing_key(), ENDPOINT, lifetime=lifetime)


def test_client_credentials_build_the_token_form(tmp_path: Path) -> None:
    key = generate_signing_key()
    path = save_private_key(key, tmp_path / "client.jwk")
    creds = ClientCredentials.from_key_file("app-c", path, token_endpoint_for("https://n/v1/"))
    assert creds.token_endpoint == "https://n/v1/oauth/token"
    form = creds.token_request(["candidates:read", "statistics:read"], now=T0)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert form["scope"] == "candidates:read statistics:read"
    claims = jwt.decode(form["client_assertion"], key).claims
    assert claims["aud"] == "https://n/v1/oauth/token"
    assert "scope" not in creds.token_request(now=T0)
