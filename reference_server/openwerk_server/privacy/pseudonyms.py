"""Pseudonyms per (node, consumer, candidate) — OW-PSEUDO-001..004.

``HMAC-SHA256(node secret, client_id ":" internal id)``, base64url without padding, first
22 characters (132 bits). Stable for one consumer, so it can come back for an introduction;
unlinkable between consumers, because without the node secret two consumers' pseudonyms
for one candidate share nothing; unlinkable between nodes, because each node has its own
secret. A pseudonym carries no information the node must keep: it is recomputed, never
stored, and resolved only against the set the calling consumer may see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PSEUDONYM_LENGTH = 22


def pseudonym(secret: bytes, client_id: str, internal_id: str) -> str:
    """The pseudonym of candidate ``internal_id`` for consumer ``client_id`` at this node."""
    if not secret:
        raise ValueError("the pseudonym secret must not be empty")
    mac = hmac.new(secret, f"{client_id}:{internal_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")[:PSEUDONYM_LENGTH]
