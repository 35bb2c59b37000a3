"""The code lists: schema validity, internal consistency, provenance and the loader."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from openwerk_spec import codelists, paths
from openwerk_spec.codelists import (
    CODE_LIST_NAMES,
    UnknownCodeList,
    age_band_for,
    as_json,
    broader_age_band,
    codes,
    gemeente_region,
    hours_band_for,
    load_code_list,
)
from openwerk_spec.paths import spec_v1_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
CODELIST_DIR = REPO_ROOT / "spec" / "v1" / "codelists"
SCHEMA_PATH = REPO_ROOT / "spec" / "v1" / "codelist.schema.json"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BUILD_SCRIPT = REPO_ROOT / "spec" / "tools" / "build_codelists.py"


def _documents() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(CODELIST_DIR.glob("*.json"))
    }


DOCUMENTS = _documents()


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_codelists", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()


def test_names_constant_equals_files_present() -> None:
    assert tuple(sorted(DOCUMENTS)) == CODE_LIST_NAMES
    assert list(CODE_LIST_NAMES) == sorted(CODE_LIST_NAMES)


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", CODE_LIST_NAMES)
def test_list_validates_against_schema(name: str) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(DOCUMENTS[name])
    ]
    assert errors == []


@pytest.mark.parametrize("name", CODE_LIST_NAMES)
def test_list_is_well_formed(name: str) -> None:
    document = DOCUMENTS[name]
    assert document["name"] == name
    assert document["version"] == "1.0.0"
    item_codes = [item["code"] for item in document["items"]]
    assert len(item_codes) == len(set(item_codes)), "codes must be unique within a list"
    for item in document["items"]:
        assert item["label"]["nl"].strip(), item["code"]
        assert item["label"]["en"].strip(), item["code"]


@pytest.mark.parametrize("name", CODE_LIST_NAMES)
def test_file_is_canonically_formatted(name: str) -> None:
    # One formatting for hand-authored and generated lists keeps review diffs minimal.
    text = (CODELIST_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert text == BUILD.render(DOCUMENTS[name])


@pytest.mark.parametrize("name", CODE_LIST_NAMES)
def test_only_derived_lists_carry_provenance(name: str) -> None:
    document = DOCUMENTS[name]
    if name in BUILD.DERIVED_NAMES:
        assert document["source"]
        assert document["licence"]
    else:
        assert "source" not in document
        assert "licence" not in document


def test_esco_based_lists_carry_the_attribution() -> None:
    statement = "This service uses the ESCO classification of the European Commission."
    assert DOCUMENTS["esco-occupations"]["attribution"] == statement
    assert DOCUMENTS["isco08"]["attribution"] == statement


def test_region_counts_and_membership() -> None:
    gemeenten = DOCUMENTS["gemeenten"]["items"]
    regions = {item["code"]: item for item in DOCUMENTS["arbeidsmarktregios"]["items"]}
    assert len(gemeenten) == 342
    assert len(regions) == 35
    for gemeente in gemeenten:
        assert gemeente["arbeidsmarktregio"] in regions, gemeente["code"]
        assert gemeente["label"]["nl"] == gemeente["label"]["en"]
    for code, region in regions.items():
        members = [g for g in gemeenten if g["arbeidsmarktregio"] == code]
        assert len(members) == region["gemeenteCount"], code


def test_isco_hierarchy_is_closed() -> None:
    items = {item["code"]: item for item in DOCUMENTS["isco08"]["items"]}
    assert len(items) == 619
    for code, item in items.items():
        assert item["level"] == len(code)
        if item["level"] == 1:
            assert "parent" not in item
        else:
            assert items[item["parent"]]["level"] == item["level"] - 1


def test_esco_occupations_point_to_isco_unit_groups() -> None:
    isco = {item["code"]: item for item in DOCUMENTS["isco08"]["items"]}
    occupations = DOCUMENTS["esco-occupations"]["items"]
    assert len(occupations) == 339
    for occupation in occupations:
        assert isco[occupation["isco08"]]["level"] == 4, occupation["code"]


def test_age_bands_nest() -> None:
    items = DOCUMENTS["age-bands"]["items"]
    tens = {item["code"]: item for item in items if item["width"] == 10}
    fives = [item for item in items if item["width"] == 5]
    assert len(fives) == 11
    assert len(tens) == 6
    for item in items:
        assert item["code"] == f"{item['min']}-{item['max']}"
        assert item["max"] - item["min"] + 1 == item["width"]
    for five in fives:
        ten = tens[five["broader"]]
        assert ten["min"] <= five["min"] <= five["max"] <= ten["max"]
    for ten in tens.values():
        assert "broader" not in ten


@pytest.mark.parametrize("name", ["hours-bands", "travel-bands"])
def test_numeric_bands_are_ordered_without_gaps(name: str) -> None:
    items = DOCUMENTS[name]["items"]
    assert items[0]["min"] == 0
    # hours bands are inclusive integers (next min = max + 1); travel bands share boundaries.
    step = 1 if name == "hours-bands" else 0
    for previous, current in itertools.pairwise(items):
        assert current["min"] == previous["max"] + step


def test_cross_list_references_resolve() -> None:
    organisation_types = {item["code"] for item in DOCUMENTS["organisation-types"]["items"]}
    for item in DOCUMENTS["eligibility-types"]["items"]:
        assert set(item["issuerTypes"]) <= organisation_types, item["code"]
    kinds = DOCUMENTS["opportunity-kinds"]["items"]
    assert {item["appliesTo"] for item in kinds} == {"vacancy", "task-offer"}
    ranks = [item["rank"] for item in DOCUMENTS["cefr-levels"]["items"]]
    assert ranks == list(range(7))


needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "gemeenten.csv").is_file(),
    reason=f"shared reference data not found at {SHARED_DATA} (CI checks it out beside the repo)",
)


@needs_shared_data
def test_derived_lists_equal_what_the_shared_data_gives() -> None:
    built = BUILD.build_all(SHARED_DATA)
    assert sorted(built) == sorted(BUILD.DERIVED_NAMES)
    for name, document in built.items():
        assert BUILD.render(document) == (CODELIST_DIR / f"{name}.json").read_text(
            encoding="utf-8"
        ), f"{name}.json is out of date: run spec/tools/build_codelists.py"


@needs_shared_data
def test_build_script_writes_then_checks_clean(tmp_path: Path) -> None:
    assert BUILD.main([str(SHARED_DATA), "--output", str(tmp_path), "--check"]) == 1
    assert BUILD.main([str(SHARED_DATA), "--output", str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(BUILD.DERIVED_NAMES)
    assert BUILD.main([str(SHARED_DATA), "--output", str(tmp_path), "--check"]) == 0


@needs_shared_data
def test_build_script_refuses_to_overwrite_hand_authored_lists(tmp_path: Path) -> None:
    hand_authored = tmp_path / "gemeenten.json"
    hand_authored.write_text('{"name": "gemeenten", "items": []}', encoding="utf-8")
    with pytest.raises(SystemExit):
        BUILD.main([str(SHARED_DATA), "--output", str(tmp_path)])
    assert hand_authored.read_text(encoding="utf-8") == '{"name": "gemeenten", "items": []}'
    assert [p.name for p in tmp_path.iterdir()] == ["gemeenten.json"], "nothing else written"


def test_loader_reads_the_spec_directory() -> None:
    # Equal to the checkout under an editable install; a copy inside an installed wheel.
    served = sorted(p.name for p in (spec_v1_dir() / "codelists").glob("*.json"))
    assert served == sorted(p.name for p in CODELIST_DIR.glob("*.json"))
    assert spec_v1_dir() == paths.SPEC_V1_DIR
    with pytest.raises(AttributeError):
        _ = paths.NO_SUCH_THING


def test_loader_parses_items_and_extras() -> None:
    gemeenten = load_code_list("gemeenten")
    assert gemeenten.name == "gemeenten"
    assert gemeenten.version == "1.0.0"
    assert len(gemeenten.items) == 342
    utrecht = gemeenten.item("GM0344")
    assert utrecht.label["nl"] == "Utrecht"
    assert utrecht.extra["province"] == "PV26"
    assert "GM0344" in gemeenten
    assert "GM9999" not in gemeenten
    with pytest.raises(KeyError):
        gemeenten.item("GM9999")
    assert load_code_list("support-needs").item("jobcoach").description is not None


def test_codes_and_as_json() -> None:
    assert codes("consent-purposes") == {
        "matching",
        "share-support-needs",
        "share-eligibility",
        "statistics",
        "introduction",
    }
    served = as_json("pay-units")
    assert served == DOCUMENTS["pay-units"]
    served["items"].clear()
    assert as_json("pay-units") == DOCUMENTS["pay-units"], "as_json must not expose the cache"


def test_unknown_code_list() -> None:
    with pytest.raises(UnknownCodeList):
        load_code_list("no-such-list")
    with pytest.raises(LookupError):
        codes("../codelist.schema")


def test_gemeente_region() -> None:
    assert gemeente_region("GM0014") == "AM01"
    assert gemeente_region("GM0344").startswith("AM")
    with pytest.raises(KeyError):
        gemeente_region("GM0000")


def test_age_band_lookups() -> None:
    assert age_band_for(18) == "15-19"
    assert age_band_for(25) == "25-29"
    assert age_band_for(29, width=10) == "25-34"
    assert age_band_for(67) == "65-69"
    assert broader_age_band("20-24") == "15-24"
    assert broader_age_band("30-34") == "25-34"
    assert broader_age_band(age_band_for(58)) == age_band_for(58, width=10)
    with pytest.raises(ValueError, match="no broader"):
        broader_age_band("25-34")
    with pytest.raises(ValueError, match="outside"):
        age_band_for(14)
    with pytest.raises(ValueError, match="5 or 10"):
        age_band_for(30, width=7)


def test_hours_band_lookup() -> None:
    assert hours_band_for(0) == "0-11"
    assert hours_band_for(12) == "12-19"
    assert hours_band_for(32) == "28-35"
    assert hours_band_for(40) == "36-40"
    assert hours_band_for(60) == "41-60"
    with pytest.raises(ValueError, match="outside"):
        hours_band_for(61)


def test_module_all_is_complete() -> None:
    public = {name for name in vars(codelists) if not name.startswith("_")}
    assert set(codelists.__all__) <= public
