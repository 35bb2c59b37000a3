"""Which scopes a federation member gets at this node (OW-AUTH-008).

The directory gives each member roles; roles give scopes. ``publisher`` is special: it
grants ``publication:write`` only at the nodes listed in the member's ``publishesTo`` (a
custodian's own systems write to its own node, not to everyone's). A ``scope`` in the token
request can only narrow what the roles allow; asking for more is ``invalid_scope``.
"""

from __future__ import annotations

from collections.abc import Mapping

from openwerk.directory import Member
from openwerk_server.security import SCOPES, InvalidTokenRequest

__all__ = ["ROLE_SCOPES", "allowed_scopes", "grant_scopes"]

#: Role → scopes (``publisher`` additionally depends on ``publishesTo``).
ROLE_SCOPES: Mapping[str, frozenset[str]] = {
    "consumer": frozenset(
        {
            "opportunities:read",
            "statistics:read",
            "candidates:read",
            "introductions:write",
            "events:read",
        }
    ),
    "provider": frozenset({"opportunities:read"}),
    "gateway": frozenset({"opportunities:read", "candidates:read"}),
    "publisher": frozenset({"publication:write"}),
}


def allowed_scopes(member: Member, node_id: str) -> frozenset[str]:
    """Every scope ``member``'s directory roles allow at the node ``node_id``."""
    allowed: set[str] = set()
    for role in member.roles:
        if role == "publisher" and node_id not in (member.publishes_to or ()):
            continue
        allowed |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(allowed)


def _ordered(scopes: frozenset[str]) -> tuple[str, ...]:
    return tuple(s for s in SCOPES if s in scopes)


def grant_scopes(member: Member, node_id: str, requested: str | None) -> tuple[str, ...]:
    """The scopes to put in the access token, in ``SCOPES`` order.

    ``requested`` is the space-separated ``scope`` parameter, or None for "all allowed".
    Raises ``InvalidTokenRequest(oauth_error="invalid_scope")`` for an unknown scope, a
    scope the roles do not allow, or when nothing at all would be granted.
    """
    allowed = allowed_scopes(member, node_id)
    if requested is None:
        if not allowed:
            raise InvalidTokenRequest(
                f"{member.id!r} has no scopes at node {node_id!r}: its directory roles "
                f"({', '.join(member.roles)}) grant nothing here",
                oauth_error="invalid_scope",
            )
        return _ordered(allowed)
    asked = requested.split()
    if not asked:
        raise InvalidTokenRequest(
            "scope is empty: leave it out to get every scope your roles allow",
            oauth_error="invalid_scope",
        )
    for scope in asked:
        if scope not in SCOPES:
            raise InvalidTokenRequest(
                f"unknown scope {scope!r}; Open Werk scopes are {', '.join(SCOPES)}",
                oauth_error="invalid_scope",
            )
        if scope not in allowed:
            granted = ", ".join(_ordered(allowed)) or "none"
            raise InvalidTokenRequest(
                f"scope {scope!r} is not allowed for {member.id!r} at node {node_id!r}; "
                f"its directory roles ({', '.join(member.roles)}) allow: {granted}",
                oauth_error="invalid_scope",
            )
    return _ordered(frozenset(asked))
