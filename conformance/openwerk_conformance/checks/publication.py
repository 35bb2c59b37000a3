"""Publication class: writes are validated whole, refused whole, and refused in the right way.

The refusal checks send writes that must be refused, so they leave nothing behind at a
conforming node; the lifecycle check publishes one probe vacancy and closes it again. The
fixture dataset itself is written in the fixture setup step.
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.listing import walk
from openwerk_conformance.probes import (
    PUBLISHER,
    WRITE_SCOPE,
    base_vacancy,
    close_vacancy,
    post_vacancy,
    publish_probe,
)
from openwerk_conformance.registry import FIXTURES, CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem, invalid_param_names
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.PUBLICATION)

Vacancy = dict[str, Any]

#: A body well above the 1 MiB every node must accept at least, for the 413 check.
OVERSIZE_BYTES: Final = 2 * 1024 * 1024


def _vacancy_refs(ctx: RunContext) -> tuple[int, set[str]] | None:
    listing = walk(ctx, "/vacancies", {"limit": 100})
    if not listing.complete:
        return None
    return len(listing.items), {str(i.get("externalReference")) for i in listing.items}


def _nothing_stored(
    ctx: RunContext, before: tuple[int, set[str]] | None, reference: str
) -> list[str]:
    after = _vacancy_refs(ctx)
    if before is None or after is None:
        return ["could not list vacancies to see whether the refused write left a trace"]
    problems: list[str] = []
    if after[0] != before[0]:
        problems.append(
            f"the refused write changed the vacancy count from {before[0]} to {after[0]}"
        )
    if reference in after[1]:
        problems.append(f"a vacancy with externalReference {reference!r} exists after a 400")
    return problems


def _undo(ctx: RunContext, exchange: Exchange, what: str) -> list[str]:
    """When a write that must be refused was accepted: say so, and close what it created."""
    created = exchange.json()
    if exchange.status >= 300 or not isinstance(created, dict):
        return []
    if isinstance(created.get("id"), str):
        close_vacancy(ctx, created["id"])
    return [f"the node stored {what}"]


@CHECKS.check(
    id="PUB-001",
    title="An invalid vacancy is 400 listing every violation, and nothing is stored",
    requirements=["OW-PUB-001", "OW-PUB-002", "OW-ERR-003", "OW-ERR-002"],
    needs=[PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def invalid_body(ctx: RunContext) -> Outcome:
    body = base_vacancy(ctx)
    body["title"] = ""
    body["kind"] = "no-such-kind"
    body["hoursPerWeek"] = {"min": -1, "max": 20}
    body["location"] = {"gemeente": "GM12", "arbeidsmarktregio": "AM13"}
    before = _vacancy_refs(ctx)
    exchange = post_vacancy(ctx, body)
    problems = expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
    problems += _undo(ctx, exchange, "a vacancy with four invalid members")
    if exchange.status == 400:
        named = " ".join(invalid_param_names(exchange))
        missing = [f for f in ("title", "kind", "hoursPerWeek", "gemeente") if f not in named]
        if missing:
            problems.append(
                f"invalidParams {invalid_param_names(exchange)} does not name "
                f"{', '.join(missing)} (every violation must be listed)"
            )
    problems += _nothing_stored(ctx, before, body["externalReference"])
    return Outcome.of(problems)


@CHECKS.check(
    id="PUB-002",
    title="A vacancy with an unknown member is 400 naming that member",
    requirements=["OW-PUB-001", "OW-ERR-002"],
    needs=[PUBLISHER],
)
def unknown_member(ctx: RunContext) -> Outcome:
    body = base_vacancy(ctx)
    body["salaryInGold"] = 12
    exchange = post_vacancy(ctx, body)
    problems = expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
    problems += _undo(ctx, exchange, "a vacancy with the unknown member salaryInGold")
    if exchange.status == 400 and not any(
        "salaryInGold" in n for n in invalid_param_names(exchange)
    ):
        problems.append(f"invalidParams {invalid_param_names(exchange)} does not name salaryInGold")
    return Outcome.of(problems)


@CHECKS.check(
    id="PUB-003",
    title="A body that is not valid JSON is 400 malformed-body, not a 5xx",
    requirements=["OW-ERR-002", "OW-ERR-006", "OW-ERR-007"],
    needs=[PUBLISHER],
)
def malformed_json(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    for content in (b'{"title": "unfinished', b"\xff\xfe not utf-8", b"[1, 2, 3]"):
        exchange = post_vacancy(ctx, content=content)
        problems += expect_problem(
            exchange, 400, code=(ProblemCode.MALFORMED_BODY, ProblemCode.INVALID_PARAMETERS)
        )
    return Outcome.of(problems)


@CHECKS.check(
    id="PUB-004",
    title="A body in an unsupported Content-Type is 415 problem+json",
    requirements=["OW-ERR-005", "OW-ERR-001"],
    needs=[PUBLISHER],
)
def unsupported_media_type(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    body = json.dumps(base_vacancy(ctx)).encode()
    for content_type in ("text/plain", "application/xml"):
        exchange = post_vacancy(ctx, content=body, content_type=content_type)
        problems += expect_problem(exchange, 415, code=ProblemCode.UNSUPPORTED_MEDIA_TYPE)
    return Outcome.of(problems)


@CHECKS.check(
    id="PUB-005",
    title="A 2 MB body is 413 problem+json, not a 5xx",
    requirements=["OW-ERR-005", "OW-ERR-006"],
    needs=[PUBLISHER],
)
def oversize_body(ctx: RunContext) -> Outcome:
    body = base_vacancy(ctx)
    body["description"] = "x" * OVERSIZE_BYTES
    exchange = post_vacancy(ctx, body)
    return Outcome.of(expect_problem(exchange, 413, code=ProblemCode.PAYLOAD_TOO_LARGE))


@CHECKS.check(
    id="PUB-006",
    title="A task offer without a non-displacement attestation is refused with 400",
    requirements=["OW-OPP-007", "OW-PUB-001"],
    needs=[PUBLISHER, FIXTURES],
)
def task_offer_without_attestation(ctx: RunContext) -> Outcome:
    fixtures = ctx.fixtures_of("task-offer")
    if not fixtures:
        return Outcome.skip("the fixture dataset holds no task offer to start from")
    body = copy.deepcopy(fixtures[0].document)
    body.pop("nonDisplacement", None)
    body["externalReference"] = f"openwerk-conformance-refused-{secrets.token_hex(6)}"
    exchange = ctx.fetch(
        "POST", "/publication/task-offers", client=PUBLISHER, scope=WRITE_SCOPE, json_body=body
    )
    problems = expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
    if exchange.status == 400 and not any(
        "nonDisplacement" in n for n in invalid_param_names(exchange)
    ):
        problems.append(
            f"invalidParams {invalid_param_names(exchange)} does not name nonDisplacement"
        )
    return Outcome.of(problems)


def _read(ctx: RunContext, path: str) -> Exchange:
    if ctx.public_opportunities:
        return ctx.fetch("GET", path)
    return ctx.fetch("GET", path, client="consumer-a", scope="opportunities:read")


def _lifecycle(ctx: RunContext, body: dict[str, Any], created: Vacancy) -> list[str]:
    problems: list[str] = []
    ident = created["id"]
    read = _read(ctx, f"/vacancies/{ident}")
    if read.status != 200 or read.json() != created:
        problems.append(f"{read.describe()}: the vacancy just created is not served as created")
    replacement = {k: v for k, v in body.items() if k != "startDate"}
    replacement["title"] = "Conformance probe (replaced)"
    put = ctx.fetch(
        "PUT",
        f"/publication/vacancies/{ident}",
        client=PUBLISHER,
        scope=WRITE_SCOPE,
        json_body=replacement,
    )
    replaced, found = expect_json(put, 200, "Vacancy")
    problems += found
    if isinstance(replaced, dict):
        for kept in ("id", "publisher", "status", "createdAt"):
            if replaced.get(kept) != created.get(kept):
                problems.append(
                    f"replace changed {kept}: {created.get(kept)!r} → {replaced.get(kept)!r}"
                )
        if "startDate" in replaced:
            problems.append("replace kept startDate, which the replacement left out")
    after = _read(ctx, f"/vacancies/{ident}").json()
    if not isinstance(after, dict) or after.get("title") != replacement["title"]:
        problems.append("the read API does not serve the replaced vacancy at once")
    close = close_vacancy(ctx, ident)
    closed, found = expect_json(close, 200, "Vacancy")
    problems += found
    if isinstance(closed, dict) and closed.get("status") != "closed":
        problems.append(f"after closure the status is {closed.get('status')!r}")
    fetched = _read(ctx, f"/vacancies/{ident}")
    if fetched.status != 200 or (fetched.json() or {}).get("status") != "closed":
        problems.append(f"{fetched.describe()}: a closed vacancy must stay retrievable as closed")
    if ident in {i.get("id") for i in walk(ctx, "/vacancies", {"limit": 100}).items}:
        problems.append("the closed vacancy is still in the default (open) list")
    closed_list = walk(ctx, "/vacancies", {"limit": 100, "status": "closed"}).items
    if ident not in {i.get("id") for i in closed_list}:
        problems.append("the closed vacancy is missing from the list with status=closed")
    again = close_vacancy(ctx, ident)
    problems += expect_problem(
        again, 409, code=(ProblemCode.CONFLICT, ProblemCode.ILLEGAL_TRANSITION)
    )
    return problems


@CHECKS.check(
    id="PUB-007",
    title="Create, replace and close a vacancy: each takes effect at once in the read API",
    requirements=["OW-PUB-006", "OW-PUB-003", "OW-OPP-003"],
    needs=[PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def vacancy_lifecycle(ctx: RunContext) -> Outcome:
    body, exchange = publish_probe(ctx, "lifecycle")
    created, problems = expect_json(exchange, 201, "Vacancy")
    if not isinstance(created, dict) or exchange.status != 201:
        return Outcome.of(problems or [f"{exchange.describe()}: a valid vacancy was refused"])
    if not exchange.header("Location"):
        problems.append(f"{exchange.describe()}: no Location header")
    return Outcome.of(problems + _lifecycle(ctx, body, created))
