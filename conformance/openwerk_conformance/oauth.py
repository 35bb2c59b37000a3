"""Client side of the token endpoint: RFC 7523 client assertions and the token request.

The suite must not import the SDK (it would then test the SDK against itself), so the small
client part of ``private_key_jwt`` lives here, on joserfc. The negative auth checks need
assertions that a real client would never send (expired, wrong audience, unsigned), so
:func:`make_assertion` lets every claim be overridden.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

__all__ = [
    "ASSERTION_TYPE",
    "ClientCredentials",
    "PrivateKey",
    "generate_key",
    "load_private_key",
    "make_assertion",
    "token_form",
    "unsigned_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

PrivateKey = ECKey | RSAKey | OKPKey

_ALGORITHMS = {"EC": "ES256", "RSA": "RS256", "OKP": "EdDSA"}


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """One identity the suite acts as: its role name in the run, client id and private key."""

    role: str
    client_id: str
    key: PrivateKey

    @property
    def algorithm(self) -> str:
        """The JWS algorithm for this key (ES256 for the P-256 keys Open Werk issues)."""
        return _ALGORITHMS[self.key.key_type]


def load_private_key(path: Path) -> PrivateKey:
    """A private JWK from a JSON file; ``ValueError`` when it is not a private EC/RSA/OKP key."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JWK JSON file ({exc})") from exc
    if not isinstance(data, dict) or data.get("kty") not in _ALGORITHMS:
        raise ValueError(f"{path}: expected a JWK object with kty EC, RSA or OKP")
    key = _import(data)
    if not key.is_private:
        raise ValueError(f"{path}: the JWK holds no private key")
    return key


def _import(data: dict[str, Any]) -> PrivateKey:
    kty = data["kty"]
    if kty == "EC":
        return ECKey.import_key(data)
    if kty == "RSA":
        return RSAKey.import_key(data)
    return OKPKey.import_key(data)


def generate_key() -> ECKey:
    """A fresh P-256 key with a thumbprint ``kid`` (not listed in any directory)."""
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


def make_assertion(
    credentials: ClientCredentials,
    audience: str,
    *,
    lifetime: int = 60,
    now: float | None = None,
    overrides: dict[str, Any] | None = None,
    key: PrivateKey | None = None,
) -> str:
    """A signed client assertion: iss = sub = client_id, aud, iat, exp = iat + lifetime, jti.

    ``overrides`` replaces or adds claims (``None`` values remove one); ``key`` signs with another
    key than the client's, keeping the client's ``kid`` so the node has to check the signature.
    """
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": credentials.client_id,
        "sub": credentials.client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(24),
    }
    for name, value in (overrides or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    signing_key = key if key is not None else credentials.key
    header: dict[str, Any] = {"alg": _ALGORITHMS[signing_key.key_type], "typ": "JWT"}
    kid = credentials.key.kid
    if kid:
        header["kid"] = kid
    return jwt.encode(header, claims, signing_key)


def unsigned_assertion(credentials: ClientCredentials, audience: str) -> str:
    """An ``alg: none`` assertion. Deliberately hand-built: no JOSE library will make one, and
    a node must refuse it (OW-AUTH-002)."""
    issued = int(time.time())
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "iss": credentials.client_id,
        "sub": credentials.client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + 60,
        "jti": secrets.token_urlsafe(24),
    }
    return f"{_b64(header)}.{_b64(claims)}."


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_form(assertion: str, scope: str | None = None) -> dict[str, str]:
    """The form body of a client credentials token request with a client assertion."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if scope:
        form["scope"] = scope
    return form
