"""Client authentication with ``private_key_jwt`` (RFC 7523, NL GOV OAuth profile).

A federation member proves who it is to a node's token endpoint by signing a short-lived
JWT with one of the keys the directory lists for it: ``iss`` = ``sub`` = its member id,
``aud`` = the token endpoint URL, ``exp`` at most 5 minutes ahead and a fresh ``jti`` (the
node refuses any ``jti`` it has seen). The node answers with an access token.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from openwerk.keys import SIGNING_ALG, import_private_jwk, load_private_key

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "GRANT_TYPE",
    "MAX_ASSERTION_LIFETIME",
    "ClientCredentials",
    "make_client_assertion",
    "token_endpoint_for",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_TYPE = "client_credentials"
#: Nodes refuse assertions whose ``exp`` lies more than 5 minutes ahead (OW-AUTH-005).
MAX_ASSERTION_LIFETIME = 300


def token_endpoint_for(base_url: str) -> str:
    """The token endpoint of a node whose API lives at ``base_url`` (ending in ``/v1``)."""
    return base_url.rstrip("/") + "/oauth/token"


def _key(private_key: ECKey | Mapping[str, Any]) -> ECKey:
    key = private_key if isinstance(private_key, ECKey) else import_private_jwk(private_key)
    if not key.is_private:
        raise ValueError("a client assertion must be signed with a private key")
    key.ensure_kid()
    return key


def make_client_assertion(
    client_id: str,
    private_jwk: ECKey | Mapping[str, Any],
    token_endpoint_url: str,
    *,
    lifetime: int = 60,
    now: float | None = None,
) -> str:
    """A signed client assertion (JWS compact, ES256, ``kid`` in the header).

    ``lifetime`` is in seconds, 1..300; ``now`` (epoch seconds) is for tests.
    Every call gets a new ``jti``: an assertion is good for one token request.
    """
    if not 1 <= lifetime <= MAX_ASSERTION_LIFETIME:
        raise ValueError(
            f"lifetime must be 1..{MAX_ASSERTION_LIFETIME} seconds (nodes refuse longer), "
            f"got {lifetime}"
        )
    key = _key(private_jwk)
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint_url,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": str(uuid.uuid4()),
    }
    header = {"alg": SIGNING_ALG, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALG])


@dataclass(frozen=True)
class ClientCredentials:
    """What a member needs to get tokens from one node: its id, its key, the endpoint."""

    client_id: str
    private_key: ECKey
    token_endpoint: str
    assertion_lifetime: int = 60

    @classmethod
    def from_key_file(
        cls, client_id: str, key_path: str | os.PathLike[str], token_endpoint: str
    ) -> ClientCredentials:
        """Credentials with the private key read from a JWK file (``keys.save_private_key``)."""
        return cls(client_id, load_private_key(key_path), token_endpoint)

    def assertion(self, *, now: float | None = None) -> str:
        """A fresh client assertion for ``token_endpoint``."""
        return make_client_assertion(
            self.client_id,
            self.private_key,
            self.token_endpoint,
            lifetime=self.assertion_lifetime,
            now=now,
        )

    def token_request(
        self, scope: str | Iterable[str] | None = None, *, now: float | None = None
    ) -> dict[str, str]:
        """The form fields of a token request (send as application/x-www-form-urlencoded)."""
        form = {
            "grant_type": GRANT_TYPE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(now=now),
        }
        if scope is not None:
            form["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        return form
