"""Matching class: score-v1 recomputed from the cards as served, the ranking, the limit, refs.

Every check runs on the suite's own scenario cohort (``scenario.py``), so it works with and
without the fixture dataset; other profiles the node publishes are scored and ranked as well,
since the function is public and every card carries what it needs (OW-MATCH-002).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.probes import close_vacancy, publish_probe
from openwerk_conformance.registry import CheckFunction, CheckSet, Outcome
from openwerk_conformance.scenario import (
    COHORT_GEMEENTE,
    COHORT_OCCUPATION,
    Cohort,
    CohortError,
    cohort,
)
from openwerk_conformance.schema import expect_json, expect_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode
from openwerk_spec.score import COMPONENTS, SCORE_VERSION, ScoreInputError, score_v1

CHECKS = CheckSet(ConformanceClass.MATCHING)

CONSUMER: Final = "consumer-a"
READ_SCOPE: Final = "candidates:read"
#: What createMatch answers without a limit, and the most it may answer (OW-MATCH-005).
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100


def criteria_for(group: Cohort) -> dict[str, Any]:
    """Inline criteria that rank the cohort on top and spread its members over many scores."""
    start = datetime.now(UTC).date().replace(day=1)
    return {
        "occupation": dict(COHORT_OCCUPATION),
        "skills": [
            {"label": f"{group.marker}-m2", "importance": "essential"},
            {"label": f"{group.marker}-m3", "importance": "optional"},
            {"label": "  " + group.marker.upper() + " ", "importance": "optional"},
        ],
        "hoursPerWeek": {"min": 20, "max": 32},
        "location": {"gemeente": COHORT_GEMEENTE, "arbeidsmarktregio": "AM13"},
        "startDate": start.isoformat(),
        "supportOffered": ["jobcoach"],
    }


def match(ctx: RunContext, body: dict[str, Any]) -> Exchange:
    """POST /matches as consumer-a."""
    return ctx.fetch("POST", "/matches", client=CONSUMER, scope=READ_SCOPE, json_body=body)


def _with_cohort(purpose: str, body: Callable[[RunContext, Cohort], Outcome]) -> CheckFunction:
    def run(ctx: RunContext) -> Outcome:
        try:
            with cohort(ctx, purpose) as group:
                return body(ctx, group)
        except CohortError as exc:
            return Outcome.fail(f"could not publish the scenario cohort: {exc}")

    return run


def _items(exchange: Exchange) -> tuple[dict[str, Any] | None, list[str]]:
    result, problems = expect_json(exchange, 200, "MatchResult")
    if not isinstance(result, dict) or not isinstance(result.get("items"), list):
        return None, problems or [f"{exchange.describe()}: not a match result"]
    return result, problems


def score_problems(result: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """Every card's components and score against the reference score-v1 of the served card."""
    problems: list[str] = []
    if result.get("scoreVersion") != SCORE_VERSION:
        problems.append(f"scoreVersion is {result.get('scoreVersion')!r}, not {SCORE_VERSION}")
    if result.get("opportunity") != sent:
        problems.append("the result's opportunity is not the criteria the request sent inline")
    for place, card in enumerate(result["items"]):
        profile = card.get("candidate") if isinstance(card, dict) else None
        if not isinstance(profile, dict):
            problems.append(f"card {place} has no candidate profile")
            continue
        try:
            expected = score_v1(profile, sent)
        except ScoreInputError as exc:
            problems.append(f"card {place} ({profile.get('id')}): cannot be scored: {exc}")
            continue
        served = card.get("components") if isinstance(card.get("components"), dict) else {}
        for name in COMPONENTS:
            if _decimal(served.get(name)) != expected.components[name]:
                problems.append(
                    f"card {place} ({profile.get('id')}): component {name} is "
                    f"{served.get(name)!r}, score-v1 gives {expected.components[name]}"
                )
        if _decimal(card.get("score")) != expected.score:
            problems.append(
                f"card {place} ({profile.get('id')}): score is {card.get('score')!r}, "
                f"score-v1 gives {expected.score}"
            )
    return problems


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def order_problems(items: list[dict[str, Any]]) -> list[str]:
    """Cards must come by score descending, then pseudonym ascending in byte order."""
    keys = [
        (-(_decimal(c.get("score")) or Decimal(0)), str(c["candidate"].get("id")).encode())
        for c in items
        if isinstance(c.get("candidate"), dict)
    ]
    for place, (before, after) in enumerate(itertools.pairwise(keys)):
        if before > after:
            return [
                f"cards {place} and {place + 1} are out of order: score {-before[0]} "
                f"{before[1].decode()!r} before score {-after[0]} {after[1].decode()!r}"
            ]
    return []


def _scores(ctx: RunContext, group: Cohort) -> Outcome:
    sent = criteria_for(group)
    result, problems = _items(match(ctx, {"opportunity": {"inline": sent}, "limit": MAX_LIMIT}))
    if result is None:
        return Outcome.fail(*problems)
    problems += score_problems(result, sent)
    mine = group.own_cards([c["candidate"] for c in result["items"] if "candidate" in c])
    if len(mine) != len(group.members):
        problems.append(
            f"the match shows {len(mine)} of the {len(group.members)} published cohort cards"
        )
    distinct = {str(c.get("score")) for c in result["items"]}
    return Outcome.of(problems, note=f"{len(result['items'])} cards, {len(distinct)} scores")


CHECKS.check(
    id="MATCH-001",
    title="Every card's components and score equal score-v1 of the card as served",
    requirements=["OW-MATCH-001", "OW-MATCH-002"],
    needs=["publisher", CONSUMER],
)(_with_cohort("score", _scores))


def _order(ctx: RunContext, group: Cohort) -> Outcome:
    sent = criteria_for(group)
    result, problems = _items(match(ctx, {"opportunity": {"inline": sent}, "limit": MAX_LIMIT}))
    if result is None:
        return Outcome.fail(*problems)
    problems += order_problems(result["items"])
    tie = _tie(group, result)
    note = "the cohort's tie pair was ranked" if len(tie) == 2 else "no tie seen"
    return Outcome.of(problems, note=note)


def _tie(group: Cohort, result: dict[str, Any]) -> set[str]:
    mine = group.own_cards([c["candidate"] for c in result["items"] if "candidate" in c])
    return {str(mine[i].get("id")) for i in (0, 1) if i in mine}


CHECKS.check(
    id="MATCH-002",
    title="Cards come by score descending, then pseudonym ascending (byte order)",
    requirements=["OW-MATCH-003"],
    needs=["publisher", CONSUMER],
)(_with_cohort("order", _order))


def _limit(ctx: RunContext, group: Cohort) -> Outcome:
    sent = criteria_for(group)
    cards, listing = group.cards(ctx, CONSUMER)
    if not listing.complete:
        return Outcome.fail(*(listing.problems or ["could not list the published profiles"]))
    published = {str(c.get("id")) for c in listing.items}
    problems: list[str] = []
    full, found = _items(match(ctx, {"opportunity": {"inline": sent}, "limit": 1000}))
    problems += found
    default, found = _items(match(ctx, {"opportunity": {"inline": sent}}))
    problems += found
    three, found = _items(match(ctx, {"opportunity": {"inline": sent}, "limit": 3}))
    problems += found
    if full is None or default is None or three is None:
        return Outcome.fail(*problems)
    ranked = [str(c["candidate"].get("id")) for c in full["items"]]
    if len(ranked) != min(MAX_LIMIT, len(published)):
        problems.append(
            f"limit=1000 gave {len(ranked)} cards; {len(published)} profiles are published to "
            f"the caller, so it must give {min(MAX_LIMIT, len(published))} (clamped to 100)"
        )
    if len(published) <= MAX_LIMIT and set(ranked) != published:
        problems.append(
            f"the match leaves out {len(published - set(ranked))} published profiles and "
            f"shows {len(set(ranked) - published)} that search does not"
        )
    for name, part, size in (("default", default, DEFAULT_LIMIT), ("limit=3", three, 3)):
        ids = [str(c["candidate"].get("id")) for c in part["items"]]
        if ids != ranked[:size]:
            problems.append(
                f"{name} gave {len(ids)} cards that are not the top {min(size, len(ranked))} "
                "of the full ranking"
            )
    if len(cards) != len(group.members):
        problems.append(f"search shows {len(cards)} of {len(group.members)} cohort cards")
    return Outcome.of(problems, note=f"{len(published)} profiles published to the caller")


CHECKS.check(
    id="MATCH-003",
    title="A match holds the limit (default 20, clamped to 100) best of all published profiles",
    requirements=["OW-MATCH-005"],
    needs=["publisher", CONSUMER],
)(_with_cohort("limit", _limit))


@CHECKS.check(
    id="MATCH-004",
    title="References: a local vacancy resolves here, unknown is 404, a non-member node 400",
    requirements=["OW-MATCH-006"],
    needs=["publisher", CONSUMER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def references(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    missing = {"type": "vacancy", "id": f"no-such-vacancy-{secrets.token_hex(6)}"}
    problems += expect_problem(
        match(ctx, {"opportunity": {"ref": missing}}), 404, code=ProblemCode.NOT_FOUND
    )
    foreign = dict(missing, node=f"not-a-member-{secrets.token_hex(4)}")
    problems += expect_problem(
        match(ctx, {"opportunity": {"ref": foreign}}), 400, code=ProblemCode.INVALID_PARAMETERS
    )
    body, created = publish_probe(ctx, "match-ref")
    probe = created.json()
    if created.status != 201 or not isinstance(probe, dict):
        return Outcome.fail(*problems, f"{created.describe()}: could not publish a probe vacancy")
    try:
        ref = {"type": "vacancy", "id": probe["id"]}
        result, found = _items(match(ctx, {"opportunity": {"ref": ref}, "limit": 5}))
        problems += found
        if result is not None:
            served = result.get("opportunity") or {}
            for key in ("occupation", "hoursPerWeek", "location"):
                if served.get(key) != body.get(key):
                    problems.append(
                        f"the result's opportunity {key} is {served.get(key)!r}, "
                        f"the referenced vacancy has {body.get(key)!r}"
                    )
            if isinstance(served, dict) and served:
                problems += score_problems(result, served)
    finally:
        close_vacancy(ctx, probe["id"])
    return Outcome.of(problems)
