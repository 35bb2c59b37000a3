"""Reading L0 lists: with or without a token as the node requires, and walking cursor pages.

Several checks (pagination, opportunities, publication, fixtures) need "every item of this
list"; :func:`walk` follows ``links.next.href`` unchanged, as OW-PAGE-002 says a client must,
and reports what went wrong on the way instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.schema import expect_json

__all__ = ["L0_LISTS", "MAX_PAGES", "PageGetter", "Walk", "get_l0", "item_ids", "walk"]

#: L0 list path → (page schema, item schema, fetch path template).
L0_LISTS: Final[dict[str, tuple[str, str, str]]] = {
    "/vacancies": ("VacancyPage", "Vacancy", "/vacancies/{id}"),
    "/task-offers": ("TaskOfferPage", "TaskOffer", "/task-offers/{id}"),
    "/instruments": ("InstrumentPage", "Instrument", "/instruments/{id}"),
}

#: A walk stops here; a node that never ends its pages is reported, not followed forever.
MAX_PAGES: Final = 500


def get_l0(
    ctx: RunContext,
    path: str,
    params: Mapping[str, str | int] | list[tuple[str, str | int]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Exchange:
    """GET an L0 path, with a consumer token only when the node does not serve L0 publicly."""
    if ctx.public_opportunities:
        return ctx.fetch("GET", path, params=params, headers=headers)
    return ctx.fetch(
        "GET", path, client="consumer-a", scope="opportunities:read", params=params, headers=headers
    )


@dataclass
class Walk:
    """The outcome of following a list's pages."""

    items: list[dict[str, Any]] = field(default_factory=list)
    pages: list[Exchange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Whether the last page was reached (no ``next``) without a problem.
    complete: bool = False


#: How a walk asks for a page: (path or absolute href, query parameters or None) → exchange.
PageGetter = Callable[[str, Mapping[str, str | int] | None], Exchange]


def walk(
    ctx: RunContext,
    path: str,
    params: Mapping[str, str | int] | None = None,
    *,
    page_schema: str | None = None,
    max_pages: int = MAX_PAGES,
    get: PageGetter | None = None,
) -> Walk:
    """Every item of a list: the first page with ``params``, then each ``next`` href unchanged.

    ``get`` asks for one page; by default as the L0 lists allow (:func:`get_l0`), so callers
    reading as a particular client pass their own.
    """

    def l0(url: str, query: Mapping[str, str | int] | None) -> Exchange:
        return get_l0(ctx, url, params=dict(query or {}))

    fetch = get or l0
    result = Walk()
    exchange = fetch(path, params)
    for _ in range(max_pages):
        result.pages.append(exchange)
        body, problems = expect_json(exchange, 200, page_schema)
        if not isinstance(body, dict) or exchange.status != 200:
            result.problems += problems or [f"{exchange.describe()}: not a page object"]
            return result
        result.problems += problems
        items = body.get("items")
        if not isinstance(items, list):
            result.problems.append(f"{exchange.describe()}: no items array")
            return result
        result.items += [i for i in items if isinstance(i, dict)]
        links = body.get("links")
        nxt = links.get("next") if isinstance(links, dict) else None
        href = nxt.get("href") if isinstance(nxt, dict) else None
        if not isinstance(href, str):
            result.complete = not result.problems
            return result
        exchange = fetch(ctx.resolve(href), None)
    result.problems.append(f"{path}: still a next link after {max_pages} pages")
    return result


def item_ids(items: list[dict[str, Any]]) -> list[str]:
    """The ``id`` of each item (``<no id>`` where missing, so counts stay honest)."""
    return [str(i.get("id", "<no id>")) for i in items]
