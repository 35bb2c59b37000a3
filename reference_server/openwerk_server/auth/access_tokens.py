"""Access tokens: JWTs in the RFC 9068 profile, issued and verified by this node.

Header ``typ`` = ``at+jwt`` and ``alg`` = ES256 with the node key's ``kid``. Claims:
``iss`` = ``aud`` = this node's id (the node is both authorisation server and resource
server; its id is its stable name in the directory, which binds it to a base URL),
``sub`` = ``client_id`` = the member id, ``scope`` (space-separated), ``org`` (the member's
organisation type), ``iat``, ``exp`` and ``jti``. A token issued by or for another node is
refused (OW-AUTH-007).

Stateless on purpose (OW-AUTH-013): a token carries everything needed to authorise a
request and is verified with the node's public key alone, so every replica behind the load
balancer accepts every other replica's tokens without a shared session table, a database
round trip per request, or sticky sessions. The price is that a token cannot be revoked
before ``exp``; the lifetime is therefore short (the issuer's default is 10 minutes, never
more than the spec's hour), which bounds how long a member removed from the directory
keeps access. Only the client assertion needs shared state (the ``jti`` replay table), and
only at the token endpoint. The ``typ`` and ``aud`` checks also keep client assertions
(``typ`` JWT, ``aud`` = a token endpoint URL) from passing as access tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from openwerk.directory import Member
from openwerk.keys import SIGNING_ALG, import_private_jwk, import_public_keys
from openwerk_server.security import SCOPES, InvalidToken, Principal

__all__ = [
    "ACCESS_TOKEN_TYP",
    "MAX_ACCESS_TOKEN_TTL",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "IssuedToken",
]

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a JOSE media type, not a secret
#: The spec's ceiling on ``expires_in`` (TokenResponse).
MAX_ACCESS_TOKEN_TTL = 3600
_ACCEPTED_TYPS = frozenset({"at+jwt", "application/at+jwt"})
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "client_id", "scope", "org", "iat", "exp", "jti")


@dataclass(frozen=True)
class IssuedToken:
    """An access token and what the token response says about it."""

    access_token: str
    expires_in: int
    scope: str


class AccessTokenIssuer:
    """Signs access tokens for members with this node's private key."""

    def __init__(
        self,
        node_id: str,
        node_private_jwk: ECKey | Mapping[str, Any],
        ttl_seconds: int = 600,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= ttl_seconds <= MAX_ACCESS_TOKEN_TTL:
            raise ValueError(
                f"access token ttl must be 1..{MAX_ACCESS_TOKEN_TTL} seconds, got {ttl_seconds}"
            )
        key = (
            node_private_jwk
            if isinstance(node_private_jwk, ECKey)
            else import_private_jwk(node_private_jwk)
        )
        if not key.is_private:
            raise ValueError("the access token issuer needs the node's private key")
        key.ensure_kid()
        self.node_id = node_id
        self.ttl_seconds = ttl_seconds
        self._key = key
        self._clock = clock

    @property
    def public_keys(self) -> KeySet:
        """The public key(s) an ``AccessTokenVerifier`` of this node needs."""
        return import_public_keys(self._key)

    def issue(self, member: Member, scopes: Sequence[str]) -> IssuedToken:
        """A signed access token for ``member`` carrying ``scopes``."""
        now = int(self._clock())
        scope = " ".join(scopes)
        claims = {
            "iss": self.node_id,
            "aud": self.node_id,
            "sub": member.id,
            "client_id": member.id,
            "scope": scope,
            "org": member.organisation_type,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        header = {"alg": SIGNING_ALG, "kid": self._key.kid, "typ": ACCESS_TOKEN_TYP}
        token = jwt.encode(header, claims, self._key, algorithms=[SIGNING_ALG])
        return IssuedToken(access_token=token, expires_in=self.ttl_seconds, scope=scope)


#: Verified access tokens one verifier keeps (a token is ~600 bytes: ~3 MB at most).
VERIFIED_TOKENS_KEPT = 4096


class AccessTokenVerifier:
    """``security.Authenticator``: verifies this node's access tokens, statelessly.

    ``node_keys`` is the node's public JWK, a JWKS (old and new key during a rotation), or
    a joserfc key/key set. ``leeway`` only widens the ``iat`` check (replicas' clocks
    differ slightly); ``exp`` is enforced exactly, clients refresh before it.
    """

    def __init__(
        self,
        node_id: str,
        node_keys: Mapping[str, Any] | ECKey | KeySet,
        *,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node_id = node_id
        self._keys = import_public_keys(node_keys)
        self._leeway = leeway
        self._clock = clock
        self._registry = jws.JWSRegistry(algorithms=[SIGNING_ALG])
        self._verified: dict[str, tuple[Principal, float]] = {}

    def authenticate(self, token: str) -> Principal:
        """The principal the token was issued to; ``InvalidToken`` for anything else.

        A token that verified once is kept with its ``exp`` (``VERIFIED_TOKENS_KEPT`` of
        them): everything checked about it but expiry depends only on the token's bytes and
        this verifier's keys, and the ES256 check is the costliest step of a small read
        (``bench/README.md``). Expiry is checked again on every use.
        """
        kept = self._verified.get(token)
        if kept is not None:
            principal, exp = kept
            if exp > self._clock():
                return principal
            self._verified.pop(token, None)
            raise InvalidToken("token expired: get a new one from /oauth/token")
        principal, exp = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # a burst of distinct tokens; verified again when used
        self._verified[token] = (principal, exp)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            obj = jws.extract_compact(token.encode("ascii"), registry=self._registry)
            claims = json.loads(obj.payload)
        except (JoseError, ValueError) as exc:
            raise InvalidToken("the access token is not a JWT") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("the access token payload is not a JSON object")
        header = obj.headers()
        if header.get("typ") not in _ACCEPTED_TYPS:
            raise InvalidToken(
                f"token typ is {header.get('typ')!r}, not {ACCESS_TOKEN_TYP!r}: "
                "this is not an access token"
            )
        aud = claims.get("aud")
        if self.node_id not in (aud if isinstance(aud, list) else [aud]):
            raise InvalidToken(
                f"token issued for another node ({aud!r}, this is {self.node_id!r}): "
                "get a token from this node's /oauth/token"
            )
        self._check_signature(obj, header)
        return self._principal(claims), claims["exp"]

    def _check_signature(self, obj: Any, header: dict[str, Any]) -> None:
        if header.get("alg") != SIGNING_ALG:
            raise InvalidToken(f"token alg {header.get('alg')!r} refused; expected {SIGNING_ALG}")
        kid = header.get("kid")
        key = next((k for k in self._keys if k.kid == kid), None)
        if key is None:
            raise InvalidToken(f"token signed with unknown key {kid!r}: not issued by this node")
        try:
            valid = jws.validate_compact(obj, key, registry=self._registry)
        except JoseError as exc:
            raise InvalidToken("token signature does not verify") from exc
        if not valid:
            raise InvalidToken("token signature does not verify")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        missing = [name for name in _REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise InvalidToken(f"token lacks required claims: {', '.join(missing)}")
        if claims["iss"] != self.node_id:
            raise InvalidToken(f"token issuer {claims['iss']!r} is not this node")
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
            raise InvalidToken("token exp and iat must be NumericDates")
        now = self._clock()
        if exp <= now:
            raise InvalidToken("token expired: get a new one from /oauth/token")
        if iat > now + self._leeway:
            raise InvalidToken("token issued in the future (iat)")
        client_id, sub, scope, org = (claims[n] for n in ("client_id", "sub", "scope", "org"))
        if not all(isinstance(v, str) and v for v in (client_id, org)) or sub != client_id:
            raise InvalidToken("token client_id, sub and org must be non-empty; sub = client_id")
        if not isinstance(scope, str):
            raise InvalidToken("token scope must be a space-separated string")
        scopes = frozenset(scope.split())
        unknown = scopes - set(SCOPES)
        if unknown:
            raise InvalidToken(f"token carries unknown scopes: {', '.join(sorted(unknown))}")
        return Principal(client_id=client_id, organisation_type=org, scopes=scopes)
