"""Authentication at a node: client assertions in, access tokens out, tokens checked.

- ``assertion``: verifies ``private_key_jwt`` client assertions against the directory;
- ``scopes``: directory roles → scopes;
- ``access_tokens``: issues and (statelessly) verifies RFC 9068 JWT access tokens;
- ``token_endpoint``: the ``/oauth/token`` logic; ``router``: its HTTP binding.
"""

from __future__ import annotations

from openwerk_server.auth.access_tokens import AccessTokenIssuer, AccessTokenVerifier
from openwerk_server.auth.assertion import AssertionVerifier
from openwerk_server.auth.router import build_token_router
from openwerk_server.auth.scopes import allowed_scopes, grant_scopes
from openwerk_server.auth.token_endpoint import TokenEndpoint

__all__ = [
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "AssertionVerifier",
    "TokenEndpoint",
    "allowed_scopes",
    "build_token_router",
    "grant_scopes",
]
