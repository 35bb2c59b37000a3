"""Client assertions (RFC 7523) as the suite makes them, and the configuration file."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from joserfc import jwt

from openwerk_conformance.config import ConfigError, load_config
from openwerk_conformance.oauth import (
    ASSERTION_TYPE,
    ClientCredentials,
    generate_key,
    load_private_key,
    make_assertion,
    token_form,
    unsigned_assertion,
)
from openwerk_conformance.probes import SAMPLE_VACANCY
from openwerk_spec.openapi import validation_errors

AUD = "https://node.example.nl/v1/oauth/token"


def _credentials() -> ClientCredentials:
    return ClientCredentials(role="consumer-a", client_id="platform-a", key=generate_key())


def test_assertion_claims_and_header() -> None:
    creds = _credentials()
    token = make_assertion(creds, AUD)
    decoded = jwt.decode(token, creds.key, algorithms=["ES256"])
    claims = decoded.claims
    assert claims["iss"] == claims["sub"] == "platform-a"
    assert claims["aud"] == AUD
    assert 0 < claims["exp"] - time.time() <= 300
    assert decoded.header["alg"] == "ES256"
    assert decoded.header["kid"] == creds.key.kid
    other = jwt.decode(make_assertion(creds, AUD), creds.key, algorithms=["ES256"])
    assert other.claims["jti"] != claims["jti"]


def test_assertion_overrides_and_foreign_keys() -> None:
    creds = _credentials()
    token = make_assertion(creds, AUD, overrides={"sub": "x", "jti": None}, lifetime=10)
    claims = jwt.decode(token, creds.key, algorithms=["ES256"]).claims
    assert claims["sub"] == "x"
    assert "jti" not in claims
    stranger = generate_key()
    forged = make_assertion(creds, AUD, key=stranger)
    with pytest.raises(Exception):  # noqa: B017, PT011 - joserfc's bad-signature error
        jwt.decode(forged, creds.key, algorithms=["ES256"])


def test_unsigned_assertion_has_alg_none_and_no_signature() -> None:
    token = unsigned_assertion(_credentials(), AUD)
    header_b64, _, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header_b64 + "=="))["alg"] == "none"
    assert signature == ""


def test_token_form() -> None:
    assert token_form("a.b.c", "events:read") == {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": "a.b.c",
        "scope": "events:read",
    }
    assert "scope" not in token_form("a.b.c")


def test_private_keys_load_and_public_ones_are_refused(tmp_path: Path) -> None:
    key = generate_key()
    private = tmp_path / "private.jwk.json"
    private.write_text(json.dumps(key.as_dict(private=True)))
    assert load_private_key(private).kid == key.kid
    public = tmp_path / "public.jwk.json"
    public.write_text(json.dumps(key.as_dict(private=False)))
    with pytest.raises(ValueError, match="no private key"):
        load_private_key(public)
    with pytest.raises(ValueError, match="JWK"):
        load_private_key(tmp_path / "missing.json")


def test_config_file_resolves_key_files_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text(
        'base_url = "http://127.0.0.1:8000/v1"\n'
        "[clients.publisher]\n"
        'client_id = "pub"\n'
        'key_file = "keys/pub.jwk.json"\n'
    )
    config = load_config(tmp_path / "conformance.toml")
    assert config.base_url == "http://127.0.0.1:8000/v1"
    assert config.token_endpoint is None
    assert config.clients["publisher"].key_file == tmp_path / "keys" / "pub.jwk.json"
    (tmp_path / "bad.toml").write_text('[clients.admin]\nclient_id = "x"\nkey_file = "y"\n')
    with pytest.raises(ConfigError, match="unknown client role"):
        load_config(tmp_path / "bad.toml")


def test_the_sample_vacancy_is_valid_input() -> None:
    assert validation_errors("VacancyInput", SAMPLE_VACANCY) == []
