"""Reports and attestations: parseable, complete, escaped, signed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openwerk_conformance.attestation import (
    ATTESTATION_TYPE,
    NotAttestable,
    sign_attestation,
    verify_attestation,
)
from openwerk_conformance.oauth import generate_key
from openwerk_conformance.reports import render_html, render_json, render_junit, write_reports
from openwerk_conformance.results import CheckResult, Excerpt, RunResult, Status
from openwerk_spec.classes import ConformanceClass

HOSTILE = '<script>alert("x")</script> & \x00'


def _result(
    check_id: str,
    status: Status,
    cls: ConformanceClass = ConformanceClass.CORE,
    requirements: tuple[str, ...] = ("OW-CORE-004",),
    message: str = "",
) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        title=f"title of {check_id}",
        conformance_class=cls,
        level="MUST" if status is not Status.WARN else "SHOULD",
        requirements=requirements,
        status=status,
        message=message,
        exchanges=(
            Excerpt(
                method="GET",
                url="http://node.test/v1/x?q=<b>",
                request_headers={"accept": "application/json"},
                status=404,
                response_headers={"content-type": "text/html"},
                response_body=HOSTILE,
            ),
        )
        if status is Status.FAIL
        else (),
        duration=0.25,
    )


def _run(*results: CheckResult) -> RunResult:
    started = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    return RunResult(
        base_url="http://node.test/v1",
        suite_version="0.1.0",
        spec_version="1.0.0",
        node_spec_version="1.0.0",
        node_id="fake-node",
        declared_classes=(ConformanceClass.CORE, ConformanceClass.OPPORTUNITIES),
        selected_classes=(ConformanceClass.CORE, ConformanceClass.OPPORTUNITIES),
        started=started,
        finished=started + timedelta(seconds=3),
        results=results,
    )


FAILING = _run(
    _result("CORE-006", Status.FAIL, message=f"no API-Version {HOSTILE}"),
    _result("ERR-003", Status.FAIL, requirements=("OW-ERR-002", "OW-PAGE-006"), message="422"),
    _result("CORE-001", Status.PASS),
    _result("OPP-004", Status.SKIP, ConformanceClass.OPPORTUNITIES, ("OW-OPP-005",), "no vacancy"),
    _result("CORE-009", Status.WARN, message="should"),
    _result("OPP-001", Status.ERROR, ConformanceClass.OPPORTUNITIES, ("OW-OPP-004",), "bug"),
)
PASSING = _run(
    _result("CORE-001", Status.PASS),
    _result("OPP-001", Status.PASS, ConformanceClass.OPPORTUNITIES, ("OW-OPP-004",)),
    _result("OPP-004", Status.SKIP, ConformanceClass.OPPORTUNITIES, ("OW-OPP-005",)),
)


def test_run_verdicts() -> None:
    assert not FAILING.passed
    assert len(FAILING.must_failures) == 2
    assert FAILING.counts() == {"PASS": 1, "FAIL": 2, "WARN": 1, "SKIP": 1, "ERROR": 1}
    assert PASSING.passed
    assert PASSING.attestable


def test_json_report_holds_every_result() -> None:
    data = json.loads(render_json(FAILING))
    assert data["passed"] is False
    assert [r["id"] for r in data["results"]] == [r.check_id for r in FAILING.results]
    failed = data["results"][1]
    assert failed["requirements"] == ["OW-ERR-002", "OW-PAGE-006"]
    assert failed["status"] == "FAIL"
    assert data["selectedClasses"][0] == "https://w3id.org/openwerk/v1/conf/core"


def test_junit_report_parses_and_classifies() -> None:
    root = ET.fromstring(render_junit(FAILING))  # noqa: S314 - our own output
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"openwerk.core", "openwerk.opportunities"}
    core = suites["openwerk.core"]
    assert core.get("failures") == "2"
    failures = list(root.iter("failure"))
    assert len(failures) == 2
    assert "OW-ERR-002" in (failures[1].get("message") or "")
    assert len(list(root.iter("error"))) == 1
    assert len(list(root.iter("skipped"))) == 1


def test_html_report_names_requirements_and_escapes_everything() -> None:
    page = render_html(FAILING)
    for req in ("OW-CORE-004", "OW-ERR-002", "OW-PAGE-006", "OW-OPP-004"):
        assert req in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "FAILED" in page
    # The requirement's statement from the catalogue is shown next to its ID.
    assert "API-Version" in page


def test_write_reports(tmp_path: Path) -> None:
    paths = write_reports(PASSING, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"report.json", "junit.xml", "report.html"}
    assert all(p.is_file() for p in paths.values())


def test_attestation_is_signed_and_names_classes_that_passed() -> None:
    key = generate_key()
    token = sign_attestation(PASSING, key, validity_days=30)
    claims = verify_attestation(token, key.as_dict(private=False))
    assert claims["sub"] == "fake-node"
    assert claims["specVersion"] == "1.0.0"
    assert claims["suite"]["version"] == "0.1.0"
    assert claims["conformsTo"] == [
        "https://w3id.org/openwerk/v1/conf/core",
        "https://w3id.org/openwerk/v1/conf/opportunities",
    ]
    assert claims["exp"] - claims["iat"] == 30 * 86400
    other = generate_key()
    with pytest.raises(ValueError, match="does not verify"):
        verify_attestation(token, other.as_dict(private=False))


def test_attestation_type_and_expiry_are_checked() -> None:
    key = generate_key()
    old = sign_attestation(PASSING, key, validity_days=1, now=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="expired"):
        verify_attestation(old, key.as_dict(private=False))
    assert (
        ATTESTATION_TYPE
        in __import__("base64").urlsafe_b64decode(old.split(".")[0] + "==").decode()
    )


def test_a_failing_run_is_not_attested() -> None:
    with pytest.raises(NotAttestable):
        sign_attestation(FAILING, generate_key())
    skipped_only = _run(_result("OPP-004", Status.SKIP, ConformanceClass.OPPORTUNITIES))
    with pytest.raises(NotAttestable, match="no conformance class"):
        sign_attestation(skipped_only, generate_key())
