"""Building success responses: compact JSON, pages with links, ``Location`` for creations.

Pages can be assembled from items already rendered as JSON (``fragment_page_response``): the
hot read paths keep each stored document's rendering (``storage.rendering``) or each card's
(``PublishedView.rendered``), so a page costs a join of bytes instead of decoding and
re-encoding every document on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from openwerk_server.jsontext import json_bytes
from openwerk_server.pagination import CursorCodec, page_links
from openwerk_server.storage import Page

__all__ = [
    "created",
    "fragment_page_response",
    "json_bytes",
    "json_response",
    "page_response",
]

T = TypeVar("T")


def json_response(
    content: Any,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """UTF-8 JSON without ASCII escaping (Dutch names stay readable) or padding."""
    return Response(
        json_bytes(content), status_code=status_code, headers=headers, media_type=media_type
    )


def fragment_page_response(fragments: Sequence[bytes], links: Mapping[str, Any]) -> Response:
    """``{"items": [...], "links": {...}}`` from items each already rendered by ``json_bytes``.

    The result is byte for byte what ``json_response({"items": items, "links": links})``
    gives for the decoded items (``tests/server/test_rendering.py``).
    """
    body = b"".join((b'{"items":[', b",".join(fragments), b'],"links":', json_bytes(links), b"}"))
    return Response(body, media_type="application/json")


def created(document: Mapping[str, Any], location: str) -> Response:
    """201 with the new resource and its ``Location``."""
    return json_response(dict(document), status_code=201, headers={"Location": location})


def page_response(
    request: Request,
    page: Page[T],
    render: Callable[[T], Mapping[str, Any]],
    *,
    listing: str,
    base_url: str,
    limit: int,
    cursors: CursorCodec,
) -> Response:
    """``{items, links}``; ``links.next`` carries a signed cursor after the last item."""
    next_cursor = cursors.encode(listing, page.next_key) if page.next_key is not None else None
    return json_response(
        {
            "items": [render(item) for item in page.items],
            "links": page_links(request, base_url=base_url, limit=limit, next_cursor=next_cursor),
        }
    )
