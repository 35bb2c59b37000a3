"""The token endpoint's logic: a form in, a ``TokenResponse`` body out (no HTTP here).

Client credentials grant with ``private_key_jwt`` only (RFC 6749 §4.4, RFC 7521 §4.2,
RFC 7523 §2.2). The HTTP layer (``router.py``) parses the form and maps the raised
``AuthError``\\ s to problem+json with the RFC 6749 ``error`` member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openwerk.assertions import CLIENT_ASSERTION_TYPE, GRANT_TYPE
from openwerk_server.auth.access_tokens import AccessTokenIssuer
from openwerk_server.auth.assertion import AssertionVerifier
from openwerk_server.auth.scopes import grant_scopes
from openwerk_server.security import InvalidClient, InvalidTokenRequest

__all__ = ["MAX_ASSERTION_LENGTH", "MAX_SCOPE_LENGTH", "TokenEndpoint"]

#: Limits from the spec's TokenRequest schema.
MAX_ASSERTION_LENGTH = 8192
MAX_SCOPE_LENGTH = 512

FormValue = str | Sequence[str]


def _optional(form: Mapping[str, FormValue], name: str) -> str | None:
    """One value of a form field, or None.

    RFC 6749 §3.1: a parameter sent without a value counts as omitted; §3.2: a parameter
    must not be included more than once.
    """
    raw = form.get(name)
    if raw is None or isinstance(raw, str):
        return raw or None
    values = list(raw)
    if len(values) > 1:
        raise InvalidTokenRequest(f"{name} is given {len(values)} times; give it once")
    return values[0] if values and values[0] else None


def _required(form: Mapping[str, FormValue], name: str) -> str:
    value = _optional(form, name)
    if value is None:
        raise InvalidTokenRequest(f"{name} is missing")
    return value


class TokenEndpoint:
    """Turns a token request into a token response, or raises an ``AuthError``."""

    def __init__(self, verifier: AssertionVerifier, issuer: AccessTokenIssuer, node_id: str):
        self.verifier = verifier
        self.issuer = issuer
        self.node_id = node_id

    def handle(self, form: Mapping[str, FormValue]) -> dict[str, Any]:
        """The ``TokenResponse`` body for ``form`` (field name → value, or list of values)."""
        grant_type = _required(form, "grant_type")
        if grant_type != GRANT_TYPE:
            raise InvalidTokenRequest(
                f"grant_type {grant_type!r} is not supported; use {GRANT_TYPE!r}",
                oauth_error="unsupported_grant_type",
            )
        if _required(form, "client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise InvalidTokenRequest(
                f"client_assertion_type must be {CLIENT_ASSERTION_TYPE!r} (private_key_jwt)"
            )
        assertion = _required(form, "client_assertion")
        scope = _optional(form, "scope")
        client_id = _optional(form, "client_id")
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise InvalidTokenRequest(
                f"client_assertion must be 1..{MAX_ASSERTION_LENGTH} characters"
            )
        if scope is not None and len(scope) > MAX_SCOPE_LENGTH:
            raise InvalidTokenRequest(f"scope must be at most {MAX_SCOPE_LENGTH} characters")
        member = self.verifier.verify(assertion)
        if client_id is not None and client_id != member.id:
            # RFC 7521 §4.2: an optional client_id must name the assertion's subject.
            raise InvalidClient(
                f"client_id {client_id!r} does not match the assertion's iss {member.id!r}"
            )
        scopes = grant_scopes(member, self.node_id, scope)
        issued = self.issuer.issue(member, scopes)
        return {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }
