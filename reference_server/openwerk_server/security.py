"""Who is calling: the principal, the authenticator contract, and auth errors.

The HTTP layer extracts the bearer token; an ``Authenticator`` (the JWT access-token
verifier in ``openwerk_server.auth``) turns it into a ``Principal``. Keeping the contract
here lets routes depend on it without knowing how tokens are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

#: Scopes of Open Werk v1: one per disclosure tier, plus events and publication (spec/docs/auth.md).
SCOPES: tuple[str, ...] = (
    "opportunities:read",
    "statistics:read",
    "candidates:read",
    "introductions:write",
    "events:read",
    "publication:write",
)


@dataclass(frozen=True)
class Principal:
    """An authenticated federation member acting at this node."""

    client_id: str
    organisation_type: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has(self, scope: str) -> bool:
        """Whether the access token carries ``scope``."""
        return scope in self.scopes


class AuthError(Exception):
    """Base of authentication and authorisation failures.

    ``oauth_error`` is the RFC 6749 / RFC 6750 error code that goes into the problem body
    (token endpoint) or the ``WWW-Authenticate`` challenge (resource endpoints).
    """

    status = 401
    oauth_error = "invalid_token"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MissingToken(AuthError):
    """No bearer token where one is required."""

    oauth_error = "invalid_request"


class InvalidToken(AuthError):
    """A token that is malformed, badly signed, expired, or issued for another node."""


class InsufficientScope(AuthError):
    """A valid token without the scope the operation needs (403)."""

    status = 403
    oauth_error = "insufficient_scope"


class InvalidClient(AuthError):
    """Token endpoint: the client assertion is unacceptable (unknown client, bad signature,
    wrong audience, expired, too long-lived, replayed) — RFC 6749 ``invalid_client``, 401."""

    oauth_error = "invalid_client"


class InvalidTokenRequest(AuthError):
    """Token endpoint: the request itself is malformed — RFC 6749 ``invalid_request``, 400.

    ``oauth_error`` may be narrowed to ``unsupported_grant_type`` or ``invalid_scope``.
    """

    status = 400
    oauth_error = "invalid_request"

    def __init__(self, detail: str, oauth_error: str = "invalid_request") -> None:
        super().__init__(detail)
        self.oauth_error = oauth_error


class Authenticator(Protocol):
    """Turns a bearer access token into a principal, or raises ``InvalidToken``."""

    def authenticate(self, token: str) -> Principal:
        """Verify ``token`` for this node and return who it was issued to."""
        ...


class ReplayGuard(Protocol):
    """Remembers client-assertion ``jti`` values across every replica of a node.

    Implemented by the storage layer (a table with a unique key), never in process memory,
    so that replicas behind one load balancer refuse each other's replays (OW-AUTH-006).
    """

    def claim_jti(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record ``jti``; True if it was new, False if it was seen before (a replay)."""
        ...
