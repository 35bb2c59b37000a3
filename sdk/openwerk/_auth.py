"""Access tokens: get one with a ``private_key_jwt`` assertion, keep it, renew it in time.

The token endpoint answers a short-lived bearer token (≤ 1 hour, OW-AUTH-007). Fetching one
costs a signature and a round trip, and every assertion burns a ``jti`` at the node, so the
client caches the token and renews it shortly before it expires — early by a tenth of its
lifetime, at most ``_MAX_EARLY`` seconds, so clock drift and request latency never make the
node see an expired one. A 401 on a call means the node no longer accepts the cached token
(rotated keys, restart): the client drops it and tries once more with a fresh one.

``TokenCache`` holds the state and parses the answer; the clients do the I/O and the locking
(a ``threading.Lock`` or an ``asyncio.Lock``), so both share one implementation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from openwerk._errors import AuthenticationError, error_from_response
from openwerk.assertions import ClientCredentials

__all__ = ["TokenCache"]

#: Renew at most this many seconds before expiry.
_MAX_EARLY = 30.0

#: The clock the cache reads; module-level so tests can move time without sleeping.
_clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float
    scope: str


class TokenCache:
    """The access token for one node, obtained with one member's credentials."""

    def __init__(self, credentials: ClientCredentials, *, scope: str | None = None) -> None:
        self.credentials = credentials
        self.scope = scope
        self._token: _Token | None = None

    @property
    def url(self) -> str:
        """The token endpoint (also the assertion's ``aud``)."""
        return self.credentials.token_endpoint

    def current(self) -> str | None:
        """The cached token if it is not due for renewal, else ``None``."""
        token = self._token
        if token is None or _clock() >= token.renew_at:
            return None
        return token.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (the node refused it); a newer token fetched meanwhile is kept."""
        if self._token is not None and self._token.value == value:
            self._token = None

    def request_form(self) -> dict[str, str]:
        """The form fields of a token request, with a freshly signed assertion."""
        try:
            return self.credentials.token_request(self.scope)
        except (ValueError, TypeError) as exc:
            raise AuthenticationError(
                f"could not sign a client assertion for {self.credentials.client_id}: {exc}"
            ) from exc

    def accept(self, response: httpx.Response) -> str:
        """Store the token the endpoint answered and return it; ``AuthenticationError`` if none."""
        if not response.is_success:
            api_error = error_from_response(response)
            problem = api_error.problem
            oauth_error = problem.get("error")
            reason = problem.get("error_description") or api_error.detail or api_error.title
            raise AuthenticationError(
                f"{self.url} refused a token to {self.credentials.client_id} "
                f"({response.status_code}{f' {oauth_error}' if oauth_error else ''}): {reason}",
                error=oauth_error if isinstance(oauth_error, str) else None,
                problem=problem,
            ) from api_error
        try:
            body = json.loads(response.content)
            value = body["access_token"]
            lifetime = float(body["expires_in"])
            token_type = body.get("token_type", "Bearer")
            if not isinstance(value, str) or not value or str(token_type).lower() != "bearer":
                raise ValueError("not a bearer token")
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                f"{self.url} answered {response.status_code} without a usable bearer token"
            ) from exc
        early = min(_MAX_EARLY, lifetime / 10)
        self._token = _Token(value, _clock() + lifetime - early, str(body.get("scope", "")))
        return value
