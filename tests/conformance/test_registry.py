"""The check registry and the runner's promise: every outcome is a result record."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import pytest
from broken_servers import BASE, make_fake

from openwerk_conformance.context import NodeUnreachable, RunContext, TokenUnavailable
from openwerk_conformance.coverage import compute_coverage
from openwerk_conformance.registry import (
    CHECK_ID_PATTERN,
    FIXTURES,
    SCHEMA_PHASE,
    CheckSet,
    Outcome,
    all_checks,
)
from openwerk_conformance.results import Level, Status
from openwerk_conformance.runner import RunOptions, run, run_check
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.requirements import load_requirements

PACKAGE = Path(__file__).resolve().parents[2] / "conformance" / "openwerk_conformance"


def test_every_check_has_a_stable_id_known_requirements_and_a_class() -> None:
    checks = all_checks()
    catalogue = {r.id for r in load_requirements()}
    assert len({c.id for c in checks}) == len(checks)
    for check in checks:
        assert CHECK_ID_PATTERN.fullmatch(check.id), check.id
        assert check.requirements, check.id
        assert set(check.requirements) <= catalogue, (check.id, check.requirements)
        assert check.level in ("MUST", "SHOULD")
    assert set(SCHEMA_PHASE.requirements) <= catalogue


def test_check_set_refuses_bad_declarations() -> None:
    checks = CheckSet(ConformanceClass.CORE)
    with pytest.raises(ValueError, match="does not match"):
        checks.check(id="core-1", title="t", requirements=["OW-CORE-001"])
    with pytest.raises(ValueError, match="verifies no requirement"):
        checks.check(id="CORE-900", title="t", requirements=[])
    with pytest.raises(ValueError, match="unknown needs"):
        checks.check(id="CORE-900", title="t", requirements=["OW-CORE-001"], needs=["root"])
    checks.check(id="CORE-900", title="t", requirements=["OW-CORE-001"])(lambda ctx: Outcome.ok())
    with pytest.raises(ValueError, match="duplicate"):
        checks.check(id="CORE-900", title="t", requirements=["OW-CORE-001"])


def _ctx(**kwargs: object) -> RunContext:
    fake = make_fake()
    return RunContext(
        base_url=BASE,
        http=httpx.Client(transport=fake.transport),
        **kwargs,  # type: ignore[arg-type]
    )


def _single(func: object, *, level: Level = "MUST", **kwargs: Any) -> Status:
    checks = CheckSet(ConformanceClass.CORE)
    checks.check(id="TEST-001", title="t", requirements=["OW-CORE-001"], level=level, **kwargs)(
        func  # type: ignore[arg-type]
    )
    ctx = _ctx(declared_classes=(ConformanceClass.CORE,))
    return run_check(next(iter(checks)), ctx).status


def _raise(exc: Exception) -> object:
    def check(ctx: RunContext) -> Outcome:
        raise exc

    return check


def test_outcomes_map_to_statuses_by_level() -> None:
    assert _single(lambda ctx: Outcome.ok()) is Status.PASS
    assert _single(lambda ctx: Outcome.fail("broken")) is Status.FAIL
    assert _single(lambda ctx: Outcome.fail("broken"), level="SHOULD") is Status.WARN
    assert _single(lambda ctx: Outcome.skip("n/a")) is Status.SKIP


def test_exceptions_become_data_never_escape() -> None:
    assert _single(_raise(KeyError("suite bug"))) is Status.ERROR
    assert _single(_raise(TokenUnavailable("no token"))) is Status.SKIP
    assert _single(_raise(NodeUnreachable("timeout"))) is Status.FAIL
    assert _single(_raise(NodeUnreachable("timeout")), level="SHOULD") is Status.WARN


def test_missing_credentials_classes_or_fixtures_skip_with_a_reason() -> None:
    assert _single(lambda ctx: Outcome.ok(), needs=["publisher"]) is Status.SKIP
    assert (
        _single(lambda ctx: Outcome.ok(), needs_classes=[ConformanceClass.MATCHING]) is Status.SKIP
    )
    checks = CheckSet(ConformanceClass.CORE)
    checks.check(id="TEST-002", title="t", requirements=["OW-CORE-001"], needs=[FIXTURES])(
        lambda ctx: Outcome.ok()
    )
    ctx = _ctx(fixture_problem="not loaded")
    result = run_check(next(iter(checks)), ctx)
    assert result.status is Status.SKIP
    assert "not loaded" in result.message


def test_failing_results_keep_redacted_exchanges() -> None:
    checks = CheckSet(ConformanceClass.CORE)

    @checks.check(id="TEST-003", title="t", requirements=["OW-CORE-001"])
    def with_token(ctx: RunContext) -> Outcome:
        ctx.fetch("GET", "/conformance", token="secret-token-value")
        return Outcome.fail("look at the exchange")

    result = run_check(next(iter(checks)), _ctx())
    assert result.status is Status.FAIL
    assert len(result.exchanges) == 1
    assert "secret-token-value" not in str(result.exchanges[0].to_json())
    assert result.exchanges[0].request_headers["authorization"] == "Bearer <redacted>"


def test_checks_are_selected_by_declared_classes() -> None:
    fake = make_fake()
    result = run(
        RunOptions(
            base_url=BASE,
            transport=fake.transport,
            credentials=fake.credentials,
            schemathesis=False,
            classes=[ConformanceClass.CORE],
        )
    )
    assert {r.conformance_class for r in result.results} == {ConformanceClass.CORE}
    assert result.declared_classes == (
        ConformanceClass.CORE,
        ConformanceClass.OPPORTUNITIES,
        ConformanceClass.PUBLICATION,
    )


def test_coverage_counts_cited_must_requirements() -> None:
    cov = compute_coverage()
    assert not cov.unknown
    assert cov.covered
    assert 0 < cov.percentage() <= 100
    assert all(r.level == "MUST" for r in cov.must)
    assert {r.id for r in cov.uncovered_testable}.isdisjoint(cov.cited_by)


def test_the_suite_imports_neither_the_server_nor_the_sdk() -> None:
    forbidden = {"openwerk_server", "openwerk", "pydantic"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
