"""Reading the protected lists as one client: candidate cards, custodian records, consents.

:func:`openwerk_conformance.listing.walk` reads L0 lists as the node allows them to be read
(anonymously where it may). The privacy checks read as a *particular* client — each consumer
sees its own cards, only the publisher sees records — so they page with a token of their
choosing, following ``links.next.href`` unchanged as OW-PAGE-002 prescribes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.listing import Walk, walk

__all__ = [
    "CONSUMERS",
    "READ_SCOPE",
    "WRITE_SCOPE",
    "fingerprint",
    "walk_as",
]

#: The two consumers of the fixture dataset (spec/v1/fixtures/README.md).
CONSUMERS: Final = ("consumer-a", "consumer-b")
READ_SCOPE: Final = "candidates:read"
WRITE_SCOPE: Final = "publication:write"


def walk_as(
    ctx: RunContext,
    path: str,
    client: str,
    scope: str,
    params: Mapping[str, str | int] | None = None,
    *,
    page_schema: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Walk:
    """Every item of a list read as ``client`` with ``scope``, page by page."""

    def get(url: str, query: Mapping[str, str | int] | None) -> Exchange:
        return ctx.fetch(
            "GET", url, client=client, scope=scope, params=dict(query or {}), headers=headers
        )

    return walk(ctx, path, params, page_schema=page_schema, get=get)


def fingerprint(card: Mapping[str, Any]) -> str:
    """The dataset's fingerprint of a card or a record (fixtures/README.md, ``fingerprints``).

    Computed over the fields an L2 card carries verbatim, so the same function applied to a
    fixture record and to the card a node serves for it gives the same value; that is how the
    suite tells which card is which candidate without knowing any pseudonym.
    """

    def pairs(name: str, *members: str) -> list[Any]:
        values = card.get(name)
        out: list[Any] = []
        for item in values if isinstance(values, list) else []:
            if isinstance(item, dict):
                picked = [item.get(m) for m in members]
                out.append(picked[0] if len(members) == 1 else picked)
        return out

    hours = card.get("hoursPerWeek")
    hours = hours if isinstance(hours, dict) else {}
    kinds = card.get("wantedKinds")
    canonical = {
        "desiredOccupations": sorted(
            str(uri if uri is not None else isco)
            for uri, isco in pairs("desiredOccupations", "escoUri", "isco08")
        ),
        "skills": sorted(str(v) for v in pairs("skills", "label")),
        "hoursPerWeek": [hours.get("min"), hours.get("max")],
        "languages": sorted(
            [str(c), str(level)] for c, level in pairs("languages", "code", "level")
        ),
        "wantedKinds": sorted(str(k) for k in kinds) if isinstance(kinds, list) else [],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
