"""Select, order and run the checks; turn every outcome — and every suite bug — into data.

Selection follows stac-api-validator: the classes the node declares at ``/conformance`` (or
those asked for with ``--class``), always including core. Order: the fixture setup when any
selected check needs the dataset, the scenario checks in registry order, the schemathesis
phase, and last the checks that sweep the whole run's traffic.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from openwerk_conformance import suite_version
from openwerk_conformance.context import NodeUnreachable, RunContext, TokenUnavailable
from openwerk_conformance.federation import load_setup, serve_providers
from openwerk_conformance.federation.setup import CONSUMER_ROLE
from openwerk_conformance.fixtures import setup_fixtures
from openwerk_conformance.oauth import ClientCredentials
from openwerk_conformance.registry import FIXTURES, Check, Outcome, all_checks
from openwerk_conformance.results import CheckResult, RunResult, Status
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import operations, spec_version

__all__ = ["RunOptions", "declared_classes", "run", "run_check"]

#: Reports show at most this many exchanges per result (the last ones, which prove the point).
MAX_EXCHANGES_PER_RESULT = 12
_ROLES = ("publisher", "consumer-a", "consumer-b", "gateway")

ProgressCallback = Callable[[CheckResult], None]


@dataclass(frozen=True)
class RunOptions:
    """What to run against which node, as whom."""

    base_url: str
    credentials: Mapping[str, ClientCredentials] = field(default_factory=dict)
    token_endpoint: str | None = None
    classes: Sequence[ConformanceClass] = ()
    preloaded: bool = False
    schemathesis_examples: int = 10
    #: Run the schemathesis phase (tests switch it off for speed where it is not the subject).
    schemathesis: bool = True
    timeout: float = 30.0
    #: An httpx transport to use instead of the network (tests: ``httpx.ASGITransport``).
    transport: httpx.BaseTransport | None = None
    #: Checks to run instead of the full registry (tests).
    checks: Sequence[Check] | None = None
    #: Another fixture dataset than spec/v1/fixtures (tests).
    fixtures_dir: Path | None = None
    #: A directory written by ``federation prepare``: serve its providers during the run.
    federation_dir: Path | None = None


def declared_classes(ctx: RunContext) -> tuple[ConformanceClass, ...]:
    """The classes the node declares at ``/conformance`` (unknown URIs ignored)."""
    try:
        exchange = ctx.fetch("GET", "/conformance")
    except NodeUnreachable:
        return ()
    body = exchange.json()
    uris = body.get("conformsTo") if isinstance(body, dict) else None
    found: list[ConformanceClass] = []
    for uri in uris if isinstance(uris, list) else []:
        try:
            cls = ConformanceClass.from_uri(str(uri))
        except ValueError:
            continue
        if cls not in found:
            found.append(cls)
    return tuple(found)


def _skip_reason(check: Check, ctx: RunContext) -> str | None:
    missing = [role for role in check.needs if role in _ROLES and not ctx.has_credentials(role)]
    if missing:
        return f"needs credentials for {', '.join(missing)}"
    absent = [c.value for c in check.needs_classes if c not in ctx.declared_classes]
    if absent:
        return f"the node does not declare {', '.join(absent)}"
    if FIXTURES in check.needs and ctx.fixture_problem is not None:
        return f"the fixture dataset is not available: {ctx.fixture_problem}"
    return None


def _result(check: Check, status: Status, message: str, ctx: RunContext, t0: float) -> CheckResult:
    exchanges = ctx.take_exchanges()
    keep = status in (Status.FAIL, Status.WARN, Status.ERROR)
    return CheckResult(
        check_id=check.id,
        title=check.title,
        conformance_class=check.conformance_class,
        level=check.level,
        requirements=check.requirements,
        status=status,
        message=message,
        exchanges=tuple(e.excerpt() for e in exchanges[-MAX_EXCHANGES_PER_RESULT:]) if keep else (),
        duration=time.perf_counter() - t0,
    )


def run_check(check: Check, ctx: RunContext) -> CheckResult:
    """Run one check; whatever happens, the answer is a result record."""
    t0 = time.perf_counter()
    ctx.begin_check()
    reason = _skip_reason(check, ctx)
    if reason is not None:
        return _result(check, Status.SKIP, reason, ctx, t0)
    broken = Status.FAIL if check.level == "MUST" else Status.WARN
    try:
        outcome: Outcome = check.func(ctx)
    except TokenUnavailable as exc:
        return _result(check, Status.SKIP, str(exc), ctx, t0)
    except NodeUnreachable as exc:
        return _result(check, broken, str(exc), ctx, t0)
    except Exception as exc:
        # A bug in the suite (or an answer it failed to anticipate): never the vendor's FAIL.
        frames = traceback.format_exception(exc, limit=-3)
        message = f"suite error: {type(exc).__name__}: {exc}\n{''.join(frames)}"
        return _result(check, Status.ERROR, message, ctx, t0)
    if outcome.skip_reason is not None:
        return _result(check, Status.SKIP, outcome.skip_reason, ctx, t0)
    if outcome.problems:
        return _result(check, broken, "\n".join(outcome.problems), ctx, t0)
    return _result(check, Status.PASS, outcome.note, ctx, t0)


def select_checks(
    checks: Sequence[Check], classes: Sequence[ConformanceClass]
) -> tuple[list[Check], list[Check]]:
    """The checks of the selected classes, split into (ordinary, late)."""
    chosen = [c for c in checks if c.conformance_class in classes]
    return [c for c in chosen if not c.late], [c for c in chosen if c.late]


def _planned(checks: int, options: RunOptions, classes: Sequence[ConformanceClass]) -> int:
    """How many results to expect (the schemathesis phase: one per operation of the classes)."""
    if not options.schemathesis or options.schemathesis_examples <= 0:
        return checks
    names = {c.value for c in classes}
    return checks + sum(1 for _, _, op in operations() if set(op.get("tags", [])) & names)


def run(
    options: RunOptions,
    on_result: ProgressCallback | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RunResult:
    """Run the suite against one node; ``on_plan`` hears how many results to expect."""
    started = datetime.now(UTC)
    http = httpx.Client(
        transport=options.transport,
        timeout=options.timeout,
        headers={"User-Agent": f"openwerk-conformance/{suite_version()}"},
    )
    results: list[CheckResult] = []

    def emit(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    with http, contextlib.ExitStack() as stack:
        ctx = RunContext(
            base_url=options.base_url,
            http=http,
            credentials=dict(options.credentials),
            token_endpoint_override=options.token_endpoint,
            preloaded=options.preloaded,
            fixtures_dir=options.fixtures_dir,
        )
        if options.federation_dir is not None:
            setup = load_setup(options.federation_dir)
            ctx.federation = stack.enter_context(serve_providers(setup))
            ctx.credentials = {**ctx.credentials, CONSUMER_ROLE: setup.consumer()}
        ctx.declared_classes = declared_classes(ctx)
        selected = list(options.classes) or list(ctx.declared_classes)
        if ConformanceClass.CORE not in selected:
            selected.insert(0, ConformanceClass.CORE)
        ctx.selected_classes = tuple(c for c in ConformanceClass if c in selected)
        registry = options.checks if options.checks is not None else all_checks()
        ordinary, late = select_checks(registry, ctx.selected_classes)
        needs_fixtures = any(FIXTURES in c.needs for c in ordinary + late)
        if on_plan is not None:
            total = len(ordinary) + len(late) + int(needs_fixtures)
            on_plan(_planned(total, options, ctx.selected_classes))

        if needs_fixtures:
            ctx.begin_check()
            emit(setup_fixtures(ctx))
        else:
            ctx.fixture_problem = "no selected check needs it"

        for check in ordinary:
            emit(run_check(check, ctx))
        if options.schemathesis:
            # Imported here: schemathesis is heavy and only this phase needs it.
            from openwerk_conformance.property_phase import run_property_phase

            for result in run_property_phase(ctx, options.schemathesis_examples):
                emit(result)
        for check in late:
            emit(run_check(check, ctx))
        landing = ctx.landing if isinstance(ctx.landing, dict) else {}

    node_spec = landing.get("specVersion")
    return RunResult(
        base_url=ctx.base_url,
        suite_version=suite_version(),
        spec_version=spec_version(),
        node_spec_version=node_spec if isinstance(node_spec, str) else None,
        node_id=ctx.node_id,
        declared_classes=ctx.declared_classes,
        selected_classes=ctx.selected_classes,
        started=started,
        finished=datetime.now(UTC),
        results=tuple(results),
    )
