"""Content negotiation: which of an operation's media types an ``Accept`` header admits.

Every operation offers the media types its success responses declare in the spec; a request
whose ``Accept`` admits none of them is a 406 (OW-ERR-005). Problem details are always
``application/problem+json`` whatever ``Accept`` says: the client must be able to read them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from openwerk_spec.openapi import operation

__all__ = ["choose", "offered_media_types"]


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def _quality(offer: str, ranges: Sequence[tuple[str, float]]) -> float:
    """The q of the most specific range matching ``offer`` (RFC 9110 §12.5.1); 0 if none."""
    kind = offer.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for media, quality in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def choose(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer to serve: highest q, the operation's own order on ties; None means 406."""
    if not offers:
        return None
    if accept is None or not accept.strip():
        return offers[0]
    ranges = _ranges(accept)
    scored = [(_quality(offer, ranges), -index, offer) for index, offer in enumerate(offers)]
    quality, _, offer = max(scored)
    return offer if quality > 0 else None


@functools.cache
def offered_media_types(operation_id: str) -> tuple[str, ...]:
    """Media types of the operation's 2xx responses, in the spec's order (empty for 204)."""
    _method, _path, op = operation(operation_id)
    found: list[str] = []
    for status, response in op.get("responses", {}).items():
        if str(status).startswith("2"):
            for media in response.get("content", {}):
                if media not in found:
                    found.append(media)
    return tuple(found)
