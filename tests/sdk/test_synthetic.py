"""The synthetic data generator: deterministic, valid against the spec, plausibly distributed.

Speed is not asserted here (CONTRIBUTING: no timings in tests); ``bench/seed_generate.py``
prints it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from openwerk.synthetic import DEFAULT_TODAY, Generator, is_valid_bsn
from openwerk.synthetic._people import bsn_for
from openwerk_spec.codelists import codes, gemeente_region
from openwerk_spec.openapi import validation_errors

MIDDEN_UTRECHT = "AM13"
REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "sdk" / "openwerk" / "synthetic" / "reference.json"
BUILD_REFERENCE = REPO_ROOT / "spec" / "tools" / "build_synthetic_reference.py"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _generator(seed: int = 42, **kwargs: Any) -> Generator:
    kwargs.setdefault("arbeidsmarktregio", MIDDEN_UTRECHT)
    return Generator(
        seed, node_id="gemeente-utrecht", members=["consumer-a", "consumer-b"], **kwargs
    )


def _dump(gen: Generator, n: int = 200) -> str:
    return json.dumps(
        {
            "candidates": list(gen.candidate_batch_items(n)),
            "vacancies": list(gen.vacancies(20)),
            "taskOffers": list(gen.task_offers(10)),
            "instruments": gen.instruments(),
        },
        ensure_ascii=False,
        sort_keys=False,
    )


def _age(birth: str, on: date) -> int:
    born = date.fromisoformat(birth)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return list(_generator().candidate_batch_items(2000))


def test_public_names() -> None:
    import openwerk.synthetic as synthetic

    assert synthetic.__all__ == ["DEFAULT_TODAY", "Generator", "is_valid_bsn"]
    assert all(hasattr(synthetic, name) for name in synthetic.__all__)


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_output() -> None:
    assert _dump(_generator(7)) == _dump(_generator(7))


def test_different_seed_or_node_gives_different_output() -> None:
    assert _dump(_generator(7)) != _dump(_generator(8))
    other_node = Generator(7, node_id="uwv-midden-utrecht", arbeidsmarktregio=MIDDEN_UTRECHT)
    assert next(other_node.candidates(1)) != next(_generator(7).candidates(1))


def test_output_does_not_depend_on_hash_randomisation() -> None:
    script = (
        "import json, sys\n"
        "from openwerk.synthetic import Generator\n"
        "gen = Generator(3, node_id='gemeente-utrecht', arbeidsmarktregio='AM13')\n"
        "sys.stdout.write(json.dumps(list(gen.candidate_batch_items(30)), ensure_ascii=False))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, check=True, text=True
        )
        outputs.add(done.stdout)
    expected = json.dumps(
        list(
            Generator(
                3, node_id="gemeente-utrecht", arbeidsmarktregio="AM13"
            ).candidate_batch_items(30)
        ),
        ensure_ascii=False,
    )
    assert outputs == {expected}


def test_items_do_not_depend_on_how_many_are_asked_for() -> None:
    gen = _generator()
    many = list(gen.candidates(50))
    assert list(gen.candidates(10)) == many[:10]
    assert list(gen.candidates(5, start=45)) == many[45:]
    assert gen.candidate(17) == many[17]
    assert list(gen.vacancies(3, start=2)) == list(gen.vacancies(5))[2:]
    assert [i["candidate"] for i in gen.candidate_batch_items(10)] == many[:10]


def test_today_anchors_every_date() -> None:
    assert _generator().today == DEFAULT_TODAY == date(2026, 11, 1)
    later = _generator(today=date(2027, 6, 15))
    candidate = next(later.candidates(1))
    assert candidate["availableFrom"] >= "2027-06"
    assert candidate != next(_generator().candidates(1))


# ---------------------------------------------------------------- validity


def test_candidates_and_consents_validate(sample: list[dict[str, Any]]) -> None:
    for item in sample[:500:10]:
        assert validation_errors("CandidateRecordInput", item["candidate"]) == []
        for consent in item["consents"]:
            assert validation_errors("ConsentInput", consent) == []
    assert validation_errors("CandidateBatch", {"items": sample[:25]}) == []


def test_opportunities_and_instruments_validate() -> None:
    gen = _generator()
    for vacancy in gen.vacancies(60):
        assert validation_errors("VacancyInput", vacancy) == []
    for offer in gen.task_offers(60):
        assert validation_errors("TaskOfferInput", offer) == []
    instruments = gen.instruments()
    assert len(instruments) >= 5
    for instrument in instruments:
        assert validation_errors("InstrumentInput", instrument) == []
    catalogue = {i["type"] for i in instruments}
    assert {t for v in gen.vacancies(60) for t in v["instruments"]} <= catalogue


def test_codes_come_from_the_code_lists(sample: list[dict[str, Any]]) -> None:
    gen = _generator()
    gemeenten, esco, isco = set(gen.gemeenten), codes("esco-occupations"), codes("isco08")
    assert {gemeente_region(g) for g in gemeenten} == {MIDDEN_UTRECHT}
    for item in sample:
        candidate = item["candidate"]
        assert candidate["gemeente"] in gemeenten
        assert all(
            o["escoUri"] in esco and o["isco08"] in isco for o in candidate["desiredOccupations"]
        )
    for offer in [*gen.vacancies(30), *gen.task_offers(30)]:
        assert offer["location"]["gemeente"] in gemeenten
        assert offer["location"]["arbeidsmarktregio"] == MIDDEN_UTRECHT


def test_identities_are_fake_but_well_formed(sample: list[dict[str, Any]]) -> None:
    bsns = [i["candidate"]["person"]["bsn"] for i in sample if "bsn" in i["candidate"]["person"]]
    assert len(bsns) > 0.9 * len(sample)
    assert all(is_valid_bsn(bsn) and bsn.startswith("9") for bsn in bsns)
    assert len(set(bsns)) == len(bsns)
    emails = [i["candidate"]["person"].get("email", "") for i in sample]
    assert all(
        e.rsplit("@", 1)[1].endswith(("example.com", "example.net", "example.org"))
        for e in emails
        if e
    )
    phones = [
        i["candidate"]["person"]["phone"] for i in sample if "phone" in i["candidate"]["person"]
    ]
    assert all(p.startswith(("06", "+31 6")) for p in phones)


def test_bsns_stay_unique_over_a_large_pool() -> None:
    gen = _generator()
    key = 123456789
    bsns = {bsn_for(index, key) for index in range(0, 2_100_000, 11)}
    assert len(bsns) == len(range(0, 2_100_000, 11))
    assert all(is_valid_bsn(b) for b in list(bsns)[:1000])
    assert gen.candidate(0)["person"].get("bsn", "9")[0] == "9"


# ---------------------------------------------------------------- distributions


def test_ages_are_18_to_67_and_skewed_to_the_target_groups(sample: list[dict[str, Any]]) -> None:
    ages = [_age(i["candidate"]["person"]["birthDate"], DEFAULT_TODAY) for i in sample]
    assert min(ages) >= 18
    assert max(ages) <= 67
    per_year = Counter(
        "young" if a <= 27 else "middle" if a <= 44 else "older" if a <= 62 else "senior"
        for a in ages
    )
    young, middle, older = per_year["young"] / 10, per_year["middle"] / 17, per_year["older"] / 18
    assert young > middle
    assert older > middle


def test_shares_are_roughly_right(sample: list[dict[str, Any]]) -> None:
    n = len(sample)
    candidates = [i["candidate"] for i in sample]
    unknown = sum(c["educationLevel"] == "unknown" for c in candidates) / n
    support = sum(bool(c["supportNeeds"]) for c in candidates) / n
    register = (
        sum(any(e["type"] == "banenafspraak" for e in c["eligibility"]) for c in candidates) / n
    )
    matching = sum(any("matching" in c["purposes"] for c in i["consents"]) for i in sample) / n
    assert 0.15 <= unknown <= 0.25
    assert 0.25 <= support <= 0.40
    assert 0.08 <= register <= 0.22
    assert 0.80 <= matching <= 0.90
    hours = [c["hoursPerWeek"] for c in candidates]
    assert all(8 <= h["min"] <= h["max"] <= 40 for h in hours)
    months = Counter(c["availableFrom"] for c in candidates)
    assert set(months) <= {
        f"{y}-{m:02d}" for y, m in [(2026, 11), (2026, 12)] + [(2027, m) for m in range(1, 6)]
    }
    languages = Counter(lang["code"] for c in candidates for lang in c["languages"])
    assert {"nl", "ar", "ti", "uk"} <= set(languages)
    kinds = Counter(k for c in candidates for k in c["wantedKinds"])
    assert {"regular", "banenafspraak", "carved-tasks", "werkervaringsplek"} <= set(kinds)


def test_consents_are_recent_and_at_most_twelve_months(sample: list[dict[str, Any]]) -> None:
    scopes: Counter[str] = Counter()
    for item in sample:
        for consent in item["consents"]:
            given = date.fromisoformat(consent["givenAt"][:10])
            until = date.fromisoformat(consent["validUntil"])
            assert given < DEFAULT_TODAY < until
            assert (until - given).days <= 366
            scopes[consent["recipients"]["scope"]] += 1
            if consent["recipients"]["scope"] == "members":
                assert set(consent["recipients"]["members"]) <= {"consumer-a", "consumer-b"}
    assert scopes["any-member"] > scopes["organisation-types"] > scopes["members"] > 0


def test_support_and_eligibility_purposes_follow_the_candidate(
    sample: list[dict[str, Any]],
) -> None:
    for item in sample:
        purposes = {p for c in item["consents"] for p in c["purposes"]}
        if "share-support-needs" in purposes:
            assert item["candidate"]["supportNeeds"]
        if "share-eligibility" in purposes:
            assert item["candidate"]["eligibility"]


def test_without_members_no_consent_names_members() -> None:
    gen = Generator(5, node_id="x", arbeidsmarktregio=MIDDEN_UTRECHT)
    scopes = {
        c["recipients"]["scope"] for i in gen.candidate_batch_items(500) for c in i["consents"]
    }
    assert "members" not in scopes


def test_big_cities_are_drawn_more_often_unless_told_otherwise() -> None:
    weighted = Counter(c["gemeente"] for c in _generator().candidates(2000))
    assert weighted.most_common(1)[0][0] == "GM0344"  # Utrecht
    flat = Counter(c["gemeente"] for c in _generator(weigh_by_population=False).candidates(2800))
    assert max(flat.values()) < 2 * min(flat.values())


# ---------------------------------------------------------------- arguments


def test_places_follow_the_arguments() -> None:
    assert set(Generator(1, node_id="x", gemeenten=["GM0356", "GM0355"]).gemeenten) == {
        "GM0356",
        "GM0355",
    }
    assert len(Generator(1, node_id="x").gemeenten) == len(codes("gemeenten"))
    with pytest.raises(ValueError, match="not gemeente codes"):
        Generator(1, node_id="x", gemeenten=["GM9999"])
    with pytest.raises(ValueError, match="not in AM13"):
        Generator(1, node_id="x", gemeenten=["GM0363"], arbeidsmarktregio="AM13")
    with pytest.raises(ValueError, match="arbeidsmarktregio"):
        Generator(1, node_id="x", arbeidsmarktregio="AM99")
    with pytest.raises(ValueError, match="must not be empty"):
        Generator(1, node_id="x", gemeenten=[])
    with pytest.raises(ValueError, match="index"):
        _generator().candidate(-1)


# ---------------------------------------------------------------- the packaged reference


def test_reference_is_compact_and_attributed() -> None:
    assert REFERENCE.stat().st_size < 1_500_000
    document = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert document["attribution"] == (
        "This service uses the ESCO classification of the European Commission."
    )
    assert "CC BY 4.0" in document["licence"]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")
def test_reference_equals_what_the_build_script_gives() -> None:
    spec = importlib.util.spec_from_file_location("build_synthetic_reference", BUILD_REFERENCE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render(module.build(SHARED_DATA)) == REFERENCE.read_text(encoding="utf-8")
