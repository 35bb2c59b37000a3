"""Core class, pagination: page shape, default and clamped limit, cursor walks, bad cursors.

Pagination is a core rule, but core has no list to page through; the L0 lists are the ones
every node with the opportunities class has, so these checks need that class.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import pairwise

from openwerk_conformance.context import RunContext
from openwerk_conformance.listing import L0_LISTS, get_l0, item_ids, walk
from openwerk_conformance.probes import PUBLISHER, close_vacancy, publish_probe
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem, invalid_param_names
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.CORE)

_OPP = [ConformanceClass.OPPORTUNITIES]
#: Page size for the walk: small, so that even a small dataset spans several pages.
_WALK_LIMIT = 2
_MAX_LIMIT = 100
_DEFAULT_LIMIT = 20


def _next_href(body: object) -> str | None:
    links = body.get("links") if isinstance(body, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) else None


@CHECKS.check(
    id="PAGE-001",
    title="A list has items and links.self, 20 items by default, next only when more follow",
    requirements=["OW-PAGE-001", "OW-PAGE-003"],
    needs_classes=_OPP,
)
def page_shape(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    full = walk(ctx, "/vacancies", {"limit": _MAX_LIMIT})
    problems += full.problems
    exchange = get_l0(ctx, "/vacancies")
    body, found = expect_json(exchange, 200, "VacancyPage")
    problems += found
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return Outcome.of(problems)
    count, total = len(body["items"]), len(full.items)
    if count > _DEFAULT_LIMIT:
        problems.append(f"the default page holds {count} items, more than the default 20")
    elif full.complete and total > _DEFAULT_LIMIT and count != _DEFAULT_LIMIT:
        problems.append(f"{total} vacancies in all, but the default page holds {count}, not 20")
    has_next = _next_href(body) is not None
    if full.complete and has_next != (total > count):
        problems.append(
            f"the first page of {count} (of {total}) items "
            f"{'has' if has_next else 'lacks'} a next link"
        )
    return Outcome.of(problems, note=f"{total} vacancies")


@CHECKS.check(
    id="PAGE-002",
    title="A limit above 100 is clamped to 100, not refused",
    requirements=["OW-PAGE-003"],
    needs_classes=_OPP,
)
def limit_clamped(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for limit in ("101", "1000000000"):
        exchange = get_l0(ctx, "/vacancies", params={"limit": limit})
        body, found = expect_json(exchange, 200, "VacancyPage")
        problems += [f"limit={limit} must be clamped, not refused: {p}" for p in found]
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and len(items) > _MAX_LIMIT:
            problems.append(f"limit={limit} gave {len(items)} items, more than 100")
        elif isinstance(items, list) and len(items) < _MAX_LIMIT and _next_href(body):
            problems.append(
                f"limit={limit} gave {len(items)} items and a next link: not clamped to 100"
            )
    return Outcome.of(problems)


def _created(item: dict[str, object]) -> datetime | None:
    value = item.get("createdAt")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _walk_problems(ctx: RunContext, path: str) -> tuple[list[str], int]:
    page_schema = L0_LISTS[path][0]
    reference = walk(ctx, path, {"limit": _MAX_LIMIT}, page_schema=page_schema)
    if not reference.complete:
        return [f"{path}: the full listing failed: {'; '.join(reference.problems[:3])}"], 0
    expected = item_ids(reference.items)
    paged = walk(ctx, path, {"limit": _WALK_LIMIT}, page_schema=page_schema)
    problems = list(paged.problems)
    got = item_ids(paged.items)
    dupes = sorted(i for i, n in Counter(got).items() if n > 1)
    if dupes:
        problems.append(f"{path}: items repeated while paging: {', '.join(dupes[:10])}")
    gaps = sorted(set(expected) - set(got))
    if gaps:
        problems.append(f"{path}: items skipped while paging: {', '.join(gaps[:10])}")
    extra = sorted(set(got) - set(expected))
    if extra:
        problems.append(
            f"{path}: paging returned items the full listing lacks: {', '.join(extra[:10])}"
        )
    if not (dupes or gaps or extra) and got != expected:
        problems.append(f"{path}: paging returned the items in another order than the full listing")
    for page in paged.pages[:-1]:
        body = page.json()
        items = body.get("items") if isinstance(body, dict) else None
        if isinstance(items, list) and len(items) > _WALK_LIMIT:
            problems.append(
                f"{page.describe()}: {len(items)} items on a page of limit {_WALK_LIMIT}"
            )
    created = [_created(i) for i in reference.items]
    stamps = [c for c in created if c is not None]
    if any(a < b for a, b in pairwise(stamps)):
        problems.append(f"{path}: not ordered by createdAt descending")
    return problems, len(expected)


@CHECKS.check(
    id="PAGE-003",
    title="Following next returns every item once, in order; the last page has no next",
    requirements=["OW-PAGE-001", "OW-PAGE-002", "OW-PAGE-004"],
    needs_classes=_OPP,
)
def cursor_walk(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    totals: dict[str, int] = {}
    for path in L0_LISTS:
        found, totals[path] = _walk_problems(ctx, path)
        problems += found
    sizes = ", ".join(f"{path}: {total} items" for path, total in totals.items())
    if not problems and all(total <= _WALK_LIMIT for total in totals.values()):
        return Outcome.skip(f"too few items to page through ({sizes})")
    return Outcome.of(problems, note=sizes)


@CHECKS.check(
    id="PAGE-004",
    title="A cursor the node did not issue is 400 with invalidParams naming cursor",
    requirements=["OW-PAGE-006", "OW-ERR-002", "OW-ERR-003"],
    needs_classes=_OPP,
)
def invalid_cursor(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for cursor in ("not-a-cursor-openwerk", "eyJvZmZzZXQiOiAtMX0"):
        exchange = get_l0(ctx, "/vacancies", params={"cursor": cursor})
        problems += expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
        if exchange.status == 400 and "cursor" not in invalid_param_names(exchange):
            problems.append(f"{exchange.describe()}: invalidParams does not name 'cursor'")
    return Outcome.of(problems)


@CHECKS.check(
    id="PAGE-005",
    title="A vacancy published while a client pages makes no item repeat or go missing",
    requirements=["OW-PAGE-005", "OW-PAGE-002"],
    needs=[PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES, ConformanceClass.PUBLICATION],
)
def stable_while_writing(ctx: RunContext) -> Outcome:
    reference = walk(ctx, "/vacancies", {"limit": _MAX_LIMIT}, page_schema="VacancyPage")
    if not reference.complete:
        return Outcome.fail(*reference.problems[:3] or ["the full listing failed"])
    expected = item_ids(reference.items)
    if len(expected) <= _WALK_LIMIT:
        return Outcome.skip(f"too few vacancies to page through ({len(expected)})")
    first = get_l0(ctx, "/vacancies", params={"limit": _WALK_LIMIT})
    body, problems = expect_json(first, 200, "VacancyPage")
    href = _next_href(body)
    if problems or href is None:
        return Outcome.of(problems or [f"{first.describe()}: no next link on a partial page"])
    got = item_ids(body["items"])
    # A newer item goes to the front of the order, before the position the cursor holds.
    _, created = publish_probe(ctx, "paging")
    probe = created.json().get("id") if created.status == 201 and created.json() else None
    if probe is None:
        return Outcome.fail(f"{created.describe()}: the probe vacancy was refused")
    try:
        rest = walk(ctx, ctx.resolve(href), page_schema="VacancyPage")
    finally:
        close_vacancy(ctx, str(probe))
    problems += rest.problems
    got += [i for i in item_ids(rest.items) if i != probe]
    dupes = sorted(i for i, n in Counter(got).items() if n > 1)
    if dupes:
        problems.append(f"items repeated after a write during paging: {', '.join(dupes[:10])}")
    gaps = sorted(set(expected) - set(got))
    if gaps:
        problems.append(f"items skipped after a write during paging: {', '.join(gaps[:10])}")
    return Outcome.of(problems)
