"""Judging responses with the spec's own JSON Schemas and problem rules.

Every helper returns a list of human-readable problems (empty: fine), so a check can add up
what is wrong with one response instead of stopping at the first thing.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final

from openwerk_conformance.context import Exchange
from openwerk_spec.openapi import spec_version, validation_errors
from openwerk_spec.problems import PROBLEM_TYPE_PREFIX, PROBLEM_TYPES, ProblemCode

__all__ = [
    "MAX_SCHEMA_ERRORS",
    "api_version_problems",
    "expect_json",
    "expect_problem",
    "invalid_param_names",
    "schema_problems",
    "spec_major",
    "status_problem",
]

#: More than this many schema errors of one body are summarised, to keep reports readable.
MAX_SCHEMA_ERRORS: Final = 8
_SEMVER: Final = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
#: Signs of a leaked stack trace or SQL in a problem (OW-ERR-008).
_LEAKS: Final = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\bsqlalchemy\b|"
    r"\bSELECT\b .* \bFROM\b|\bINSERT INTO\b|psycopg|sqlite3\.|\bat [\w.$]+\([\w]+\.java:\d+\)",
    re.IGNORECASE,
)


def schema_problems(instance: Any, schema_name: str, where: str = "body") -> list[str]:
    """Problems of ``instance`` against a component schema of the spec."""
    errors = validation_errors(schema_name, instance)
    problems = [f"{where} violates {schema_name}: {e}" for e in errors[:MAX_SCHEMA_ERRORS]]
    if len(errors) > MAX_SCHEMA_ERRORS:
        problems.append(f"… and {len(errors) - MAX_SCHEMA_ERRORS} more {schema_name} violations")
    return problems


def status_problem(exchange: Exchange, expected: int | Collection[int]) -> str | None:
    """A problem when the status is not the expected one, naming 422 and 5xx specially."""
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if exchange.status in allowed:
        return None
    wanted = " or ".join(str(s) for s in sorted(allowed))
    if exchange.status == 422:
        return f"{exchange.describe()}: 422 instead of {wanted}; invalid input is 400, never 422"
    if exchange.status >= 500:
        return f"{exchange.describe()}: server error instead of {wanted}"
    if exchange.status < 300 and min(allowed) >= 400:
        return f"{exchange.describe()}: the node accepted what it must refuse (expected {wanted})"
    return f"{exchange.describe()}: expected {wanted}"


def api_version_problems(exchange: Exchange, expected: str | None = None) -> list[str]:
    """``API-Version`` present, a full semantic version, and equal to ``expected`` if given."""
    value = exchange.header("API-Version")
    if value is None:
        return [f"{exchange.describe()}: no API-Version header"]
    if not _SEMVER.fullmatch(value.strip()):
        return [f"{exchange.describe()}: API-Version {value!r} is not a full semantic version"]
    if expected is not None and value.strip() != expected:
        return [f"{exchange.describe()}: API-Version {value!r} differs from {expected!r}"]
    return []


def expect_json(
    exchange: Exchange, status: int | Collection[int], schema_name: str | None = None
) -> tuple[Any, list[str]]:
    """The JSON body if the status and schema are right, with the problems found."""
    problems: list[str] = []
    wrong = status_problem(exchange, status)
    if wrong:
        return exchange.json(), [wrong]
    if exchange.media_type not in ("application/json", "application/problem+json"):
        problems.append(
            f"{exchange.describe()}: Content-Type {exchange.media_type!r}, "
            "expected application/json"
        )
    body = exchange.json()
    if body is None:
        problems.append(f"{exchange.describe()}: the body is not JSON")
        return None, problems
    if schema_name is not None:
        problems += schema_problems(body, schema_name, where=exchange.describe())
    return body, problems


def expect_problem(
    exchange: Exchange,
    status: int | Collection[int],
    *,
    code: ProblemCode | Collection[ProblemCode] | None = None,
    schema_name: str = "Problem",
) -> list[str]:
    """Problems with an error response: status, RFC 9457 body, type = prefix + code, API-Version.

    ``code`` names the problem code(s) the situation calls for (OW-ERR-007).
    """
    wrong = status_problem(exchange, status)
    if wrong:
        return [wrong]
    where = exchange.describe()
    problems: list[str] = []
    if exchange.media_type != "application/problem+json":
        problems.append(
            f"{where}: Content-Type {exchange.media_type or 'missing'!r}, "
            "expected application/problem+json"
        )
    problems += api_version_problems(exchange)
    body = exchange.json()
    if not isinstance(body, dict):
        problems.append(f"{where}: the body is not a JSON object")
        return problems
    problems += schema_problems(body, schema_name, where=where)
    if body.get("status") != exchange.status:
        problems.append(f"{where}: problem status {body.get('status')!r} ≠ HTTP status")
    body_code = body.get("code")
    if isinstance(body_code, str) and body.get("type") != PROBLEM_TYPE_PREFIX + body_code:
        problems.append(
            f"{where}: problem type {body.get('type')!r} is not {PROBLEM_TYPE_PREFIX}{body_code}"
        )
    if body_code in {c.value for c in ProblemCode}:
        documented = PROBLEM_TYPES[ProblemCode(body_code)].status
        if documented != exchange.status:
            problems.append(f"{where}: problem code {body_code!r} goes with {documented}")
    if code is not None:
        wanted = {code} if isinstance(code, ProblemCode) else set(code)
        if body_code not in {c.value for c in wanted}:
            names = " or ".join(sorted(c.value for c in wanted))
            problems.append(f"{where}: problem code {body_code!r}, expected {names}")
    leak = _LEAKS.search(str(body.get("detail", "")) + " " + str(body.get("title", "")))
    if leak:
        problems.append(f"{where}: the problem leaks internals ({leak.group(0)!r})")
    return problems


def invalid_param_names(exchange: Exchange) -> list[str]:
    """The ``name`` of every ``invalidParams`` entry of a problem (empty when there are none)."""
    body = exchange.json()
    if not isinstance(body, dict) or not isinstance(body.get("invalidParams"), list):
        return []
    return [
        str(entry["name"])
        for entry in body["invalidParams"]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    ]


def spec_major() -> str:
    """The major version of the spec this suite implements."""
    return spec_version().split(".", 1)[0]
