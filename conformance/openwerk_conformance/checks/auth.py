"""Core class, authentication: the token endpoint (RFC 7523 private_key_jwt) and bearer checks.

The token endpoint checks send assertions a real client never would — replayed, for another
audience, expired, too long-lived, signed with a key outside the directory, unsigned, with
``sub`` ≠ ``iss`` — and each must be refused with a token problem (OW-AUTH-011).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.oauth import (
    ASSERTION_TYPE,
    generate_key,
    make_assertion,
    token_form,
    unsigned_assertion,
)
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.CORE)

_CONSUMER = "consumer-a"
_ROLES = ("publisher", "consumer-a", "consumer-b")


@dataclass(frozen=True)
class Protected:
    """An operation that needs a token: where it is, which scope, and who may call it."""

    path: str
    scope: str
    role: str


#: Protected GET operations by class, in order of preference for the 401/403 checks.
_PROTECTED: tuple[tuple[ConformanceClass, Protected], ...] = (
    (
        ConformanceClass.PUBLICATION,
        Protected("/publication/candidates", "publication:write", "publisher"),
    ),
    (ConformanceClass.CANDIDATES, Protected("/candidates", "candidates:read", _CONSUMER)),
    (ConformanceClass.EVENTS, Protected("/events", "events:read", _CONSUMER)),
    (
        ConformanceClass.STATISTICS,
        Protected("/statistics/candidates", "statistics:read", _CONSUMER),
    ),
    (ConformanceClass.INTRODUCTIONS, Protected("/introductions", "introductions:write", _CONSUMER)),
)


def _protected(ctx: RunContext) -> Protected | None:
    for cls, op in _PROTECTED:
        if cls in ctx.declared_classes:
            return op
    if ConformanceClass.OPPORTUNITIES in ctx.declared_classes and not ctx.public_opportunities:
        return Protected("/vacancies", "opportunities:read", _CONSUMER)
    return None


_NO_PROTECTED = "the node declares no class with an operation that needs a token"


#: Consumer scopes in order of preference, with the class that makes a node grant them.
_CONSUMER_SCOPES: tuple[tuple[ConformanceClass, str], ...] = (
    (ConformanceClass.CANDIDATES, "candidates:read"),
    (ConformanceClass.EVENTS, "events:read"),
    (ConformanceClass.STATISTICS, "statistics:read"),
    (ConformanceClass.INTRODUCTIONS, "introductions:write"),
    (ConformanceClass.OPPORTUNITIES, "opportunities:read"),
)


def _consumer_scopes(ctx: RunContext) -> list[str]:
    """Scopes a consumer can be granted at this node, given the classes it declares."""
    return [scope for cls, scope in _CONSUMER_SCOPES if cls in ctx.declared_classes]


def _refused(exchange: Exchange, what: str) -> list[str]:
    """A token request that must be refused: 400 or 401 token problem with an ``error``."""
    if exchange.status == 200:
        return [f"{exchange.describe()}: the node issued a token for {what}"]
    return expect_problem(
        exchange,
        (400, 401),
        schema_name="TokenProblem",
        code=(ProblemCode.UNAUTHORIZED, ProblemCode.TOKEN_REQUEST_INVALID),
    )


def _error_member(exchange: Exchange, expected: str) -> list[str]:
    """The RFC 6749 ``error`` member of a refused token request, when it is not ``expected``."""
    body = exchange.json()
    if exchange.status in (400, 401) and isinstance(body, dict) and body.get("error") != expected:
        return [f"{exchange.describe()}: error {body.get('error')!r}, expected {expected}"]
    return []


def _first_use(ctx: RunContext, assertion: str) -> list[str]:
    exchange = ctx.request_token(assertion)
    if exchange.status != 200:
        return [f"{exchange.describe()}: a fresh, valid assertion was refused"]
    return []


@CHECKS.check(
    id="AUTH-001",
    title="The token endpoint issues a Bearer token (≤ 1 hour, no-store) to each configured client",
    requirements=["OW-AUTH-001", "OW-AUTH-007"],
)
def token_issued(ctx: RunContext) -> Outcome:
    if not any(ctx.has_credentials(role) for role in _ROLES):
        return Outcome.skip("no client credentials given")
    problems: list[str] = []
    for role in _ROLES:
        if not ctx.has_credentials(role):
            continue
        exchange = ctx.request_token(make_assertion(ctx.credential(role), ctx.token_endpoint))
        body, found = expect_json(exchange, 200, "TokenResponse")
        problems += [f"{role}: {p}" for p in found]
        if exchange.status == 200 and "no-store" not in (exchange.header("Cache-Control") or ""):
            problems.append(f"{role}: the token response lacks Cache-Control: no-store")
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        if isinstance(lifetime, int) and lifetime > 3600:
            problems.append(f"{role}: expires_in {lifetime} exceeds one hour")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-002",
    title="A protected operation without a token is 401 problem+json with a Bearer challenge",
    requirements=["OW-AUTH-009", "OW-ERR-001"],
)
def missing_token(ctx: RunContext) -> Outcome:
    op = _protected(ctx)
    if op is None:
        return Outcome.skip(_NO_PROTECTED)
    exchange = ctx.fetch("GET", op.path)
    problems = expect_problem(exchange, 401, code=ProblemCode.UNAUTHORIZED)
    challenge = exchange.header("WWW-Authenticate") or ""
    if exchange.status == 401 and not challenge.lower().startswith("bearer"):
        problems.append(
            f"{exchange.describe()}: WWW-Authenticate {challenge!r} is not a Bearer challenge"
        )
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-003",
    title="A garbage or unsigned bearer token is 401 problem+json with a Bearer challenge",
    requirements=["OW-AUTH-009", "OW-AUTH-007"],
)
def garbage_token(ctx: RunContext) -> Outcome:
    op = _protected(ctx)
    if op is None:
        return Outcome.skip(_NO_PROTECTED)
    problems: list[str] = []
    forged = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6InB1YmxpY2F0aW9uOndyaXRlIn0."
    for token in ("not-a-token", forged):
        exchange = ctx.fetch("GET", op.path, token=token)
        problems += expect_problem(exchange, 401, code=ProblemCode.INVALID_TOKEN)
        challenge = exchange.header("WWW-Authenticate") or ""
        if exchange.status == 401 and not challenge.lower().startswith("bearer"):
            problems.append(f"{exchange.describe()}: WWW-Authenticate {challenge!r} is not Bearer")
        elif exchange.status == 401 and "invalid_token" not in challenge:
            problems.append(
                f'{exchange.describe()}: WWW-Authenticate {challenge!r} lacks error="invalid_token"'
            )
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-004",
    title="A valid token without the operation's scope is 403 with insufficient_scope",
    requirements=["OW-AUTH-010", "OW-ERR-001"],
    needs=[_CONSUMER],
)
def insufficient_scope(ctx: RunContext) -> Outcome:
    op = _protected(ctx)
    if op is None:
        return Outcome.skip(_NO_PROTECTED)
    if op.role == "publisher":
        # A consumer never holds publication:write (its directory role does not allow it).
        exchange = ctx.fetch("GET", op.path, client=_CONSUMER)
    else:
        others = [s for s in _consumer_scopes(ctx) if s != op.scope]
        if not others:
            return Outcome.skip("no second consumer scope at this node to test a missing scope")
        exchange = ctx.fetch("GET", op.path, client=_CONSUMER, scope=others[0])
    problems = expect_problem(exchange, 403, code=ProblemCode.INSUFFICIENT_SCOPE)
    challenge = exchange.header("WWW-Authenticate") or ""
    if exchange.status == 403 and "insufficient_scope" not in challenge:
        problems.append(f"{exchange.describe()}: WWW-Authenticate {challenge!r} lacks the error")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-005",
    title="A replayed client assertion is refused",
    requirements=["OW-AUTH-006", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def replayed_assertion(ctx: RunContext) -> Outcome:
    assertion = make_assertion(ctx.credential(_CONSUMER), ctx.token_endpoint)
    problems = _first_use(ctx, assertion)
    if problems:
        return Outcome.of(problems)
    return Outcome.of(_refused(ctx.request_token(assertion), "a replayed assertion (same jti)"))


@CHECKS.check(
    id="AUTH-006",
    title="An assertion whose aud is not this node's token endpoint is refused",
    requirements=["OW-AUTH-004", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def wrong_audience(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    problems: list[str] = []
    for audience in (ctx.url("/conformance"), "https://other-node.example.nl/v1/oauth/token"):
        exchange = ctx.request_token(make_assertion(credentials, audience))
        problems += _refused(exchange, f"an assertion with aud {audience}")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-007",
    title="An expired assertion, or one that expires more than 5 minutes ahead, is refused",
    requirements=["OW-AUTH-005", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def assertion_lifetime(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    now = time.time()
    expired = make_assertion(credentials, ctx.token_endpoint, now=now - 600, lifetime=120)
    too_long = make_assertion(credentials, ctx.token_endpoint, now=now, lifetime=3600)
    problems = _refused(ctx.request_token(expired), "an assertion that expired 8 minutes ago")
    problems += _refused(ctx.request_token(too_long), "an assertion valid for an hour")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-008",
    title="An assertion signed with a key not in the directory, or unsigned, is refused",
    requirements=["OW-AUTH-002", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def foreign_key(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    stranger = generate_key()
    # Once with the client's own kid (the node must verify, not trust the kid) ...
    same_kid = make_assertion(credentials, ctx.token_endpoint, key=stranger)
    problems = _refused(ctx.request_token(same_kid), "an assertion signed with a foreign key")
    # ... and once with the stranger's kid, which the directory does not list.
    own_kid = make_assertion(
        type(credentials)(credentials.role, credentials.client_id, stranger), ctx.token_endpoint
    )
    problems += _refused(ctx.request_token(own_kid), "an assertion with an unlisted kid")
    unsigned = unsigned_assertion(credentials, ctx.token_endpoint)
    problems += _refused(ctx.request_token(unsigned), "an assertion with alg none")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-009",
    title="An assertion whose sub differs from iss, or from an unknown client, is refused",
    requirements=["OW-AUTH-003", "OW-AUTH-002", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def wrong_subject(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    mismatch = make_assertion(
        credentials, ctx.token_endpoint, overrides={"sub": "someone-else-entirely"}
    )
    problems = _refused(ctx.request_token(mismatch), "an assertion with sub ≠ iss")
    stranger = type(credentials)(credentials.role, "no-such-member-openwerk", generate_key())
    unknown = make_assertion(stranger, ctx.token_endpoint)
    problems += _refused(ctx.request_token(unknown), "an assertion from a non-member")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-010",
    title="Scopes are narrowed to the request; a scope the role does not allow is invalid_scope",
    requirements=["OW-AUTH-008", "OW-AUTH-011"],
    needs=[_CONSUMER],
)
def scopes(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    problems: list[str] = []
    for scope in _consumer_scopes(ctx)[:1]:
        narrow = ctx.request_token(make_assertion(credentials, ctx.token_endpoint), scope)
        body, found = expect_json(narrow, 200, "TokenResponse")
        problems += found
        if isinstance(body, dict) and str(body.get("scope", "")).split() != [scope]:
            problems.append(f"asked for {scope!r}, granted {body.get('scope')!r}")
    refused = ctx.request_token(
        make_assertion(credentials, ctx.token_endpoint), "publication:write"
    )
    problems += _refused(refused, "a consumer asking for publication:write")
    problems += _error_member(refused, "invalid_scope")
    if ctx.has_credentials("publisher") and ConformanceClass.PUBLICATION in ctx.declared_classes:
        publisher = ctx.credential("publisher")
        granted = ctx.request_token(make_assertion(publisher, ctx.token_endpoint))
        body = granted.json()
        scope = str(body.get("scope", "")) if isinstance(body, dict) else ""
        if granted.status == 200 and "publication:write" not in scope.split():
            problems.append(f"the publisher was granted {scope!r}, no publication:write")
    return Outcome.of(problems)


@CHECKS.check(
    id="AUTH-011",
    title="A malformed token request (wrong grant type, no assertion) is 400 with its error",
    requirements=["OW-AUTH-011", "OW-ERR-002"],
    needs=[_CONSUMER],
)
def malformed_token_request(ctx: RunContext) -> Outcome:
    credentials = ctx.credential(_CONSUMER)
    problems: list[str] = []
    wrong_grant = token_form(make_assertion(credentials, ctx.token_endpoint))
    wrong_grant["grant_type"] = "password"
    exchange = ctx.request_token("", data=wrong_grant)
    problems += expect_problem(
        exchange, 400, schema_name="TokenProblem", code=ProblemCode.TOKEN_REQUEST_INVALID
    )
    problems += _error_member(exchange, "unsupported_grant_type")
    no_assertion = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
    exchange = ctx.request_token("", data=no_assertion)
    problems += expect_problem(
        exchange, 400, schema_name="TokenProblem", code=ProblemCode.TOKEN_REQUEST_INVALID
    )
    problems += _error_member(exchange, "invalid_request")
    return Outcome.of(problems)
