"""Core class: landing page, conformance declaration, OpenAPI document, code lists, API-Version."""

from __future__ import annotations

from typing import Any

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.schema import api_version_problems, expect_json, spec_major
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.codelists import CODE_LIST_NAMES, as_json
from openwerk_spec.openapi import load_openapi, operations

CHECKS = CheckSet(ConformanceClass.CORE)

#: Paths the landing page must link to (OW-CORE-001), relative to the base URL.
_LANDING_LINK_TARGETS = ("/conformance", "/openapi.json", "/code-lists")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _relative(ctx: RunContext, href: str) -> str:
    """An href as a path relative to the node's base URL (``/conformance``), query dropped."""
    absolute = ctx.resolve(href).split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if absolute.startswith(ctx.base_url):
        return absolute[len(ctx.base_url) :] or "/"
    return absolute


@CHECKS.check(
    id="CORE-001",
    title="The landing page is valid, public, declares core and links to the core resources",
    requirements=["OW-CORE-001", "OW-CORE-007"],
)
def landing_page(ctx: RunContext) -> Outcome:
    exchange = ctx.fetch("GET", "/", follow_redirects=True)
    body, problems = expect_json(exchange, 200, "LandingPage")
    if not isinstance(body, dict):
        return Outcome.of(problems)
    conforms = body.get("conformsTo")
    if not isinstance(conforms, list) or ConformanceClass.CORE.uri not in conforms:
        problems.append(f"conformsTo does not list {ConformanceClass.CORE.uri}")
    version = body.get("specVersion")
    if isinstance(version, str) and version.split(".", 1)[0] != spec_major():
        problems.append(f"specVersion {version!r} is not a {spec_major()}.x version")
    links = _list(body.get("links"))
    targets = {
        _relative(ctx, link["href"])
        for link in links
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    }
    for target in _LANDING_LINK_TARGETS:
        if target not in targets:
            problems.append(f"no link to {target} (links go to {sorted(targets) or 'nothing'})")
    return Outcome.of(problems)


@CHECKS.check(
    id="CORE-002",
    title="/conformance is valid, public, includes core and equals the landing page's conformsTo",
    requirements=["OW-CORE-002", "OW-CORE-007"],
)
def conformance_declaration(ctx: RunContext) -> Outcome:
    exchange = ctx.fetch("GET", "/conformance")
    body, problems = expect_json(exchange, 200, "Conformance")
    if not isinstance(body, dict):
        return Outcome.of(problems)
    declared = _list(body.get("conformsTo"))
    if ConformanceClass.CORE.uri not in declared:
        problems.append(f"conformsTo does not list {ConformanceClass.CORE.uri}")
    landing = ctx.landing
    on_landing = landing.get("conformsTo") if isinstance(landing, dict) else None
    if not isinstance(on_landing, list):
        problems.append("the landing page has no conformsTo to compare with")
    elif set(map(str, on_landing)) != set(map(str, declared)):
        only_here = sorted(set(map(str, declared)) - set(map(str, on_landing)))
        only_there = sorted(set(map(str, on_landing)) - set(map(str, declared)))
        problems.append(
            f"/conformance and the landing page differ: only in /conformance {only_here}, "
            f"only on the landing page {only_there}"
        )
    return Outcome.of(problems)


def _declared_operations(ctx: RunContext) -> set[tuple[str, str]]:
    """(METHOD, path) of every spec operation in a class the node declares."""
    declared = {c.value for c in ctx.declared_classes} | {ConformanceClass.CORE.value}
    return {
        (method, path) for method, path, op in operations() if set(op.get("tags", [])) & declared
    }


def _differences(ours: dict[str, Any], theirs: Any, what: str, limit: int = 5) -> list[str]:
    if not isinstance(theirs, dict):
        return [f"{what} is missing or not an object"]
    names = sorted(set(ours) | set(theirs))
    differing = [n for n in names if ours.get(n) != theirs.get(n)]
    if not differing:
        return []
    shown = ", ".join(differing[:limit]) + (" …" if len(differing) > limit else "")
    return [f"{what} differ from the normative document at {len(differing)} entries: {shown}"]


@CHECKS.check(
    id="CORE-003",
    title="/openapi.json is the normative document, with servers set to the node's base URL",
    requirements=["OW-CORE-003", "OW-CORE-007"],
)
def openapi_document(ctx: RunContext) -> Outcome:
    exchange = ctx.fetch("GET", "/openapi.json")
    doc, problems = expect_json(exchange, 200)
    if not isinstance(doc, dict):
        return Outcome.of(problems or ["the document is not a JSON object"])
    ours = load_openapi()
    if not str(doc.get("openapi", "")).startswith("3.1"):
        problems.append(f"openapi is {doc.get('openapi')!r}, expected 3.1.x")
    info = _dict(doc.get("info"))
    version = str(info.get("version", ""))
    if version.split(".", 1)[0] != spec_major():
        problems.append(f"info.version {version!r} is not a {spec_major()}.x version")
    landing = ctx.landing
    landing_version = landing.get("specVersion") if isinstance(landing, dict) else None
    if landing_version is not None and version != landing_version:
        problems.append(f"info.version {version!r} ≠ landing specVersion {landing_version!r}")
    servers = doc.get("servers")
    urls = (
        [s.get("url") for s in servers if isinstance(s, dict)] if isinstance(servers, list) else []
    )
    if not urls or str(urls[0]).rstrip("/") != ctx.base_url:
        problems.append(f"servers[0].url is {urls[0] if urls else None!r}, expected {ctx.base_url}")
    paths = _dict(doc.get("paths"))
    missing = sorted(
        f"{method} {path}"
        for method, path in _declared_operations(ctx)
        if not isinstance(paths.get(path), dict) or method.lower() not in paths[path]
    )
    if missing:
        problems.append(f"operations of declared classes missing: {', '.join(missing[:10])}")
    if version == ours["info"]["version"]:
        # Same version: it must be the normative document itself, not a look-alike.
        problems += _differences(ours["paths"], doc.get("paths"), "paths")
        problems += _differences(
            ours["components"]["schemas"],
            (doc.get("components") or {}).get("schemas"),
            "component schemas",
        )
    return Outcome.of(problems)


@CHECKS.check(
    id="CORE-004",
    title="/code-lists lists every code list of the standard with its version",
    requirements=["OW-CORE-005", "OW-CORE-007"],
)
def code_list_index(ctx: RunContext) -> Outcome:
    exchange = ctx.fetch("GET", "/code-lists")
    body, problems = expect_json(exchange, 200, "CodeListIndex")
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return Outcome.of(problems)
    served = {str(i.get("name")): i for i in body["items"] if isinstance(i, dict)}
    missing = sorted(set(CODE_LIST_NAMES) - set(served))
    extra = sorted(set(served) - set(CODE_LIST_NAMES))
    if missing:
        problems.append(f"code lists missing from the index: {', '.join(missing)}")
    if extra:
        problems.append(f"code lists not in the standard: {', '.join(extra)}")
    for name in sorted(set(served) & set(CODE_LIST_NAMES)):
        published = as_json(name)
        if served[name].get("version") != published["version"]:
            problems.append(
                f"{name}: version {served[name].get('version')!r}, "
                f"published {published['version']!r}"
            )
        links = served[name].get("links")
        href = links.get("self", {}).get("href") if isinstance(links, dict) else None
        if isinstance(href, str) and _relative(ctx, href) != f"/code-lists/{name}":
            problems.append(f"{name}: links.self points to {href!r}")
    return Outcome.of(problems)


def _code_list_problems(name: str, exchange: Exchange) -> list[str]:
    body, problems = expect_json(exchange, 200, "CodeList")
    if not isinstance(body, dict):
        return problems
    published = as_json(name)
    if body.get("version") != published["version"]:
        problems.append(
            f"{name}: version {body.get('version')!r}, published {published['version']!r}"
        )
    ours = {i["code"]: i["label"] for i in published["items"]}
    theirs = {
        str(i.get("code")): i.get("label") for i in body.get("items", []) if isinstance(i, dict)
    }
    missing = sorted(set(ours) - set(theirs))
    extra = sorted(set(theirs) - set(ours))
    if missing:
        problems.append(f"{name}: {len(missing)} codes missing, e.g. {', '.join(missing[:5])}")
    if extra:
        problems.append(
            f"{name}: {len(extra)} codes not in the standard, e.g. {', '.join(extra[:5])}"
        )
    relabelled = sorted(c for c in set(ours) & set(theirs) if ours[c] != theirs[c])
    if relabelled:
        problems.append(
            f"{name}: nl/en labels differ from the published list for {len(relabelled)} codes, "
            f"e.g. {', '.join(relabelled[:5])}"
        )
    return problems


@CHECKS.check(
    id="CORE-005",
    title="Every code list is served with exactly the published codes, version and nl+en labels",
    requirements=["OW-CORE-005", "OW-CORE-006", "OW-CORE-007"],
)
def code_lists(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for name in CODE_LIST_NAMES:
        problems += _code_list_problems(name, ctx.fetch("GET", f"/code-lists/{name}"))
    return Outcome.of(problems)


@CHECKS.check(
    id="CORE-006",
    title="API-Version is on every kind of response: success, 400, 404, 405, 406",
    requirements=["OW-CORE-004"],
)
def api_version_header(ctx: RunContext) -> Outcome:
    landing = ctx.landing
    expected = landing.get("specVersion") if isinstance(landing, dict) else None
    exchanges = [
        ctx.fetch("GET", "/", follow_redirects=True),
        ctx.fetch("GET", "/conformance"),
        ctx.fetch("GET", "/openapi.json"),
        ctx.fetch("GET", "/code-lists"),
        ctx.fetch("GET", "/code-lists/no-such-code-list"),
        ctx.fetch("GET", "/no-such-path/openwerk-conformance"),
        ctx.fetch("DELETE", "/conformance"),
        ctx.fetch("GET", "/conformance", headers={"Accept": "application/xml"}),
    ]
    if ConformanceClass.OPPORTUNITIES in ctx.declared_classes and ctx.public_opportunities:
        exchanges.append(ctx.fetch("GET", "/vacancies", params={"limit": "0"}))
    problems: list[str] = []
    for exchange in exchanges:
        problems += api_version_problems(exchange, expected if isinstance(expected, str) else None)
    return Outcome.of(problems)


@CHECKS.check(
    id="CORE-007",
    title="API-Version is on every response the node gave during the whole run",
    requirements=["OW-CORE-004"],
    late=True,
)
def api_version_everywhere(ctx: RunContext) -> Outcome:
    landing = ctx.landing
    expected = landing.get("specVersion") if isinstance(landing, dict) else None
    problems: list[str] = []
    for exchange in ctx.history:
        problems += api_version_problems(exchange, expected if isinstance(expected, str) else None)
    if len(problems) > 20:
        problems = [*problems[:20], f"… and {len(problems) - 20} more responses"]
    return Outcome.of(problems, note=f"{len(ctx.history)} responses swept")
