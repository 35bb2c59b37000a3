"""The federation checks against the reference gateway, fed by the suite's own providers.

The gateway is configured exactly as the contract says (spec/docs/federation.md,
"Conformance testing of a gateway"): from the DIR that ``federation prepare`` wrote. The
unbroken gateway passes every federation check; a gateway that hides its missing providers
fails the OW-FED-005 check, and one that lists in the wrong order fails OW-FED-006.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from reference_node import free_port, serve_app
from typer.testing import CliRunner

from openwerk import FederatedMatchResult
from openwerk_conformance.cli import app as cli_app
from openwerk_conformance.federation import FederationSetup, load_setup, prepare, serve_providers
from openwerk_conformance.federation.providers import expected_merge, provider_vacancies
from openwerk_conformance.federation.setup import CONSUMER, OK_PROVIDERS, PROVIDERS
from openwerk_conformance.oauth import (
    ClientCredentials,
    generate_key,
    load_private_key,
    make_assertion,
    token_form,
)
from openwerk_conformance.registry import all_checks
from openwerk_conformance.results import CheckResult, RunResult, Status
from openwerk_conformance.runner import RunOptions, run
from openwerk_conformance.schema import schema_problems
from openwerk_server.app import create_app
from openwerk_server.gateway import routes as gateway_routes
from openwerk_server.gateway import service as gateway_service
from openwerk_server.settings import NodeSettings

#: Short, so the hung provider costs little; the contract's own value is 2 s.
DEADLINE = 0.5
CHECK_IDS = {
    "OW-FED-004": "FED-001",
    "OW-FED-005": "FED-002",
    "OW-FED-006": "FED-003",
    "OW-FED-007": "FED-004",
    "OW-FED-010": "FED-005",
}
#: Every federation check; FED-006 (match merge) also verifies OW-FED-006.
ALL_CHECK_IDS = {*CHECK_IDS.values(), "FED-006"}


@contextmanager
def reference_gateway(root: Path) -> Iterator[FederationSetup]:
    """The reference server in gateway mode, configured from a prepared DIR, on loopback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    setup = prepare(root / "federation", url, deadline=DEADLINE)
    settings = NodeSettings(
        mode="gateway",
        node_id=setup.gateway_id,
        node_name="Gateway under test",
        organisation_type="werkbedrijf",
        organisation_name="Open Werk",
        base_url=url,
        database_url=f"sqlite:///{root / 'gateway.db'}",
        pseudonym_secret="conformance-federation-test-secret-0123456789",
        directory_path=setup.root / "directory.jws",
        operator_key_path=setup.root / "operator.jwks.json",
        node_key_path=setup.root / "gateway.jwk.json",
        gateway_deadline_seconds=setup.deadline,
    )
    with serve_app(create_app(settings), port):
        yield setup


def run_federation(setup: FederationSetup, *ids: str) -> RunResult:
    """The federation checks ``ids`` (default: all) against the prepared gateway."""
    checks = [c for c in all_checks() if c.id in (ids or ALL_CHECK_IDS)]
    options = RunOptions(
        base_url=setup.gateway_url, federation_dir=setup.root, checks=checks, schemathesis=False
    )
    return run(options)


def result_of(result: RunResult, check_id: str) -> CheckResult:
    return next(r for r in result.results if r.check_id == check_id)


def test_the_suites_providers_serve_spec_valid_vacancies() -> None:
    for node in OK_PROVIDERS:
        for item in provider_vacancies(node):
            assert schema_problems(item, "Vacancy") == []
    merged = expected_merge()
    assert len(merged) == len(set(merged)) == 12
    # The ties the dataset builds in are decided by node id (same createdAt and id).
    assert merged[:2] == [(OK_PROVIDERS[0], "vac-000"), (OK_PROVIDERS[1], "vac-000")]


def test_the_reference_gateway_passes_every_federation_check(tmp_path: Path) -> None:
    with reference_gateway(tmp_path) as setup:
        result = run_federation(setup)
    statuses = {r.check_id: (r.status, r.message) for r in result.results}
    assert set(statuses) == ALL_CHECK_IDS
    assert all(s is Status.PASS for s, _ in statuses.values()), statuses
    fan_out = result_of(result, "FED-001")
    assert fan_out.duration < DEADLINE * 1.1 + 0.5


def test_without_federation_dir_the_checks_skip(tmp_path: Path) -> None:
    with reference_gateway(tmp_path) as setup:
        checks = [c for c in all_checks() if c.id in ALL_CHECK_IDS]
        result = run(RunOptions(base_url=setup.gateway_url, checks=checks, schemathesis=False))
    assert {r.status for r in result.results} == {Status.SKIP}
    assert all("--federation" in r.message for r in result.results)


def _assert_fails_on(result: RunResult, requirement: str) -> None:
    check = result_of(result, CHECK_IDS[requirement])
    assert check.status is Status.FAIL, check.message
    assert requirement in check.requirements
    assert check.exchanges, "the failure carries the exchange that shows it"


def test_a_gateway_hiding_a_missing_node_fails_ow_fed_005(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = gateway_service.federation_fields

    def hiding(partial: bool, nodes: list[Any]) -> dict[str, Any]:
        return real(False, [n for n in nodes if n.status == "ok"])

    monkeypatch.setattr(gateway_routes, "federation_fields", hiding)
    with reference_gateway(tmp_path) as setup:
        result = run_federation(setup, "FED-002")
    _assert_fails_on(result, "OW-FED-005")
    message = result_of(result, "FED-002").message
    assert "no entry for provider conformance-provider-hung" in message
    assert "`partial` is False" in message


def test_a_gateway_listing_out_of_order_fails_ow_fed_006(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_page = gateway_service.Gateway.page

    async def reversed_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        page, cursor = await real_page(self, *args, **kwargs)
        page.items.reverse()
        return page, cursor

    monkeypatch.setattr(gateway_service.Gateway, "page", reversed_page)
    with reference_gateway(tmp_path) as setup:
        result = run_federation(setup, "FED-003")
    _assert_fails_on(result, "OW-FED-006")
    assert "merge order differs at position 0" in result_of(result, "FED-003").message


def test_a_gateway_ranking_pseudonym_before_node_fails_fed_006(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = gateway_service.Gateway.run

    async def misranked(self: Any, call: Any) -> Any:
        result = await real_run(self, call)
        if isinstance(result, FederatedMatchResult):
            result.items.sort(key=lambda c: (-c.score, c.candidate.id, c.node))
        return result

    monkeypatch.setattr(gateway_service.Gateway, "run", misranked)
    with reference_gateway(tmp_path) as setup:
        result = run_federation(setup, "FED-006")
    check = result_of(result, "FED-006")
    assert check.status is Status.FAIL, check.message
    assert "OW-FED-006" in check.requirements
    assert check.exchanges
    assert "node id asc, pseudonym asc" in check.message


def test_the_suites_providers_admit_only_the_gateways_assertion(tmp_path: Path) -> None:
    """The token endpoint verifies the assertion against the gateway's key in the directory."""
    gateway_url = "http://127.0.0.1:9/v1"
    setup = prepare(tmp_path, gateway_url, deadline=DEADLINE)
    node = OK_PROVIDERS[0]
    token_url = f"{setup.provider_url(node)}/oauth/token"
    gateway = ClientCredentials(
        "gateway", setup.gateway_id, load_private_key(tmp_path / "gateway.jwk.json")
    )
    stranger = ClientCredentials("gateway", setup.gateway_id, generate_key())
    with serve_providers(setup):
        good = httpx.post(token_url, data=token_form(make_assertion(gateway, token_url)))
        forged = httpx.post(token_url, data=token_form(make_assertion(stranger, token_url)))
        elsewhere = httpx.post(token_url, data=token_form(make_assertion(gateway, gateway_url)))
        match = httpx.post(f"{setup.provider_url(node)}/matches", json={})
    assert good.status_code == 200, good.text
    assert schema_problems(good.json(), "TokenResponse") == []
    assert forged.status_code == 400
    assert elsewhere.status_code == 400
    assert match.status_code == 401


def test_federation_prepare_writes_the_contract_files(tmp_path: Path) -> None:
    target = tmp_path / "fed"
    url = "https://gateway.example.nl/v1"
    outcome = CliRunner().invoke(
        cli_app,
        ["federation", "prepare", str(target), "--gateway-url", url, "--gateway-id", "gw-x"],
    )
    assert outcome.exit_code == 0, outcome.output
    assert 'node_id = "gw-x"' in outcome.output
    for name in ("directory.jws", "operator.jwks.json", "gateway.jwk.json", "README.txt"):
        assert (target / name).is_file(), name
    assert (target / "gateway.jwk.json").stat().st_mode & 0o077 == 0
    operator = json.loads((target / "operator.jwks.json").read_text())
    assert all("d" not in key for key in operator["keys"])
    setup = load_setup(target)
    assert setup.gateway_id == "gw-x"
    assert set(setup.ports) == set(PROVIDERS)
    assert setup.exp > setup.iat


def test_the_prepared_directory_verifies_with_the_sdk(tmp_path: Path) -> None:
    """The suite signs with its own code; the SDK (another implementation) must accept it."""
    from openwerk.directory import load_directory
    from openwerk.keys import load_jwks

    setup = prepare(tmp_path, "https://gateway.example.nl/v1", gateway_id="gw-y")
    directory = load_directory(
        setup.root / "directory.jws", load_jwks(setup.root / "operator.jwks.json")
    )
    assert sorted(m.id for m in directory.members) == sorted(["gw-y", CONSUMER, *PROVIDERS])
    assert directory.iss == setup.iss


def test_run_refuses_a_federation_dir_that_was_not_prepared(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli_app, ["run", "http://127.0.0.1:9/v1", "--federation", str(tmp_path)]
    )
    assert outcome.exit_code == 2
    assert "federation prepare" in outcome.output
