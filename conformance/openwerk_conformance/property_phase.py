"""The schemathesis phase: generated requests against every operation of the selected classes.

For each operation in the node's published ``/openapi.json`` (the normative document when
the node's own cannot be loaded) whose tag is a selected class, schemathesis generates a
bounded number of requests; the suite sends them itself over its httpx client (so tests can
inject a transport, and every response is swept for API-Version afterwards) with a token of
the operation's scope, and runs two checks on each answer: ``not_a_server_error`` and
``response_schema_conformance``. One result per operation: ``SCHEMA-<operationId>``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from openwerk_conformance.context import Exchange, NodeUnreachable, RunContext, TokenUnavailable
from openwerk_conformance.registry import SCHEMA_PHASE
from openwerk_conformance.results import CheckResult, Excerpt, Status
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import openapi_for_server

__all__ = ["run_property_phase"]

_CHECKS = [not_a_server_error, response_schema_conformance]
#: Failures kept per operation (more add nothing a developer needs to start fixing).
_MAX_FAILURES = 3


def _result(
    operation_id: str,
    cls: ConformanceClass,
    status: Status,
    message: str,
    exchanges: tuple[Excerpt, ...] = (),
    duration: float = 0.0,
) -> CheckResult:
    return CheckResult(
        check_id=f"{SCHEMA_PHASE.prefix}{operation_id}",
        title=f"{SCHEMA_PHASE.title}: {operation_id}",
        conformance_class=cls,
        level=SCHEMA_PHASE.level,
        requirements=SCHEMA_PHASE.requirements,
        status=status,
        message=message,
        exchanges=exchanges,
        duration=duration,
    )


def _document(ctx: RunContext) -> tuple[dict[str, Any], str]:
    """The node's published document, or the normative one (with a note why)."""
    try:
        exchange = ctx.fetch("GET", "/openapi.json")
    except NodeUnreachable:
        exchange = None
    doc = exchange.json() if exchange is not None and exchange.status == 200 else None
    ctx.take_exchanges()
    if isinstance(doc, dict) and isinstance(doc.get("paths"), dict):
        return doc, ""
    note = "(the node's /openapi.json was unusable; requests come from the normative one) "
    return openapi_for_server(ctx.base_url), note


def _class_of(tags: list[Any]) -> ConformanceClass | None:
    for tag in tags:
        try:
            return ConformanceClass(str(tag))
        except ValueError:
            continue
    return None


def _credentials_for(ctx: RunContext, security: Any) -> tuple[str, str] | None:
    """(role, scope) for an operation's security requirements; ``None``: call without a token."""
    requirements = security if isinstance(security, list) else []
    if not requirements:
        return None
    optional = any(isinstance(r, dict) and not r for r in requirements)
    if optional and ctx.public_opportunities:
        return None
    for requirement in requirements:
        if isinstance(requirement, dict):
            for scopes in requirement.values():
                if isinstance(scopes, list) and scopes:
                    scope = str(scopes[0])
                    return ("publisher" if scope == "publication:write" else "consumer-a"), scope
    return None


def _request(ctx: RunContext, kwargs: dict[str, Any]) -> httpx.Request:
    """An httpx request from schemathesis' requests-style transport kwargs."""
    extra: dict[str, Any] = {}
    if "json" in kwargs:
        extra["json"] = kwargs["json"]
    elif "data" in kwargs:
        data = kwargs["data"]
        extra["content" if isinstance(data, bytes | str) else "data"] = data
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
    return ctx.http.build_request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers=headers,
        **extra,
    )


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        try:
            yield result.ok()
        except Exception:  # noqa: S112 - an operation schemathesis cannot load is skipped, not fatal
            continue


def _exercise(
    ctx: RunContext, operation: Any, examples: int, auth: str | None
) -> list[tuple[str, Exchange]]:
    failures: list[tuple[str, Exchange]] = []
    extra_headers = {"Authorization": f"Bearer {auth}"} if auth else {}

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def exercise(case: Any) -> None:
        if len(failures) >= _MAX_FAILURES:
            return
        kwargs = case.as_transport_kwargs(base_url=ctx.base_url, headers=extra_headers)
        exchange = ctx.send(_request(ctx, kwargs))
        try:
            case.validate_response(exchange.response, checks=_CHECKS)
        except FailureGroup as group:
            titles = "; ".join(sorted({f.title for f in group.exceptions}))
            failures.append((titles, exchange))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exercise()
    return failures


def run_property_phase(ctx: RunContext, examples: int) -> list[CheckResult]:
    """One result per operation of the selected classes."""
    if examples <= 0:
        return []
    doc, note = _document(ctx)
    doc = {**doc, "servers": [{"url": ctx.base_url}]}
    schema = schemathesis.openapi.from_dict(doc, config=SchemathesisConfig())
    results: list[CheckResult] = []
    for operation in _operations(schema):
        raw = operation.definition.raw
        operation_id = str(raw.get("operationId") or operation.label.replace(" ", "_"))
        cls = _class_of(list(raw.get("tags", [])))
        if cls is None or cls not in ctx.selected_classes:
            continue
        t0 = time.perf_counter()
        ctx.begin_check()
        try:
            who = _credentials_for(ctx, raw.get("security", doc.get("security")))
            token = ctx.token(*who) if who is not None else None
            failures = _exercise(ctx, operation, examples, token)
        except TokenUnavailable as exc:
            results.append(_result(operation_id, cls, Status.SKIP, str(exc)))
            continue
        except NodeUnreachable as exc:
            results.append(_result(operation_id, cls, Status.FAIL, note + str(exc)))
            continue
        except Exception as exc:
            message = f"suite error in the schemathesis phase: {type(exc).__name__}: {exc}"
            results.append(_result(operation_id, cls, Status.ERROR, message))
            continue
        finally:
            ctx.take_exchanges()
        duration = time.perf_counter() - t0
        if failures:
            lines = [f"{exchange.describe()}: {titles}" for titles, exchange in failures]
            excerpts = tuple(exchange.excerpt() for _, exchange in failures)
            results.append(
                _result(operation_id, cls, Status.FAIL, note + "\n".join(lines), excerpts, duration)
            )
        else:
            message = f"{note}up to {examples} generated requests, no failure".strip()
            results.append(_result(operation_id, cls, Status.PASS, message, (), duration))
    return results
