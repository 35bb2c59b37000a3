"""Core class, errors: problem details for 404, 405, 406 and invalid input; 400 not 422; no 5xx."""

from __future__ import annotations

from openwerk_conformance.context import RunContext
from openwerk_conformance.listing import get_l0
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.schema import expect_problem, invalid_param_names, status_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.CORE)

_INVALID = ProblemCode.INVALID_PARAMETERS


@CHECKS.check(
    id="ERR-001",
    title="An unknown path or resource is 404 problem+json",
    requirements=["OW-ERR-004", "OW-ERR-001", "OW-ERR-007"],
)
def unknown_path(ctx: RunContext) -> Outcome:
    problems = expect_problem(
        ctx.fetch("GET", "/no-such-path/openwerk-conformance"), 404, code=ProblemCode.NOT_FOUND
    )
    problems += expect_problem(
        ctx.fetch("GET", "/code-lists/no-such-code-list"), 404, code=ProblemCode.NOT_FOUND
    )
    return Outcome.of(problems)


@CHECKS.check(
    id="ERR-002",
    title="A method a known path does not support is 405 problem+json with Allow",
    requirements=["OW-ERR-004", "OW-ERR-001", "OW-ERR-007"],
)
def wrong_method(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for method, path in (("DELETE", "/conformance"), ("PUT", "/code-lists")):
        exchange = ctx.fetch(method, path)
        problems += expect_problem(exchange, 405, code=ProblemCode.METHOD_NOT_ALLOWED)
        allow = exchange.header("Allow")
        if exchange.status == 405 and (allow is None or "GET" not in allow.upper()):
            problems.append(f"{exchange.describe()}: Allow header {allow!r} does not list GET")
    return Outcome.of(problems)


@CHECKS.check(
    id="ERR-003",
    title="Each invalid query parameter is 400 (never 422) with invalidParams naming it",
    requirements=["OW-ERR-002", "OW-ERR-001", "OW-ERR-007", "OW-PAGE-006"],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def invalid_parameter(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for name, value in (("limit", "0"), ("limit", "abc"), ("hoursMin", "-1"), ("kind", "nope")):
        exchange = get_l0(ctx, "/vacancies", params={name: value})
        found = expect_problem(exchange, 400, code=_INVALID)
        problems += found
        if exchange.status == 400 and name not in invalid_param_names(exchange):
            problems.append(
                f"{exchange.describe()}: invalidParams {invalid_param_names(exchange)} "
                f"does not name {name!r}"
            )
    return Outcome.of(problems)


@CHECKS.check(
    id="ERR-004",
    title="Several invalid parameters in one request are all listed in invalidParams",
    requirements=["OW-ERR-003", "OW-ERR-002"],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def all_invalid_parameters(ctx: RunContext) -> Outcome:
    params = {"limit": "0", "hoursMin": "-1", "gemeente": "XX0000", "updatedSince": "yesterday"}
    exchange = get_l0(ctx, "/vacancies", params=params)
    problems = expect_problem(exchange, 400, code=_INVALID)
    if exchange.status == 400:
        named = set(invalid_param_names(exchange))
        missing = sorted(set(params) - named)
        if missing:
            problems.append(
                f"{exchange.describe()}: invalidParams names {sorted(named)}, "
                f"missing {', '.join(missing)} (every violation must be listed)"
            )
    return Outcome.of(problems)


#: Hostile or odd input that must get a 4xx (or an ordinary answer), never a 5xx.
_CORE_HOSTILE: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("GET", "/code-lists/" + "a" * 300, {}),
    ("GET", "/code-lists/%00%ff", {}),
    ("GET", "/code-lists/..%2F..%2Fetc%2Fpasswd", {}),
    ("GET", "/conformance", {"cursor": "' OR 1=1 --"}),
)
_L0_HOSTILE: tuple[dict[str, str], ...] = (
    {"limit": "99999999999999999999999999"},
    {"limit": "-5"},
    {"limit": "1.5"},
    {"cursor": "x" * 5000},
    {"cursor": "%00%00"},
    {"occupation": "'; DROP TABLE vacancies; --"},
    {"skill": "\u0000\ud7ff\ufffd" * 10},
    {"gemeente": "GM" + "9" * 200},
    {"updatedSince": "2024-13-45T99:99:99Z"},
    {"hoursMin": "60", "hoursMax": "0"},
    {"hoursMin": "1e309"},
    {"status": "open' OR '1'='1"},
)


@CHECKS.check(
    id="ERR-005",
    title="Hostile or malformed input is a 4xx problem, never a 5xx, and leaks no internals",
    requirements=["OW-ERR-006", "OW-ERR-008", "OW-ERR-001"],
)
def hostile_input(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    exchanges = [ctx.fetch(method, path, params=params) for method, path, params in _CORE_HOSTILE]
    if ConformanceClass.OPPORTUNITIES in ctx.declared_classes:
        exchanges += [get_l0(ctx, "/vacancies", params=p) for p in _L0_HOSTILE]
    for exchange in exchanges:
        if exchange.status >= 500:
            problems.append(f"{exchange.describe()}: server error for client input")
        elif exchange.status >= 400:
            problems += expect_problem(exchange, exchange.status)
    return Outcome.of(problems)


@CHECKS.check(
    id="ERR-006",
    title="An Accept header that admits no media type of the operation is 406 problem+json",
    requirements=["OW-ERR-005", "OW-ERR-001"],
)
def not_acceptable(ctx: RunContext) -> Outcome:
    exchange = ctx.fetch("GET", "/conformance", headers={"Accept": "application/xml"})
    wrong = status_problem(exchange, 406)
    if wrong:
        return Outcome.fail(wrong)
    return Outcome.of(expect_problem(exchange, 406, code=ProblemCode.NOT_ACCEPTABLE))
