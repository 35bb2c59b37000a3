"""Federation class: a gateway's fan-out, statuses, merge, cursors and public directory.

These checks need the suite's own federation (``openwerk-conformance federation prepare DIR``
and ``run --federation DIR``, spec/docs/federation.md "Conformance testing of a gateway"):
two providers that answer with vacancies the suite wrote, one that hangs past the deadline
and one that is down. Because the suite knows every provider's data, it knows the exact
answer a gateway owes. Without ``--federation`` they skip: a gateway fed by a real
federation cannot be checked against a known merge.
"""

from __future__ import annotations

import time
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.federation import ProviderSet
from openwerk_conformance.federation.providers import (
    expected_match_merge,
    expected_merge,
    match_criteria,
)
from openwerk_conformance.federation.setup import (
    CONSUMER,
    CONSUMER_ROLE,
    DOWN,
    HUNG,
    OK_PROVIDERS,
    PROVIDERS,
)
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.schema import expect_json
from openwerk_spec.classes import ConformanceClass

CHECKS = CheckSet(ConformanceClass.FEDERATION)

#: Status each of the suite's providers must get from the gateway (OW-FED-005).
EXPECTED_STATUS: Final = {**dict.fromkeys(OK_PROVIDERS, "ok"), HUNG: "timeout", DOWN: "error"}
#: Allowance over the deadline for the gateway's own work and the network (10 % + 0.5 s).
DEADLINE_MARGIN: Final = 1.10
DEADLINE_SLACK: Final = 0.5
#: Page size of the walk: small, so the walk needs several pages.
WALK_LIMIT: Final = 3
_NO_FEDERATION = (
    "needs the suite's federation: run 'openwerk-conformance federation prepare DIR', "
    "configure the gateway with it, and pass --federation DIR"
)


def _providers(ctx: RunContext) -> ProviderSet | None:
    return ctx.federation


def _nodes_problems(exchange: Exchange, body: Any) -> list[str]:
    """``nodes`` has one entry per provider with the right status, and ``partial`` is true."""
    where = exchange.describe()
    nodes = body.get("nodes") if isinstance(body, dict) else None
    if not isinstance(nodes, list):
        return [f"{where}: no `nodes` list in the gateway answer"]
    seen: dict[str, str] = {}
    problems: list[str] = []
    for entry in nodes:
        if isinstance(entry, dict):
            node, status = str(entry.get("node")), str(entry.get("status"))
            if node in seen:
                problems.append(f"{where}: `nodes` lists {node} twice")
            seen[node] = status
    for node, status in EXPECTED_STATUS.items():
        if node not in seen:
            problems.append(
                f"{where}: `nodes` has no entry for provider {node} (expected {status})"
            )
        elif seen[node] != status:
            problems.append(f"{where}: provider {node} has status {seen[node]!r}, not {status!r}")
    strangers = sorted(set(seen) - set(PROVIDERS))
    if strangers:
        problems.append(f"{where}: `nodes` names members that are not providers: {strangers}")
    # The suite's federation always has a hung and a down provider, so `partial` must be true.
    if body.get("partial") is not True:
        problems.append(
            f"{where}: `partial` is {body.get('partial')!r} although providers are missing"
        )
    return problems


def _origin(item: Any) -> tuple[str, str]:
    if not isinstance(item, dict):
        return ("?", "?")
    return (str(item.get("publisher")), str(item.get("id")))


@CHECKS.check(
    id="FED-001",
    title="A gateway asks every provider in parallel and answers within one deadline",
    requirements=["OW-FED-004"],
)
def check_fan_out(ctx: RunContext) -> Outcome:
    """Every provider is asked, the answer comes by deadline + margin, with what arrived."""
    providers = _providers(ctx)
    if providers is None:
        return Outcome.skip(_NO_FEDERATION)
    providers.reset()
    total = len(expected_merge())
    started = time.perf_counter()
    exchange = ctx.fetch("GET", "/vacancies", params={"limit": total})
    elapsed = time.perf_counter() - started
    body, problems = expect_json(exchange, 200, "VacancyPage")
    allowed = providers.setup.deadline * DEADLINE_MARGIN + DEADLINE_SLACK
    if elapsed > allowed:
        problems.append(
            f"{exchange.describe()}: answered after {elapsed:.2f} s; the deadline is "
            f"{providers.setup.deadline:g} s (allowed {allowed:.2f} s)"
        )
    for node in (*OK_PROVIDERS, HUNG):
        if providers.asked(node, "/v1") == 0:
            problems.append(f"the gateway never asked provider {node}")
    if not problems and isinstance(body, dict):
        got = sorted(_origin(i) for i in body.get("items", []))
        if got != sorted(expected_merge()):
            problems.append(
                f"{exchange.describe()}: {len(got)} items, expected the {total} vacancies "
                f"of {', '.join(OK_PROVIDERS)} (what arrived by the deadline)"
            )
    return Outcome.of(problems, note=f"answered in {elapsed:.2f} s")


@CHECKS.check(
    id="FED-002",
    title="A gateway answer names every provider's status and is partial when one is missing",
    requirements=["OW-FED-005"],
)
def check_node_status(ctx: RunContext) -> Outcome:
    """``nodes``: ok, ok, timeout (hung), error (down); ``partial: true``."""
    if _providers(ctx) is None:
        return Outcome.skip(_NO_FEDERATION)
    exchange = ctx.fetch("GET", "/vacancies", params={"limit": WALK_LIMIT})
    body, problems = expect_json(exchange, 200, "VacancyPage")
    if problems:
        return Outcome.fail(*problems)
    return Outcome.of(_nodes_problems(exchange, body))


@CHECKS.check(
    id="FED-003",
    title="A gateway merges lists in the documented order, then node id",
    requirements=["OW-FED-006"],
)
def check_merge_order(ctx: RunContext) -> Outcome:
    """Vacancies by ``createdAt`` desc, ``id`` desc, then node id (ties built in on purpose)."""
    if _providers(ctx) is None:
        return Outcome.skip(_NO_FEDERATION)
    expected = expected_merge()
    exchange = ctx.fetch("GET", "/vacancies", params={"limit": len(expected)})
    body, problems = expect_json(exchange, 200, "VacancyPage")
    if problems:
        return Outcome.fail(*problems)
    got = [_origin(i) for i in body.get("items", [])]
    if got != expected:
        first = next(
            (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
            min(len(got), len(expected)),
        )
        return Outcome.fail(
            f"{exchange.describe()}: merge order differs at position {first}: got "
            f"{got[first : first + 3]}, expected {expected[first : first + 3]} "
            "(createdAt desc, id desc, node id asc)"
        )
    return Outcome.ok()


@CHECKS.check(
    id="FED-006",
    title="A gateway merges match cards by score, then node id, then pseudonym",
    requirements=["OW-FED-004", "OW-FED-005", "OW-FED-006"],
)
def check_match_merge(ctx: RunContext) -> Outcome:
    """createMatch at the gateway: every answering provider's cards, in merge order."""
    if _providers(ctx) is None:
        return Outcome.skip(_NO_FEDERATION)
    expected = expected_match_merge()
    body_sent = {"opportunity": {"inline": match_criteria()}, "limit": len(expected)}
    exchange = ctx.fetch(
        "POST", "/matches", client=CONSUMER_ROLE, scope="candidates:read", json_body=body_sent
    )
    body, problems = expect_json(exchange, 200, "MatchResult")
    if problems:
        return Outcome.fail(*problems)
    problems = _nodes_problems(exchange, body)
    got = []
    for card in body.get("items", []):
        candidate = card.get("candidate", {}) if isinstance(card, dict) else {}
        got.append((card.get("score"), str(candidate.get("node")), str(candidate.get("id"))))
    if got != [(score, node, p) for score, node, p in expected]:
        problems.append(
            f"{exchange.describe()}: cards {got}, expected {expected} "
            "(score desc, node id asc, pseudonym asc)"
        )
    return Outcome.of(problems)


@CHECKS.check(
    id="FED-004",
    title="A gateway's next link continues every provider without duplicates or gaps",
    requirements=["OW-FED-007"],
)
def check_next_link(ctx: RunContext) -> Outcome:
    """Walk /vacancies three at a time; the concatenation must be the merge, once."""
    if _providers(ctx) is None:
        return Outcome.skip(_NO_FEDERATION)
    expected = expected_merge()
    got: list[tuple[str, str]] = []
    exchange = ctx.fetch("GET", "/vacancies", params={"limit": WALK_LIMIT})
    for _ in range(len(expected) + 2):  # a gateway that never stops must not hang the run
        body, problems = expect_json(exchange, 200, "VacancyPage")
        if problems:
            return Outcome.fail(*problems)
        got += [_origin(i) for i in body.get("items", [])]
        nxt = (body.get("links") or {}).get("next")
        if not isinstance(nxt, dict) or not nxt.get("href"):
            break
        exchange = ctx.fetch("GET", ctx.resolve(str(nxt["href"])))
    else:
        return Outcome.fail(f"the walk did not end after {len(expected) + 2} pages")
    problems = []
    duplicates = sorted({o for o in got if got.count(o) > 1})
    if duplicates:
        problems.append(f"the walk repeated items: {duplicates}")
    gaps = [o for o in expected if o not in got]
    if gaps:
        problems.append(f"the walk never listed: {gaps}")
    if not problems and got != expected:
        problems.append("the walk's pages, concatenated, are not in merge order")
    return Outcome.of(problems, note=f"{len(got)} items in pages of {WALK_LIMIT}")


@CHECKS.check(
    id="FED-005",
    title="listFederationMembers lists the directory's members without keys, with iss/iat/exp",
    requirements=["OW-FED-010"],
)
def check_members(ctx: RunContext) -> Outcome:
    """The members of the suite's directory, no ``jwks``, and the directory's dates."""
    providers = _providers(ctx)
    if providers is None:
        return Outcome.skip(_NO_FEDERATION)
    setup = providers.setup
    exchange = ctx.fetch("GET", "/federation/members", params={"limit": 100})
    body, problems = expect_json(exchange, 200, "FederationMemberPage")
    if problems:
        return Outcome.fail(*problems)
    where = exchange.describe()
    want = {"iss": setup.iss, "iat": setup.iat, "exp": setup.exp}
    if body.get("directory") != want:
        problems.append(f"{where}: directory is {body.get('directory')!r}, expected {want!r}")
    items = [i for i in body.get("items", []) if isinstance(i, dict)]
    ids = sorted(str(i.get("id")) for i in items)
    members = sorted([setup.gateway_id, CONSUMER, *PROVIDERS])
    if ids != members:
        problems.append(f"{where}: members {ids}, expected {members}")
    keyed = [str(i.get("id")) for i in items if "jwks" in i]
    if keyed:
        problems.append(f"{where}: members shown with their keys: {keyed}")
    return Outcome.of(problems)
