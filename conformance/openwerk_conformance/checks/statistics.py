"""Statistics class: anonymous counts that cannot be subtracted down to one person.

Every cell (the total too) whose true count is below 10 is suppressed, every other count is
rounded to a multiple of 5, grouping is limited to the whitelist, and nothing in the answer
describes a single candidate. Against the fixture dataset the suite also knows the exact cells
each consumer must get (``expected.json``, ``statistics``), as long as the node holds only
the fixture candidates.
"""

from __future__ import annotations

from typing import Any, Final

from openwerk_conformance.context import RunContext
from openwerk_conformance.privacy_expected import at_load, fixture_only, view_of
from openwerk_conformance.privacy_reads import CONSUMERS
from openwerk_conformance.registry import FIXTURES, CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.STATISTICS)

_SCOPE: Final = "statistics:read"
_PATH: Final = "/statistics/candidates"
THRESHOLD: Final = 10
ROUNDING: Final = 5


def _cell_problems(where: str, cell: Any) -> list[str]:
    if not isinstance(cell, dict):
        return [f"{where}: a cell that is not an object"]
    count = cell.get("count")
    if cell.get("suppressed") is True:
        return [f"{where}: a suppressed cell shows count {count}"] if "count" in cell else []
    if not isinstance(count, int) or isinstance(count, bool):
        return [f"{where}: an unsuppressed cell without a count"]
    problems = []
    if count < THRESHOLD:
        problems.append(f"{where}: a cell shows {count}, below the threshold of {THRESHOLD}")
    if count % ROUNDING:
        problems.append(f"{where}: count {count} is not a multiple of {ROUNDING}")
    return problems


def _stats(ctx: RunContext, consumer: str, params: dict[str, str]) -> tuple[Any, list[str]]:
    exchange = ctx.fetch("GET", _PATH, client=consumer, scope=_SCOPE, params=params)
    body, problems = expect_json(exchange, 200, "Statistics")
    if not isinstance(body, dict):
        return None, problems
    where = exchange.describe()
    problems += _cell_problems(f"{where} total", body.get("total"))
    for cell in body.get("cells") or []:
        problems += _cell_problems(f"{where} {cell.get('values')}", cell)
    return body, problems


def _no_candidates(ctx: RunContext) -> Outcome | None:
    if ctx.candidate_problem is not None or not ctx.candidates:
        return Outcome.skip(
            f"the fixture candidates are not available: {ctx.candidate_problem or 'none loaded'}"
        )
    return None


@CHECKS.check(
    id="STAT-001",
    title="Cells under 10 are suppressed, the others rounded to 5, counting consented only",
    requirements=["OW-STAT-001", "OW-STAT-003", "OW-STAT-004"],
    needs=[FIXTURES, "publisher", *CONSUMERS],
)
def thresholds(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    exact = fixture_only(ctx)
    problems: list[str] = []
    for consumer in CONSUMERS:
        total, found = _stats(ctx, consumer, {})
        problems += found
        by_gemeente, found = _stats(ctx, consumer, {"groupBy": "gemeente"})
        problems += found
        want = at_load(ctx, consumer).get("statistics")
        if not exact or not isinstance(want, dict):
            continue
        if isinstance(total, dict) and total.get("total") != {"values": {}, **want["total"]}:
            problems.append(
                f"{consumer}: the total is {total.get('total')}; {want['trueTotal']} candidates "
                f"consented to statistics for it, so it must be {want['total']}"
            )
        cells = {
            str((c.get("values") or {}).get("gemeente")): {
                k: v for k, v in c.items() if k != "values"
            }
            for c in (by_gemeente or {}).get("cells", [])
            if isinstance(c, dict)
        }
        for gemeente, cell in sorted(want.get("byGemeente", {}).items()):
            if cells.get(gemeente, {"suppressed": True}) != cell:
                problems.append(
                    f"{consumer}: the {gemeente} cell is {cells.get(gemeente)}, expected {cell}"
                )
    return Outcome.of(problems, note="fixture-only pool" if exact else "mixed pool")


@CHECKS.check(
    id="STAT-002",
    title="Grouping is limited to the whitelist and to three dimensions (else 400)",
    requirements=["OW-STAT-002"],
    needs=["consumer-a"],
)
def grouping(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    body, found = _stats(ctx, "consumer-a", {"groupBy": "gemeente,ageBand,educationLevel"})
    problems += found
    if isinstance(body, dict) and body.get("dimensions") != [
        "gemeente",
        "ageBand",
        "educationLevel",
    ]:
        problems.append(f"three whitelisted dimensions answered with {body.get('dimensions')}")
    for groups in ("birthDate", "gemeente,ageBand,educationLevel,wantedKind", "pseudonym"):
        exchange = ctx.fetch(
            "GET", _PATH, client="consumer-a", scope=_SCOPE, params={"groupBy": groups}
        )
        problems += expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
    return Outcome.of(problems)


@CHECKS.check(
    id="STAT-003",
    title="Statistics carry no row-level data: no pseudonyms, no ids, no one-person cells",
    requirements=["OW-STAT-006", "OW-STAT-003"],
    needs=[FIXTURES, "consumer-a"],
)
def no_rows(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    pseudonyms = {str(c.get("id")) for c in view_of(ctx, "consumer-a").cards}
    ids = {c.node_id for c in ctx.candidates.values()}
    problems: list[str] = []
    allowed = {
        "arbeidsmarktregio",
        "gemeente",
        "occupationGroup",
        "ageBand",
        "educationLevel",
        "hoursBand",
        "wantedKind",
    }
    for groups in ("gemeente,ageBand,educationLevel", "wantedKind,hoursBand,occupationGroup"):
        exchange = ctx.fetch(
            "GET", _PATH, client="consumer-a", scope=_SCOPE, params={"groupBy": groups}
        )
        body, found = expect_json(exchange, 200, "Statistics")
        problems += found
        text = exchange.response.content.decode("utf-8", "replace")
        leaked = sorted(v for v in pseudonyms | ids if v and v in text)
        if leaked:
            problems.append(f"{exchange.describe()} contains pseudonyms or ids: {leaked[:3]}")
        for cell in (body or {}).get("cells", []) if isinstance(body, dict) else []:
            extra = set(cell.get("values") or {}) - allowed
            if extra:
                problems.append(f"{exchange.describe()}: a cell keyed by {sorted(extra)}")
            if cell.get("suppressed") is not True and (cell.get("count") or 0) < THRESHOLD:
                problems.append(f"{exchange.describe()}: a cell of {cell.get('count')} shown")
    return Outcome.of(problems)


@CHECKS.check(
    id="STAT-004",
    title="Placement statistics are suppressed below 10 and rounded to 5 like candidate counts",
    requirements=["OW-STAT-005", "OW-STAT-006"],
    needs=["consumer-a"],
)
def placements(ctx: RunContext) -> Outcome:
    """Only the disclosure rules of OW-STAT-005 are checked here: which outcomes count needs
    accepted introductions with recorded outcomes, which the introductions checks create."""
    exchange = ctx.fetch("GET", "/statistics/placements", client="consumer-a", scope=_SCOPE)
    body, problems = expect_json(exchange, 200, "Statistics")
    if not isinstance(body, dict):
        return Outcome.of(problems)
    if body.get("population") != "placements":
        problems.append(f"{exchange.describe()}: population {body.get('population')!r}")
    problems += _cell_problems(f"{exchange.describe()} total", body.get("total"))
    for cell in body.get("cells") or []:
        problems += _cell_problems(f"{exchange.describe()} {cell.get('values')}", cell)
    return Outcome.of(problems)
