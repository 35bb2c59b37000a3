"""The normative OpenAPI document is valid, complete and consistent with the code lists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import code_list_bindings, load_openapi, operations
from openwerk_spec.paths import spec_v1_dir

DOC = load_openapi()
OPS = operations()
OP_IDS = [op["operationId"] for _, _, op in OPS]
SHARED = Path(__file__).resolve().parents[3] / "shared"


def _responses(op: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for status, resp in op["responses"].items():
        if "$ref" in resp:
            resp = DOC["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
        resolved[status] = resp
    return resolved


def test_document_is_valid_openapi_31() -> None:
    assert DOC["openapi"].startswith("3.1")
    validate(DOC)


def test_operation_ids_are_unique_and_camel_case() -> None:
    assert len(OP_IDS) == len(set(OP_IDS))
    for op_id in OP_IDS:
        assert re.fullmatch(r"[a-z][A-Za-z]+", op_id), op_id


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=OP_IDS)
def test_operation_is_documented(method: str, path: str, op: dict[str, Any]) -> None:
    assert op.get("summary"), "summary"
    assert op.get("description"), "description"
    assert len(op["tags"]) == 1
    ConformanceClass(op["tags"][0])  # every operation belongs to exactly one class


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=OP_IDS)
def test_every_response_carries_api_version(method: str, path: str, op: dict[str, Any]) -> None:
    for status, resp in _responses(op).items():
        assert "API-Version" in resp.get("headers", {}), f"{status} lacks API-Version"


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=OP_IDS)
def test_errors_are_problem_json(method: str, path: str, op: dict[str, Any]) -> None:
    responses = _responses(op)
    assert "400" in responses
    assert "500" in responses
    for status, resp in responses.items():
        if status.startswith(("4", "5")):
            assert list(resp["content"]) == ["application/problem+json"], status
    secured = any(req for req in op.get("security", DOC.get("security", [])) if req)
    if secured:
        assert {"401", "403"} <= set(responses), "protected operations document 401 and 403"
    if "{" in path:
        assert "404" in responses, "operations on a resource document 404"
    if "requestBody" in op:
        assert "415" in responses, "operations with a body document 415"


def test_every_scope_is_defined_and_used() -> None:
    flows = DOC["components"]["securitySchemes"]["oauth2"]["flows"]
    defined = set(flows["clientCredentials"]["scopes"])
    used = {
        scope
        for _, _, op in OPS
        for requirement in op.get("security", [])
        for scope in requirement.get("oauth2", [])
    }
    assert used == defined


def test_code_list_bound_enums_match_the_code_lists() -> None:
    schemas = DOC["components"]["schemas"]
    for schema_name, list_name in code_list_bindings().items():
        path = spec_v1_dir() / "codelists" / f"{list_name}.json"
        assert path.exists(), f"{schema_name} names missing code list {list_name}"
        codes = {item["code"] for item in json.loads(path.read_text("utf-8"))["items"]}
        enum = schemas[schema_name].get("enum")
        if enum is not None:
            assert set(enum) <= codes, f"{schema_name}: {set(enum) - codes} not in {list_name}"
            if schema_name not in {"VacancyKind", "TaskOfferKind", "AgeBand", "ConsentPurpose"}:
                assert set(enum) == codes, f"{schema_name} and {list_name} differ"


def test_paths_have_no_trailing_slash_and_are_kebab_case() -> None:
    for path in DOC["paths"]:
        if path in {"/", "/openapi.json"}:
            continue
        assert not path.endswith("/")
        for segment in path.strip("/").split("/"):
            assert re.fullmatch(r"[a-z0-9-]+|\{[a-zA-Z]+\}", segment), path


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed")
@pytest.mark.skipif(not (SHARED / "adr" / "ruleset.yaml").exists(), reason="../shared not present")
def test_nl_api_design_rules_lint_has_no_errors(tmp_path: Path) -> None:
    out = tmp_path / "lint.json"
    subprocess.run(
        [
            "npx",
            "-y",
            "@stoplight/spectral-cli@6",
            "lint",
            "-r",
            str(SHARED / "adr" / "ruleset.yaml"),
            "-f",
            "json",
            "-o",
            str(out),
            str(spec_v1_dir() / "openapi.yaml"),
        ],
        check=False,
        capture_output=True,
        timeout=300,
    )
    results = json.loads(out.read_text("utf-8"))
    errors = [r for r in results if r["severity"] == 0]
    assert errors == [], errors
