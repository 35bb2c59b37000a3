"""Verification of ``private_key_jwt`` client assertions at the token endpoint (RFC 7523).

A client assertion is trusted only when every check below passes, in this order, so that a
forged or malformed assertion never reaches the replay table (it cannot burn someone
else's ``jti``):

1. it parses as a JWS compact serialization and its ``alg`` is asymmetric (never ``none``
   or ``HS*``: an HMAC "signed" with a public key proves nothing) (OW-AUTH-002);
2. ``iss`` = ``sub`` = the id of a member in the verified directory (OW-AUTH-002, -003);
3. the signature verifies against that member's directory JWKS, ``kid`` match (OW-AUTH-002);
4. ``aud`` is this token endpoint's URL (OW-AUTH-004);
5. ``exp`` is present, not past, and at most 5 minutes ahead; ``iat``/``nbf`` not in the
   future (OW-AUTH-005), each with ``leeway`` for clock skew;
6. ``jti`` is present and claimed through the shared ``ReplayGuard`` (OW-AUTH-006), which
   remembers it until ``exp + leeway``, as long as the assertion could be accepted.

Every failure is ``InvalidClient`` with a detail that tells the client what to fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from openwerk.directory import Directory, Member
from openwerk_server.security import InvalidClient, ReplayGuard

__all__ = ["ASSERTION_ALGORITHMS", "AssertionVerifier"]

#: Asymmetric JWS algorithms a client may sign with. ES256 is what the SDK uses.
ASSERTION_ALGORITHMS: tuple[str, ...] = (
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "RS256",
    "Ed25519",
)
_MAX_JTI_LENGTH = 256


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"{name} must be a NumericDate (seconds since the epoch)")
    return float(value)


class AssertionVerifier:
    """Checks client assertions against the directory; ``verify`` returns the member."""

    def __init__(
        self,
        directory_source: Callable[[], Directory],
        token_endpoint_url: str,
        replay_guard: ReplayGuard,
        *,
        max_lifetime: int = 300,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory_source
        self.token_endpoint_url = token_endpoint_url
        self._replay_guard = replay_guard
        self._max_lifetime = max_lifetime
        self._leeway = leeway
        self._clock = clock
        self._registry = jws.JWSRegistry(algorithms=list(ASSERTION_ALGORITHMS))

    def verify(self, assertion: str) -> Member:
        """The directory member that signed ``assertion``; ``InvalidClient`` otherwise."""
        try:
            obj = jws.extract_compact(assertion.encode("ascii"), registry=self._registry)
        except (JoseError, ValueError) as exc:
            raise InvalidClient(
                "client_assertion is not a JWS compact serialization (a signed JWT)"
            ) from exc
        header = obj.headers()
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise InvalidClient(
                f"alg {alg!r} is not accepted: sign the assertion with an asymmetric key "
                f"listed for you in the directory ({', '.join(ASSERTION_ALGORITHMS)})"
            )
        claims = self._claims(obj.payload)
        member = self._member(claims)
        self._check_signature(obj, header, member)
        exp = self._check_claims(claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
            raise InvalidClient(
                f"jti is missing or invalid: give every assertion a unique id "
                f"(a string of at most {_MAX_JTI_LENGTH} characters)"
            )
        # Remember the jti until the assertion could no longer be accepted anyway.
        expires_at = datetime.fromtimestamp(exp + self._leeway, UTC)
        if not self._replay_guard.claim_jti(member.id, jti, expires_at):
            raise InvalidClient("assertion replayed (jti already used): sign a new assertion")
        return member

    @staticmethod
    def _claims(payload: bytes) -> dict[str, Any]:
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidClient("client_assertion payload is not a JSON object") from exc
        if not isinstance(claims, dict):
            raise InvalidClient("client_assertion payload is not a JSON object")
        return claims

    def _member(self, claims: dict[str, Any]) -> Member:
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(iss, str) or not iss:
            raise InvalidClient("iss is missing: set iss and sub to your member id")
        if sub != iss:
            raise InvalidClient(
                f"sub must equal iss ({iss!r}): both are your member id in the directory"
            )
        member = self._directory().member(iss)
        if member is None:
            raise InvalidClient(f"unknown client {iss!r}: not a member of the federation directory")
        return member

    def _check_signature(self, obj: Any, header: dict[str, Any], member: Member) -> None:
        not_verified = (
            f"signature does not verify against the keys of {member.id!r} in the directory"
        )
        try:
            keys = member.key_set()
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidClient(f"the directory lists no usable keys for {member.id!r}") from exc
        kid = header.get("kid")
        key = self._key_for(keys, kid)
        if key is None:
            raise InvalidClient(
                f"{not_verified}: no key with kid {kid!r} is listed for {member.id!r}"
                if kid is not None
                else f"{not_verified}: put the kid of your directory key in the header"
            )
        if key.get("use") not in (None, "sig"):
            raise InvalidClient(f"{not_verified}: key {key.kid!r} is not a signing key")
        try:
            valid = jws.validate_compact(obj, key, registry=self._registry)
        except JoseError as exc:
            # e.g. an ES256 header over an RSA key: the alg does not fit the listed key.
            raise InvalidClient(f"{not_verified} ({exc.description or exc.error})") from exc
        if not valid:
            raise InvalidClient(not_verified)

    @staticmethod
    def _key_for(keys: KeySet, kid: object) -> Any:
        if kid is None:
            # Without a kid only an unambiguous single key will do.
            return keys.keys[0] if len(keys.keys) == 1 else None
        return next((k for k in keys if k.kid == kid), None)

    def _check_claims(self, claims: dict[str, Any]) -> float:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.token_endpoint_url not in audiences:
            raise InvalidClient(f"aud must be {self.token_endpoint_url} (this token endpoint)")
        now = self._clock()
        exp = _number(claims, "exp")
        if exp is None:
            raise InvalidClient("exp is missing: assertions must expire (at most 5 minutes ahead)")
        if exp <= now - self._leeway:
            raise InvalidClient(f"assertion expired {int(now - exp)} s ago: sign a new one")
        if exp - now > self._max_lifetime + self._leeway:
            raise InvalidClient(
                f"exp at most 5 minutes ahead ({self._max_lifetime} s); this assertion's exp "
                f"is {int(exp - now)} s ahead"
            )
        for name in ("iat", "nbf"):
            moment = _number(claims, name)
            if moment is not None and moment > now + self._leeway:
                raise InvalidClient(f"{name} is in the future: check your clock")
        return exp
