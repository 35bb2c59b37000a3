"""The requirement catalogue: schema validity, ID discipline, wording and the loader."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from openwerk_spec.classes import CLASS_URI_PREFIX, ConformanceClass
from openwerk_spec.requirements import (
    LEVELS,
    REQUIREMENT_ID_PATTERN,
    Requirement,
    load_requirements,
    requirement,
    requirements_path,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_PATH = REPO_ROOT / "spec" / "v1" / "requirements.yaml"
SCHEMA_PATH = REPO_ROOT / "spec" / "v1" / "requirements.schema.json"


def _catalogue() -> dict[str, Any]:
    document = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _entries() -> list[dict[str, Any]]:
    entries = _catalogue()["requirements"]
    assert isinstance(entries, list)
    return entries


REQUIREMENTS = load_requirements()


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def test_catalogue_validates_against_its_schema() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    errors = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(_catalogue())
    ]
    assert errors == []


def test_schema_refuses_an_untestable_requirement_without_verification() -> None:
    # The if/then in the schema is what makes OW-*-NNN entries with testable: false explain
    # themselves; prove it bites rather than trusting it.
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    document = _catalogue()
    document["requirements"] = [
        {
            "id": "OW-CORE-999",
            "level": "MUST",
            "class": "core",
            "statement": "A node MUST do something nobody can observe.",
            "testable": False,
        }
    ]
    assert not validator.is_valid(document)


def test_loader_reads_the_whole_catalogue_in_order() -> None:
    assert [r.id for r in REQUIREMENTS] == [e["id"] for e in _entries()]
    assert requirements_path().resolve() == CATALOGUE_PATH.resolve()
    assert load_requirements() is REQUIREMENTS  # cached


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))
    malformed = [i for i in ids if not REQUIREMENT_ID_PATTERN.fullmatch(i)]
    assert malformed == []


def test_id_pattern_is_ascii_and_three_digits() -> None:
    assert REQUIREMENT_ID_PATTERN.fullmatch("OW-CORE-001")
    for bad in ("OW-CORE-01", "OW-CORE-0001", "OW-core-001", "OW-CORE-٠٠١", "XW-CORE-001"):
        assert not REQUIREMENT_ID_PATTERN.fullmatch(bad), bad


def test_areas_are_declared_grouped_in_declared_order_and_ascending() -> None:
    declared = [a["code"] for a in _catalogue()["areas"]]
    assert len(declared) == len(set(declared))
    used_in_order: list[str] = []
    for req in REQUIREMENTS:
        if not used_in_order or used_in_order[-1] != req.area:
            assert req.area not in used_in_order, f"{req.id}: area {req.area} is split in two"
            used_in_order.append(req.area)
    assert used_in_order == declared
    for area in declared:
        numbers = [r.number for r in REQUIREMENTS if r.area == area]
        assert numbers == sorted(numbers), area
        assert len(numbers) == len(set(numbers)), area


def test_levels_and_classes_are_known() -> None:
    assert {r.level for r in REQUIREMENTS} <= set(LEVELS)
    assert all(isinstance(r.conformance_class, ConformanceClass) for r in REQUIREMENTS)
    assert _catalogue()["conformanceClassBase"] == CLASS_URI_PREFIX


@pytest.mark.parametrize("req", REQUIREMENTS, ids=lambda r: r.id)
def test_statement_uses_its_level_keyword(req: Requirement) -> None:
    assert re.search(rf"\b{req.level}\b", req.statement), req.statement


@pytest.mark.parametrize(
    "req", [r for r in REQUIREMENTS if r.level == "MUST" and not r.testable], ids=lambda r: r.id
)
def test_untestable_must_says_how_it_is_verified(req: Requirement) -> None:
    assert req.verification


def test_operations_look_like_operation_ids() -> None:
    bad = [
        (r.id, op)
        for r in REQUIREMENTS
        for op in r.operations
        if not re.fullmatch(r"[a-z][A-Za-z0-9]*", op)
    ]
    assert bad == []


def test_lookup_by_id() -> None:
    first = REQUIREMENTS[0]
    assert requirement(first.id) is first
    with pytest.raises(KeyError, match="OW-NOPE-001"):
        requirement("OW-NOPE-001")


def test_requirement_is_frozen_and_derives_area_and_number() -> None:
    req = requirement("OW-KANON-002")
    assert (req.area, req.number) == ("KANON", 2)
    with pytest.raises(AttributeError):
        req.level = "MAY"  # type: ignore[misc]
