"""The spec's examples and the conformance fixture dataset: valid, complete, consistent.

Examples (``spec/v1/examples/``): one file per document schema, each valid against its
schema, mutually consistent (pages embed the item examples, the match result's scores are
what score-v1 gives, L2 examples carry no identifying data).

Fixtures (``spec/v1/fixtures/``): every payload valid against its input schema and the
code lists, the scenario coverage the conformance suite relies on, BSNs that pass the
elfproef, and files equal to what ``spec/tools/build_fixtures.py`` generates.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from openwerk.synthetic import is_valid_bsn
from openwerk.synthetic._sampling import add_months
from openwerk_spec.codelists import age_band_for, codes, gemeente_region
from openwerk_spec.openapi import load_openapi, validation_errors
from openwerk_spec.score import score_v1

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "spec" / "v1" / "examples"
FIXTURES = REPO_ROOT / "spec" / "v1" / "fixtures"
BUILD_FIXTURES = REPO_ROOT / "spec" / "tools" / "build_fixtures.py"

SCHEMAS: dict[str, Any] = load_openapi()["components"]["schemas"]
SCALARS = sorted(name for name, schema in SCHEMAS.items() if schema.get("type") == "string")
DOCUMENTS = sorted(name for name in SCHEMAS if name not in SCALARS)

# Examples that cannot validate until the spec is fixed; strict, so a fix turns them red
# and the marker gets removed.


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _example(name: str) -> Any:
    return _load(EXAMPLES / f"{name}.json")


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- examples


def test_every_document_schema_has_an_example_and_nothing_else() -> None:
    present = sorted(p.stem for p in EXAMPLES.glob("*.json") if p.name != "_scalars.json")
    assert present == DOCUMENTS


@pytest.mark.parametrize(
    "name",
    DOCUMENTS,
)
def test_example_validates(name: str) -> None:
    assert validation_errors(name, _example(name)) == []


def test_scalar_examples_cover_every_string_schema_and_validate() -> None:
    scalars = _load(EXAMPLES / "_scalars.json")
    assert sorted(scalars) == SCALARS
    for name, values in scalars.items():
        assert values, name
        for value in values:
            assert validation_errors(name, value) == [], (name, value)


@pytest.mark.parametrize(
    ("page", "item"),
    [
        ("VacancyPage", "Vacancy"),
        ("TaskOfferPage", "TaskOffer"),
        ("InstrumentPage", "Instrument"),
        ("CandidatePage", "CandidateProfile"),
        ("CandidateRecordPage", "CandidateRecord"),
        ("ConsentPage", "Consent"),
        ("IntroductionPage", "Introduction"),
        ("IntroductionRecordPage", "IntroductionRecord"),
        ("PlacementOutcomePage", "PlacementOutcome"),
        ("SubscriptionPage", "Subscription"),
        ("DeliveryPage", "Delivery"),
        ("EventPage", "CloudEvent"),
        ("AccessLogPage", "AccessLogEntry"),
        ("WithheldProfilePage", "WithheldProfile"),
        ("FederationMemberPage", "FederationMember"),
        ("MatchResult", "MatchCard"),
    ],
)
def test_pages_embed_their_item_example(page: str, item: str) -> None:
    assert _example(item) in _example(page)["items"]


def test_related_examples_agree() -> None:
    vacancy, record, profile = _example("Vacancy"), _example("CandidateRecord"), None
    assert {k: v for k, v in vacancy.items() if k in _example("VacancyInput")} == _example(
        "VacancyInput"
    )
    assert _example("CandidateRecordInput") == {
        k: v for k, v in record.items() if k in _example("CandidateRecordInput")
    }
    profile = _example("CandidateProfile")
    for field in ("desiredOccupations", "skills", "languages", "hoursPerWeek", "wantedKinds"):
        assert profile[field] == record[field], field
    assert profile["location"]["gemeente"] == record["gemeente"]
    age_on = date(2026, 11, 2)
    birth = date.fromisoformat(record["person"]["birthDate"])
    age = age_on.year - birth.year - ((age_on.month, age_on.day) < (birth.month, birth.day))
    assert profile["ageBand"] == age_band_for(age)
    consent = _example("Consent")
    assert consent["candidateId"] == record["id"]
    # share-support-needs is given, share-eligibility is not: the card shows only the first
    assert "share-support-needs" in consent["purposes"]
    assert "supportNeeds" in profile
    assert "eligibility" not in profile
    intro, intro_record = _example("Introduction"), _example("IntroductionRecord")
    assert intro["candidate"] == profile["id"]
    assert intro_record["candidateId"] == record["id"]
    assert intro["identity"]["familyName"] == record["person"]["familyName"]
    assert _example("PlacementOutcome")["introductionId"] == intro["id"]


def test_match_result_scores_are_score_v1_of_the_cards() -> None:
    result = _example("MatchResult")
    criteria = result["opportunity"]
    assert criteria["occupation"] == _example("Vacancy")["occupation"]
    for card in result["items"]:
        assert score_v1(card["candidate"], criteria).as_json() == {
            "score": card["score"],
            "components": card["components"],
        }
    scores = [card["score"] for card in result["items"]]
    assert scores == sorted(scores, reverse=True)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize(
    "name", ["CandidateProfile", "CandidatePage", "MatchCard", "MatchResult", "Statistics"]
)
def test_l1_and_l2_examples_carry_no_identifying_data(name: str) -> None:
    person = _example("Person")
    needles = [s for s in _strings(person) if len(s) >= 5] + [
        _example("CandidateRecord")["id"],
        _example("CandidateRecord")["externalReference"],
    ]
    text = json.dumps(_example(name), ensure_ascii=False)
    assert [needle for needle in needles if needle in text] == []


# ---------------------------------------------------------------- fixtures

CANDIDATES: list[dict[str, Any]] = _load(FIXTURES / "candidates.json")
VACANCIES: list[dict[str, Any]] = _load(FIXTURES / "vacancies.json")
TASK_OFFERS: list[dict[str, Any]] = _load(FIXTURES / "task-offers.json")
INSTRUMENTS: list[dict[str, Any]] = _load(FIXTURES / "instruments.json")
LIFECYCLE: dict[str, Any] = _load(FIXTURES / "lifecycle.json")
EXPECTED: dict[str, Any] = _load(FIXTURES / "expected.json")
REFERENCE = date.fromisoformat(EXPECTED["referenceDate"])


def test_fixture_files_equal_what_the_build_script_generates() -> None:
    module = _module(BUILD_FIXTURES)
    built = module.build()
    assert sorted(built) == sorted(p.name for p in FIXTURES.glob("*.json")), (
        "a fixture file is missing or stray"
    )
    for name, document in built.items():
        assert module.render(document) == (FIXTURES / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("item", CANDIDATES, ids=[i["key"] for i in CANDIDATES])
def test_candidate_fixture_validates(item: dict[str, Any]) -> None:
    assert set(item) == {"key", "candidate", "consents"}
    assert validation_errors("CandidateRecordInput", item["candidate"]) == []
    for consent in item["consents"]:
        assert validation_errors("ConsentInput", consent) == []


def test_candidates_load_as_one_batch() -> None:
    batch = {
        "items": [{"candidate": i["candidate"], "consents": i["consents"]} for i in CANDIDATES]
    }
    assert validation_errors("CandidateBatch", batch) == []


def test_opportunity_and_instrument_fixtures_validate() -> None:
    for item in VACANCIES:
        assert validation_errors("VacancyInput", item["vacancy"]) == [], item["key"]
    for item in TASK_OFFERS:
        assert validation_errors("TaskOfferInput", item["taskOffer"]) == [], item["key"]
    for publisher in INSTRUMENTS:
        assert validation_errors("NodeId", publisher["publisher"]) == []
        for item in publisher["instruments"]:
            assert validation_errors("InstrumentInput", item["instrument"]) == [], item["key"]


def test_fixtures_use_the_code_lists() -> None:
    gemeenten, isco, esco = codes("gemeenten"), codes("isco08"), codes("esco-occupations")
    for item in CANDIDATES:
        candidate = item["candidate"]
        assert candidate["gemeente"] in gemeenten
        for occupation in candidate["desiredOccupations"]:
            assert occupation["isco08"] in isco
            assert occupation["escoUri"] in esco
    offers = [v["vacancy"] for v in VACANCIES] + [t["taskOffer"] for t in TASK_OFFERS]
    for offer in offers:
        location = offer["location"]
        assert location["arbeidsmarktregio"] == gemeente_region(location["gemeente"])
        assert offer["occupation"]["escoUri"] in esco
    catalogue = {i["instrument"]["type"] for p in INSTRUMENTS for i in p["instruments"]}
    assert {t for offer in offers for t in offer["instruments"]} <= catalogue
    for publisher in INSTRUMENTS:
        for item in publisher["instruments"]:
            assert set(item["instrument"]["appliesIn"]) <= gemeenten


def test_fixture_coverage() -> None:
    assert len(CANDIDATES) >= 60
    by_gemeente = Counter(i["candidate"]["gemeente"] for i in CANDIDATES)
    assert len(by_gemeente) >= 3
    assert min(by_gemeente.values()) >= 5
    assert len({gemeente_region(g) for g in by_gemeente}) == 1, "one region: classes must form"
    scopes = Counter(c["recipients"]["scope"] for i in CANDIDATES for c in i["consents"])
    assert {"any-member", "organisation-types", "members"} <= set(scopes)
    members = [c["recipients"] for i in CANDIDATES for c in i["consents"]]
    assert {"scope": "members", "members": ["consumer-a"]} in members
    assert sum(1 for i in CANDIDATES if not i["consents"]) >= 3, "never consented"
    assert len(LIFECYCLE["withdrawals"]) >= 3
    assert len(LIFECYCLE["expiring"]["consents"]) >= 2
    assert len(VACANCIES) >= 20
    assert len(TASK_OFFERS) >= 10
    assert len({v["vacancy"]["kind"] for v in VACANCIES}) == 6
    assert len({t["taskOffer"]["kind"] for t in TASK_OFFERS}) == 6
    assert len({p["publisher"] for p in INSTRUMENTS}) >= 2
    purposes = Counter(p for i in CANDIDATES for c in i["consents"] for p in c["purposes"])
    assert set(purposes) == {"matching", "share-support-needs", "share-eligibility", "statistics"}


def test_external_references_are_unique() -> None:
    # A loader may find items by externalReference (--preloaded) and skip those it finds.
    references = [i["candidate"]["externalReference"] for i in CANDIDATES]
    references += [v["vacancy"]["externalReference"] for v in VACANCIES]
    references += [t["taskOffer"]["externalReference"] for t in TASK_OFFERS]
    references += [
        i["instrument"]["externalReference"] for p in INSTRUMENTS for i in p["instruments"]
    ]
    assert len(set(references)) == len(references)


def test_lifecycle_points_at_existing_consents() -> None:
    by_key = {i["key"]: i for i in CANDIDATES}
    expires_on = LIFECYCLE["expiring"]["validUntil"]
    for ref in LIFECYCLE["withdrawals"]:
        assert "matching" in by_key[ref["candidate"]]["consents"][ref["consent"]]["purposes"]
    for ref in LIFECYCLE["expiring"]["consents"]:
        assert by_key[ref["candidate"]]["consents"][ref["consent"]]["validUntil"] == expires_on


def test_bsns_pass_the_elfproef_and_are_unique() -> None:
    bsns = [
        i["candidate"]["person"]["bsn"] for i in CANDIDATES if "bsn" in i["candidate"]["person"]
    ]
    assert len(bsns) >= 60
    assert all(is_valid_bsn(bsn) for bsn in bsns)
    assert len(set(bsns)) == len(bsns)
    assert not is_valid_bsn("123456789")


def test_consent_dates_are_acceptable_on_the_reference_date() -> None:
    for item in CANDIDATES:
        for consent in item["consents"]:
            given = date.fromisoformat(consent["givenAt"][:10])
            until = date.fromisoformat(consent["validUntil"])
            assert given < REFERENCE < until, item["key"]
            assert until <= add_months(given, 12), item["key"]


def test_fingerprints_identify_every_candidate() -> None:
    module = _module(BUILD_FIXTURES)
    fingerprints = EXPECTED["fingerprints"]
    assert len(set(fingerprints.values())) == len(CANDIDATES)
    for item in CANDIDATES:
        assert module.fingerprint(item["candidate"]) == fingerprints[item["key"]]


@pytest.mark.parametrize("state", ["atLoad", "afterExpiry"])
@pytest.mark.parametrize("consumer", ["consumer-a", "consumer-b"])
def test_expected_views_are_consistent(consumer: str, state: str) -> None:
    view = EXPECTED["consumers"][consumer][state]
    keys = {i["key"] for i in CANDIDATES}
    assert set(view["consented"]) | set(view["invisible"]) == keys
    assert not set(view["consented"]) & set(view["invisible"])
    kanon = view["kAnonymity"]
    assert kanon["publishedCount"] + kanon["withheldCount"] == view["consentedCount"]
    assert set(kanon["cards"]) | set(kanon["withheld"]) == set(view["consented"])
    classes = Counter(
        (c["location"], c["ageBand"], c.get("educationLevel")) for c in kanon["cards"].values()
    )
    assert min(classes.values()) >= kanon["k"]
    assert {c["level"] for c in kanon["cards"].values()} >= {0, 3}
    assert kanon["withheld"], "the gate must withhold someone"
    assert all(0 < size < kanon["k"] for size in kanon["withheld"].values())


def test_consumers_see_different_pools() -> None:
    a = EXPECTED["consumers"]["consumer-a"]["atLoad"]
    b = EXPECTED["consumers"]["consumer-b"]["atLoad"]
    assert set(a["consented"]) - set(b["consented"])
    assert set(b["consented"]) - set(a["consented"])
    assert set(a["invisible"].values()) >= {
        "no-consent",
        "no-matching-purpose",
        "withdrawn",
        "recipients-exclude-consumer",
    }
    after = EXPECTED["consumers"]["consumer-a"]["afterExpiry"]
    assert "expired" in after["invisible"].values()


def test_pii_needles_come_from_the_candidates() -> None:
    by_key = {i["key"]: i["candidate"] for i in CANDIDATES}
    needles = EXPECTED["piiNeedles"]
    assert any(n["value"] == "Zwaneveld-Oosterhout" for n in needles)
    for needle in needles:
        candidate = by_key[needle["key"]]
        if needle["field"] == "address":
            address = candidate["person"]["address"]
            assert needle["value"] == f"{address['street']} {address['houseNumber']}"
        elif needle["field"] == "externalReference":
            assert needle["value"] == candidate["externalReference"]
        else:
            assert needle["value"] == candidate["person"][needle["field"]]


def test_shifting_dates_keeps_ages_and_validity() -> None:
    module = _module(BUILD_FIXTURES)
    assert module.shift_dates(CANDIDATES, REFERENCE) == CANDIDATES
    later = REFERENCE + timedelta(days=389)
    shifted = module.shift_dates(CANDIDATES, later)
    for before, after in zip(CANDIDATES, shifted, strict=True):
        born = date.fromisoformat(before["candidate"]["person"]["birthDate"])
        moved = date.fromisoformat(after["candidate"]["person"]["birthDate"])
        assert _age(born, REFERENCE) == _age(moved, later), before["key"]
        for consent in after["consents"]:
            assert date.fromisoformat(consent["givenAt"][:10]) < later
            assert date.fromisoformat(consent["validUntil"]) > later
            assert validation_errors("ConsentInput", consent) == []
        assert validation_errors("CandidateRecordInput", after["candidate"]) == []
    assert shifted[0]["candidate"]["availableFrom"] != CANDIDATES[0]["candidate"]["availableFrom"]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
