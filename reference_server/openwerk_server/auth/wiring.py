"""Build a node's authentication from its settings: directory, keys, token endpoint.

A node trusts what its signed directory says (members, roles, keys) and nothing else. The
directory is verified against the pinned operator key at start — a node refuses to start
on a tampered, expired or foreign directory (OW-FED-002) — and re-read when it expires.
Access tokens are verified with the node's own public key, so every replica behind a load
balancer accepts every other replica's tokens; replay protection lives in the shared
database (``Store.claim_jti``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openwerk.assertions import token_endpoint_for
from openwerk.directory import DirectoryCache
from openwerk.keys import load_jwks, load_private_key, public_jwk
from openwerk_server.auth.access_tokens import AccessTokenIssuer, AccessTokenVerifier
from openwerk_server.auth.assertion import AssertionVerifier
from openwerk_server.auth.token_endpoint import TokenEndpoint
from openwerk_server.security import ReplayGuard


@dataclass(frozen=True)
class NodeAuth:
    """What a node needs to issue and check tokens."""

    directory: DirectoryCache
    token_endpoint: TokenEndpoint
    authenticator: AccessTokenVerifier


class AuthConfigurationError(ValueError):
    """The node's keys or directory are missing or unusable; the message says which."""


def build_node_auth(
    *,
    node_id: str,
    base_url: str,
    node_key_path: Path | None,
    directory_path: Path | str | None,
    operator_key_path: Path | None,
    access_token_ttl_seconds: int,
    replay_guard: ReplayGuard,
) -> NodeAuth | None:
    """The node's auth, or None when none of the three files is configured (development).

    Configuring some but not all of them is an error: a half-configured node would look
    secured and answer 401 to everyone.
    """
    given = {
        "node_key_path": node_key_path,
        "directory_path": directory_path,
        "operator_key_path": operator_key_path,
    }
    if all(value is None for value in given.values()):
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise AuthConfigurationError(
            f"{', '.join(missing)} not set: a node needs its key, the signed directory and "
            "the operator's public key together (see `openwerk sandbox` for a working set)"
        )
    assert node_key_path is not None
    assert directory_path is not None
    assert operator_key_path is not None
    node_key = load_private_key(node_key_path)
    directory = DirectoryCache(str(directory_path), load_jwks(operator_key_path))
    current = directory.get()  # refuse to start on a bad directory
    if current.member(node_id) is None:
        raise AuthConfigurationError(
            f"node_id {node_id!r} is not a member of the directory signed by {current.iss!r}"
        )
    verifier = AssertionVerifier(directory, token_endpoint_for(base_url), replay_guard)
    issuer = AccessTokenIssuer(node_id, node_key, access_token_ttl_seconds)
    return NodeAuth(
        directory=directory,
        token_endpoint=TokenEndpoint(verifier, issuer, node_id),
        authenticator=AccessTokenVerifier(node_id, public_jwk(node_key)),
    )
