"""Node-assigned identifiers.

Random (uuid4, 32 hex characters): URL-safe, inside the spec's ``ResourceId`` pattern, and
free of meaning, so an id reveals neither creation order nor how many records a node holds.
"""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A fresh resource id."""
    return uuid.uuid4().hex
