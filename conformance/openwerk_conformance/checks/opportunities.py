"""Opportunities class (L0): lists and fetches, filters, JSON-LD, task offers, no personal data."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from openwerk_conformance.context import RunContext
from openwerk_conformance.listing import L0_LISTS, get_l0, item_ids, walk
from openwerk_conformance.registry import FIXTURES, CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem, schema_problems
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.OPPORTUNITIES)

#: How many items per list are fetched one by one (enough to catch a broken detail route).
_FETCH_SAMPLE: Final = 25
_OPEN_STATUS: Final = {"/vacancies": "open", "/task-offers": "open", "/instruments": "active"}

Item = dict[str, Any]


@CHECKS.check(
    id="OPP-001",
    title="Vacancy, task offer and instrument lists validate and hold only this node's open items",
    requirements=["OW-CORE-006", "OW-OPP-004", "OW-OPP-003", "OW-PAGE-001"],
)
def lists_valid(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    node = ctx.node_id
    today = datetime.now(UTC).date()
    for path, (page_schema, _, _) in L0_LISTS.items():
        listing = walk(ctx, path, {"limit": 100}, page_schema=page_schema)
        problems += listing.problems
        for item in listing.items:
            ident = f"{path}/{item.get('id')}"
            if node is not None and item.get("publisher") != node:
                problems.append(
                    f"{ident}: publisher {item.get('publisher')!r}, this node is {node!r}"
                )
            if item.get("status") != _OPEN_STATUS[path]:
                problems.append(f"{ident}: status {item.get('status')!r} in the default list")
            through = _date(item.get("validThrough"))
            if (
                path != "/instruments"
                and through is not None
                and through < today - timedelta(days=1)
            ):
                problems.append(
                    f"{ident}: validThrough {through} has passed, yet it is listed open"
                )
    return Outcome.of(problems)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@CHECKS.check(
    id="OPP-002",
    title="Each listed item fetched by id validates and equals its list entry; unknown ids 404",
    requirements=["OW-CORE-006", "OW-OPP-004", "OW-ERR-004"],
)
def fetch_by_id(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for path, (page_schema, item_schema, template) in L0_LISTS.items():
        first = get_l0(ctx, path, params={"limit": _FETCH_SAMPLE})
        page, found = expect_json(first, 200, page_schema)
        problems += found
        items = page.get("items") if isinstance(page, dict) else None
        for item in [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []:
            exchange = get_l0(ctx, template.format(id=item.get("id")))
            body, found = expect_json(exchange, 200, item_schema)
            problems += found
            if isinstance(body, dict) and body != item:
                differing = sorted(k for k in set(body) | set(item) if body.get(k) != item.get(k))
                problems.append(
                    f"{exchange.describe()}: differs from its list entry in {', '.join(differing)}"
                )
        missing = get_l0(ctx, template.format(id="no-such-id-openwerk-conformance"))
        problems += expect_problem(missing, 404, code=ProblemCode.NOT_FOUND)
    return Outcome.of(problems)


# ---------------------------------------------------------------------------- filters


def _get(item: Item, *path: str) -> Any:
    value: Any = item
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _instant(value: Any) -> datetime | None:
    try:
        return (
            datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        )
    except ValueError:
        return None


Predicate = Callable[[Item], bool]


def _most_common(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def _isco_prefix(digits: str) -> Predicate:
    return lambda i: str(_get(i, "occupation", "isco08")).startswith(digits)


def _cases(items: list[Item]) -> Iterator[tuple[dict[str, str], Predicate]]:
    """Filter parameters with the predicate they must apply, drawn from the fixture data."""
    kind = _most_common([i.get("kind") for i in items])
    if kind is not None:
        yield {"kind": kind}, lambda i: i.get("kind") == kind
    gemeente = _most_common([_get(i, "location", "gemeente") for i in items])
    if gemeente is not None:
        yield {"gemeente": gemeente}, lambda i: _get(i, "location", "gemeente") == gemeente
    region = _most_common([_get(i, "location", "arbeidsmarktregio") for i in items])
    if region is not None:
        yield (
            {"arbeidsmarktregio": region},
            lambda i: _get(i, "location", "arbeidsmarktregio") == region,
        )
    isco = _most_common([_get(i, "occupation", "isco08") for i in items])
    if isinstance(isco, str):
        for digits in (isco[:2], isco):
            yield {"occupation": digits}, _isco_prefix(digits)
    esco = _most_common([_get(i, "occupation", "escoUri") for i in items])
    if isinstance(esco, str):
        yield {"occupation": esco}, lambda i: _get(i, "occupation", "escoUri") == esco
    yield (
        {"hoursMin": "32", "hoursMax": "40"},
        lambda i: (
            (_get(i, "hoursPerWeek", "min") or 0) <= 40
            and (_get(i, "hoursPerWeek", "max") or 0) >= 32
        ),
    )
    yield {"hoursMax": "16"}, lambda i: (_get(i, "hoursPerWeek", "min") or 0) <= 16
    stamps = sorted(s for s in (_instant(i.get("updatedAt")) for i in items) if s is not None)
    if stamps:
        middle = stamps[len(stamps) // 2]
        yield (
            {"updatedSince": middle.isoformat().replace("+00:00", "Z")},
            lambda i: (_instant(i.get("updatedAt")) or datetime.min.replace(tzinfo=UTC)) >= middle,
        )
    if kind is not None and gemeente is not None:
        yield (
            {"kind": kind, "gemeente": gemeente},
            lambda i: i.get("kind") == kind and _get(i, "location", "gemeente") == gemeente,
        )


def _filter_problems(ctx: RunContext, path: str, fixture_kind: str) -> list[str]:
    full = walk(ctx, path, {"limit": 100})
    if not full.complete:
        return [f"{path}: the unfiltered listing failed: {'; '.join(full.problems[:3])}"]
    fixture_ids = {f.node_id for f in ctx.fixtures_of(fixture_kind)}
    chosen = [i for i in full.items if i.get("id") in fixture_ids] or full.items
    problems: list[str] = []
    for params, predicate in _cases(chosen):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        expected = {i["id"] for i in full.items if "id" in i and predicate(i)}
        result = walk(ctx, path, {**params, "limit": 100})
        if not result.complete:
            problems += [f"{path}?{query}: {p}" for p in result.problems[:3]]
            continue
        got = set(item_ids(result.items))
        wrong = sorted(got - expected)
        missing = sorted(expected - got)
        if wrong:
            problems.append(
                f"{path}?{query} returned {len(wrong)} items that do not match: {wrong[:5]}"
            )
        if missing:
            problems.append(f"{path}?{query} left out {len(missing)} matching items: {missing[:5]}")
    return problems


@CHECKS.check(
    id="OPP-003",
    title="Filters (kind, gemeente, region, occupation, hours, updatedSince) select exactly",
    requirements=["OW-OPP-002"],
    needs=[FIXTURES],
)
def filters(ctx: RunContext) -> Outcome:
    problems = _filter_problems(ctx, "/vacancies", "vacancy")
    problems += _filter_problems(ctx, "/task-offers", "task-offer")
    return Outcome.of(problems)


@CHECKS.check(
    id="OPP-004",
    title="A vacancy fetched with Accept: application/ld+json is a schema.org JobPosting",
    requirements=["OW-OPP-005"],
)
def json_ld(ctx: RunContext) -> Outcome:
    first = get_l0(ctx, "/vacancies", params={"limit": 1})
    body, problems = expect_json(first, 200)
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return Outcome.of(problems) if problems else Outcome.skip("the node lists no vacancy")
    vacancy = items[0]
    exchange = get_l0(
        ctx, f"/vacancies/{vacancy.get('id')}", headers={"Accept": "application/ld+json"}
    )
    if exchange.status != 200:
        return Outcome.fail(f"{exchange.describe()}: expected 200 with a JobPosting")
    if exchange.media_type != "application/ld+json":
        problems.append(
            f"{exchange.describe()}: Content-Type {exchange.media_type!r}, not application/ld+json"
        )
    posting = exchange.json()
    problems += schema_problems(posting, "JobPosting", where=exchange.describe())
    if isinstance(posting, dict) and posting.get("title") != vacancy.get("title"):
        problems.append(
            f"JobPosting title {posting.get('title')!r} ≠ vacancy title {vacancy.get('title')!r}"
        )
    return Outcome.of(problems)


# ---------------------------------------------------------------------------- personal data

_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE: Final = re.compile(
    r"(?<![\w+])(?:\+31|0031|0)[\s-]?(?:\(0\)[\s-]?)?[1-9](?:[\s-]?\d){8}(?!\d)"
)
_NINE_DIGITS: Final = re.compile(r"(?<!\d)\d{9}(?!\d)")
_POSTCODE: Final = re.compile(r"(?<![\w])[1-9][0-9]{3}\s?(?!SA|SD|SS)[A-Z]{2}(?![\w])")
#: Members whose values are codes, ids, instants or URLs, not prose.
_NOT_PROSE: Final = frozenset(
    {
        "id",
        "publisher",
        "createdAt",
        "updatedAt",
        "closedAt",
        "validThrough",
        "startDate",
        "validFrom",
        "validUntil",
        "attestedOn",
        "kvkNumber",
        "sbiCode",
        "isco08",
        "escoUri",
        "uri",
        "url",
        "applicationUrl",
        "postcode4",
        "href",
    }
)


#: Member names that betray special-category or identifying data (OW-PRIV-001, OW-TIER-003).
_FORBIDDEN_MEMBERS: Final = frozenset(
    {
        "diagnosis",
        "diagnose",
        "healthcondition",
        "benefit",
        "benefittype",
        "uitkering",
        "loonwaarde",
        "gender",
        "geslacht",
        "sex",
        "nationality",
        "nationaliteit",
        "ethnicity",
        "religion",
        "criminalrecord",
        "bsn",
        "birthdate",
        "geboortedatum",
        "email",
        "phone",
    }
)


def _forbidden_members(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            if str(key).lower().replace("_", "").replace("-", "") in _FORBIDDEN_MEMBERS:
                yield f"{where}.{key}: a member that no L0 resource may have"
            yield from _forbidden_members(sub, f"{where}.{key}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _forbidden_members(sub, f"{where}[{index}]")


def _elfproef(digits: str) -> bool:
    """The BSN check (elfproef): 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11)."""
    if set(digits) == {"0"}:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            if key not in _NOT_PROSE:
                yield from _strings(sub, f"{where}.{key}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _strings(sub, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value


def personal_data(value: Any, where: str) -> list[str]:
    """Email addresses, phone numbers, BSNs and full postcodes found in a document's prose,
    and members named for special-category data."""
    found: list[str] = list(_forbidden_members(value, where))
    for place, text in _strings(value, where):
        for label, pattern in (
            ("email address", _EMAIL),
            ("phone number", _PHONE),
            ("full postcode", _POSTCODE),
        ):
            match = pattern.search(text)
            if match:
                found.append(f"{place}: looks like a {label} ({match.group(0)!r})")
        for match in _NINE_DIGITS.finditer(text):
            if _elfproef(match.group(0)):
                found.append(f"{place}: looks like a BSN ({match.group(0)!r})")
    return found


@CHECKS.check(
    id="OPP-005",
    title="L0 responses carry no personal or special-category data (email, phone, BSN, ...)",
    requirements=["OW-OPP-001", "OW-TIER-003", "OW-PRIV-001"],
)
def no_personal_data(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for path, (page_schema, _, _) in L0_LISTS.items():
        listing = walk(ctx, path, {"limit": 100}, page_schema=page_schema)
        for item in listing.items:
            problems += personal_data(item, f"{path}/{item.get('id')}")
    return Outcome.of(problems)


@CHECKS.check(
    id="OPP-006",
    title="Task offers describe tasks, who asked for the work, and attest non-displacement",
    requirements=["OW-OPP-006", "OW-OPP-007"],
)
def task_offers(ctx: RunContext) -> Outcome:
    listing = walk(ctx, "/task-offers", {"limit": 100})
    problems = list(listing.problems)
    if not listing.items and not problems:
        return Outcome.skip("the node lists no task offer")
    for item in listing.items:
        ident = f"/task-offers/{item.get('id')}"
        tasks = item.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            problems.append(f"{ident}: no tasks")
        if not item.get("requestedBy"):
            problems.append(f"{ident}: no requestedBy")
        attestation = item.get("nonDisplacement")
        if not isinstance(attestation, dict) or attestation.get("additional") is not True:
            problems.append(f"{ident}: no non-displacement attestation with additional: true")
        elif not attestation.get("attestedBy") or not attestation.get("attestedOn"):
            problems.append(f"{ident}: the attestation lacks attestedBy or attestedOn")
    return Outcome.of(problems)


@CHECKS.check(
    id="OPP-007",
    title="L0 is served without a token when the landing page says publicOpportunities: true",
    requirements=["OW-AUTH-012", "OW-AUTH-009"],
)
def public_access(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for path in L0_LISTS:
        exchange = ctx.fetch("GET", path)
        if ctx.public_opportunities:
            _, found = expect_json(exchange, 200, L0_LISTS[path][0])
            problems += [f"publicOpportunities is true, but {p}" for p in found]
        else:
            problems += expect_problem(exchange, 401)
    return Outcome.of(problems)
