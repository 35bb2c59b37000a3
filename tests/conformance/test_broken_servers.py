"""The suite against fake nodes: a correct one passes, and each broken one fails on its rule.

Every fake breaks exactly one rule (see ``broken_servers.Break``); the test shows the check for
that rule FAILs and names the broken requirement, while the correct fake PASSes the same check.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from broken_servers import BASE, Break, Fake, fixture_files, make_fake

from openwerk_conformance.fixtures import SETUP_ID, fixture_items, shift_dates
from openwerk_conformance.registry import all_checks
from openwerk_conformance.results import CheckResult, RunResult, Status
from openwerk_conformance.runner import RunOptions, run
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import validation_errors


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fixtures")
    for name, document in fixture_files().items():
        (directory / name).write_text(json.dumps(document), encoding="utf-8")
    return directory


def _run(fake: Fake, fixtures_dir: Path, **options: object) -> RunResult:
    settings: dict[str, object] = {"schemathesis": False}
    settings.update(options)
    return run(
        RunOptions(
            base_url=BASE,
            credentials=fake.credentials,
            transport=fake.transport,
            fixtures_dir=fixtures_dir,
            **settings,  # type: ignore[arg-type]
        )
    )


def _by_id(result: RunResult) -> dict[str, CheckResult]:
    return {r.check_id: r for r in result.results}


@pytest.fixture(scope="module")
def correct_run(fixtures_dir: Path) -> RunResult:
    """One full run against the correct fake, shared by the tests that compare with it."""
    return _run(make_fake(seed_items=3), fixtures_dir)


@pytest.mark.parametrize("public", [True, False], ids=["public-l0", "token-l0"])
def test_a_correct_node_passes_every_check(
    fixtures_dir: Path, correct_run: RunResult, public: bool
) -> None:
    result = correct_run if public else _run(make_fake(public=False, seed_items=3), fixtures_dir)
    # A check that also needs a class the fake does not declare skips, and says so.
    beyond = {
        c.id for c in all_checks() if any(n not in result.declared_classes for n in c.needs_classes)
    }
    problems = [
        f"{r.check_id} {r.status}: {r.message}"
        for r in result.results
        if r.status is not Status.PASS
        and not (r.check_id in beyond and r.status is Status.SKIP and "declare" in r.message)
    ]
    assert problems == []
    assert result.passed
    ran = {r.check_id for r in result.results}
    # Every check of the classes the fake declares runs; the other classes' checks are not run.
    expected = {c.id for c in all_checks() if c.conformance_class in result.selected_classes}
    assert expected | {SETUP_ID} == ran


BROKEN = [
    (Break.NO_API_VERSION_ON_404, "CORE-006", "OW-CORE-004", "no API-Version"),
    (Break.UNPROCESSABLE_422, "ERR-003", "OW-ERR-002", "422 instead of 400"),
    (Break.DUPLICATES_WHILE_PAGING, "PAGE-003", "OW-PAGE-004", "repeated while paging"),
    (Break.LIMIT_REFUSED, "PAGE-002", "OW-PAGE-003", "must be clamped"),
    (Break.SERVER_ERROR_ON_BAD_INPUT, "ERR-005", "OW-ERR-006", "server error"),
    (Break.ACCEPTS_ANY_ASSERTION, "AUTH-005", "OW-AUTH-006", "replayed assertion"),
    (Break.IGNORES_GEMEENTE_FILTER, "OPP-003", "OW-OPP-002", "do not match"),
    (Break.IGNORES_ACCEPT, "ERR-006", "OW-ERR-005", "expected 406"),
    (Break.OFFSET_CURSORS, "PAGE-005", "OW-PAGE-005", "repeated after a write"),
    (Break.FIRST_ERROR_ONLY, "ERR-004", "OW-ERR-003", "every violation must be listed"),
    (Break.ACCEPTS_UNKNOWN_MEMBERS, "PUB-002", "OW-PUB-001", "salaryInGold"),
    (Break.NO_SIZE_LIMIT, "PUB-005", "OW-ERR-005", "expected 413"),
    (Break.SCOPE_NOT_CHECKED, "AUTH-004", "OW-AUTH-010", "expected 403"),
    (Break.CLOSED_STILL_LISTED, "PUB-007", "OW-OPP-003", "still in the default"),
    (Break.NO_JSON_LD, "OPP-004", "OW-OPP-005", "JobPosting"),
]


@pytest.mark.parametrize(
    ("broken", "check_id", "requirement", "says"), BROKEN, ids=[b[0].value for b in BROKEN]
)
def test_a_broken_node_fails_on_its_rule(
    fixtures_dir: Path,
    correct_run: RunResult,
    broken: Break,
    check_id: str,
    requirement: str,
    says: str,
) -> None:
    only = [c for c in all_checks() if c.id == check_id]
    result = _run(make_fake(broken, seed_items=3), fixtures_dir, checks=only)
    found = _by_id(result)[check_id]
    assert found.status is Status.FAIL, found.message
    assert requirement in found.requirements
    assert says in found.message
    assert found.exchanges, "a failure shows the exchange that proved it"
    assert not result.passed
    assert not result.errors, [r.message for r in result.errors]
    # The same check passes against the correct node.
    assert _by_id(correct_run)[check_id].status is Status.PASS


def test_schemathesis_phase_passes_a_correct_node_and_catches_a_500(fixtures_dir: Path) -> None:
    classes = [ConformanceClass.CORE, ConformanceClass.OPPORTUNITIES]
    good = _run(
        make_fake(seed_items=3),
        fixtures_dir,
        schemathesis=True,
        schemathesis_examples=3,
        classes=classes,
    )
    schema_results = [r for r in good.results if r.check_id.startswith("SCHEMA-")]
    assert {r.check_id for r in schema_results} >= {"SCHEMA-listVacancies", "SCHEMA-getLandingPage"}
    assert all(r.status is Status.PASS for r in schema_results), [
        r.message for r in schema_results if r.status is not Status.PASS
    ]
    assert not any(r.conformance_class is ConformanceClass.PUBLICATION for r in schema_results)

    bad = _run(
        make_fake(Break.SERVER_ERROR_ON_BAD_INPUT, seed_items=3),
        fixtures_dir,
        schemathesis=True,
        schemathesis_examples=3,
        classes=classes,
    )
    listing = _by_id(bad)["SCHEMA-listVacancies"]
    assert listing.status is Status.FAIL
    assert "OW-ERR-006" in listing.requirements
    assert "500" in listing.message


def test_fixtures_load_once_and_are_reused(fixtures_dir: Path) -> None:
    fake = make_fake()
    first = _by_id(_run(fake, fixtures_dir, classes=[ConformanceClass.PUBLICATION]))[SETUP_ID]
    assert first.status is Status.PASS
    assert first.message.startswith("13 items published")
    second = _by_id(_run(fake, fixtures_dir, classes=[ConformanceClass.PUBLICATION]))[SETUP_ID]
    assert second.message == "0 items published, 13 already present"
    references = [i["externalReference"] for i in fake.node.items["vacancy"]]
    assert sum(r.startswith("fixture-vacancy-") for r in references) == 7
    # Probe vacancies of the publication checks are closed again.
    probes = [
        i for i in fake.node.items["vacancy"] if i["externalReference"].startswith("openwerk-")
    ]
    assert probes
    assert all(i["status"] == "closed" for i in probes)


def test_preloaded_fixtures_are_found_by_external_reference(fixtures_dir: Path) -> None:
    fake = make_fake()
    for item in fixture_items(fixtures_dir):
        fake.node.add(item.kind, item.document)
    result = _by_id(_run(fake, fixtures_dir, preloaded=True))
    assert result[SETUP_ID].status is Status.PASS
    # Two instruments share a reference; each still finds its own served item.
    assert result[SETUP_ID].message == "13 fixture items found"
    assert result["OPP-003"].status is Status.PASS
    empty = _by_id(_run(make_fake(), fixtures_dir, preloaded=True))
    assert empty[SETUP_ID].status is Status.FAIL
    assert "not served by the node" in empty[SETUP_ID].message
    assert empty["OPP-003"].status is Status.SKIP


def test_dataset_reader_accepts_the_test_files(fixtures_dir: Path) -> None:
    items = fixture_items(fixtures_dir)
    assert [i.kind for i in items].count("vacancy") == 7
    assert items[0].kind == "instrument"
    assert all(i.reference for i in items)
    # Both instrument catalogues are loaded through the node under test.
    assert "ins-other" in {i.key for i in items}


def test_the_published_dataset_has_the_documented_shape() -> None:
    items = fixture_items()
    kinds = {i.kind for i in items}
    assert kinds == {"vacancy", "task-offer", "instrument"}
    assert all(i.reference for i in items), "--preloaded finds items by externalReference"
    schemas = {
        "vacancy": "VacancyInput",
        "task-offer": "TaskOfferInput",
        "instrument": "InstrumentInput",
    }
    for item in items:
        assert validation_errors(schemas[item.kind], item.document) == [], item.key


def test_dates_shift_to_the_load_day() -> None:
    document = {
        "validThrough": "2026-12-24",
        "createdAt": "2026-10-31T09:30:00Z",
        "availableFrom": "2026-12",
        "externalReference": "VAC-2026-00001",
        "nested": [{"attestedOn": "2026-11-01"}],
        "hours": 12,
    }
    moved = shift_dates(document, date(2027, 2, 15), date(2026, 11, 1))
    assert moved == {
        "validThrough": "2027-04-09",
        "createdAt": "2027-02-14T09:30:00Z",
        "availableFrom": "2027-03",
        "externalReference": "VAC-2026-00001",
        "nested": [{"attestedOn": "2027-02-15"}],
        "hours": 12,
    }
    assert shift_dates(document, date(2026, 11, 1), date(2026, 11, 1)) == document
