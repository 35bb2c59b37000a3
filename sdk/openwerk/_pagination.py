"""Pages and the rules for following ``links.next``.

Open Werk lists are cursor-paged: a page is ``{items, links: {self, next?}}`` and the client
follows ``next.href`` unchanged until it is absent (OW-PAGE-001, OW-PAGE-002). The href may be
absolute or relative; it is resolved against the URL of the page it came on (RFC 3986).

Following links is where a buggy or hostile node can hurt a client, so ``LinkGuard`` refuses
two things with ``PaginationError``: a ``next`` that points at a page already fetched in this
iteration (it would loop forever), and one on another origin (the client would send its
bearer token there). Both checks are pure, so the sync and async clients share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import ValidationError

from openwerk._errors import InvalidResponseError, PaginationError
from openwerk._models import NodeStatus
from openwerk._transport import json_value

__all__ = ["LinkGuard", "Page", "next_href", "page_parser", "same_origin"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the absolute URL of the next page, if any.

    ``partial`` and ``nodes`` are set on a gateway's federated answers: which providers
    contributed and whether any is missing.
    """

    items: list[T]
    next_url: str | None = None
    url: str | None = None
    partial: bool | None = None
    nodes: list[NodeStatus] = field(default_factory=list)
    #: How items of the following pages are parsed; lets ``client.next_page(page)`` work.
    parse_item: Callable[[Any], T] | None = field(default=None, repr=False, compare=False)

    @property
    def has_next(self) -> bool:
        """Whether the node says more items follow."""
        return self.next_url is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


def next_href(body: Any, url: str) -> str | None:
    """The absolute URL of ``links.next.href`` in ``body`` (fetched from ``url``), or ``None``."""
    links = body.get("links") if isinstance(body, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if not isinstance(href, str) or not href:
        return None
    return str(httpx.URL(url).join(href))


def page_parser(parse_item: Callable[[Any], T]) -> Callable[[bytes, str], Page[T]]:
    """A function turning a page body (fetched from a URL) into a ``Page`` of parsed items."""

    def parse(content: bytes, url: str) -> Page[T]:
        body = json_value(content)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise InvalidResponseError(f"{url} did not answer a page (an object with 'items')")
        try:
            nodes = [NodeStatus.model_validate(n) for n in body.get("nodes") or []]
        except ValidationError as exc:
            raise InvalidResponseError(f"{url} answered malformed federation 'nodes'") from exc
        partial = body.get("partial")
        return Page(
            items=[parse_item(item) for item in body["items"]],
            next_url=next_href(body, url),
            url=url,
            partial=partial if isinstance(partial, bool) else None,
            nodes=nodes,
            parse_item=parse_item,
        )

    return parse


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Whether two URLs share scheme, host and port (the origin a token may be sent to)."""
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class LinkGuard:
    """Remembers the pages of one iteration and vets each ``next`` before it is followed."""

    def __init__(self, base_url: str) -> None:
        self._origin = httpx.URL(base_url)
        self._seen: set[str] = set()

    def fetched(self, url: str) -> None:
        """Record a URL this iteration has fetched."""
        self._seen.add(str(httpx.URL(url)))

    def check(self, url: str) -> str:
        """``url`` if it is safe to follow, else ``PaginationError``."""
        target = httpx.URL(url)
        if not same_origin(target, self._origin):
            raise PaginationError(
                f"the node's next link {url} leaves {self._origin.scheme}://{self._origin.host}; "
                "not following it (the access token would go to another origin)"
            )
        if str(target) in self._seen:
            raise PaginationError(
                f"the node's next link {url} points at a page already fetched; "
                "stopping instead of looping forever"
            )
        return url
