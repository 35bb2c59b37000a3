"""Conformance classes of Open Werk v1.

Class URIs carry only the major version, so a client that understands v1 matches every
1.x node (spec/docs/versioning.md). Nodes declare them at ``GET /v1/conformance``; the
conformance suite selects its checks by them and the SDK gates features on them.
"""

from __future__ import annotations

from enum import StrEnum

CLASS_URI_PREFIX = "https://w3id.org/openwerk/v1/conf/"


class ConformanceClass(StrEnum):
    """One conformance class; the value is the short name used in code and CLIs."""

    CORE = "core"
    OPPORTUNITIES = "opportunities"
    CANDIDATES = "candidates"
    MATCHING = "matching"
    INTRODUCTIONS = "introductions"
    STATISTICS = "statistics"
    PUBLICATION = "publication"
    EVENTS = "events"
    FEDERATION = "federation"

    @property
    def uri(self) -> str:
        """The class URI a node lists in ``conformsTo``."""
        return CLASS_URI_PREFIX + self.value

    @classmethod
    def from_uri(cls, uri: str) -> ConformanceClass:
        """The class for a URI; ``ValueError`` for a URI that is not a v1 class."""
        if not uri.startswith(CLASS_URI_PREFIX):
            raise ValueError(f"not an Open Werk v1 conformance class URI: {uri}")
        return cls(uri.removeprefix(CLASS_URI_PREFIX))
