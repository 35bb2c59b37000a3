"""The vectorised engine gives exactly the reference score-v1, and the reference order."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwerk_server.matching.engine import CardColumns, Filters
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_spec.score import prepare, rank

ISCO = ["9112", "9111", "9121", "9129", "9333", "9321", "9611", "5120", "5131", "4321", "0110"]
ESCO = [
    f"http://data.europa.eu/esco/occupation/{i:08d}-0000-0000-0000-000000000000" for i in range(4)
]
SKILLS = [
    {"label": "clean surfaces"},
    {"label": "Clean  Surfaces "},
    {"label": "operate forklift", "uri": "http://data.europa.eu/esco/skill/aaaa"},
    {"label": "work in a team", "uri": "http://data.europa.eu/esco/skill/bbbb"},
    {"label": "follow hygiene rules"},
    {"label": "stock shelves"},
]
PLACES = [
    ("GM0344", "AM13"),
    ("GM0356", "AM13"),
    ("GM0599", "AM22"),
    (None, "AM13"),
    (None, "AM22"),
]
SUPPORT = ["jobcoach", "quiet-workspace", "adapted-pace", "structured-tasks"]


def random_card(rng: random.Random, i: int) -> dict[str, Any]:
    occupations = []
    for _ in range(rng.randint(1, 3)):
        occ: dict[str, Any] = {"isco08": rng.choice(ISCO)}
        if rng.random() < 0.4:
            occ["escoUri"] = rng.choice(ESCO)
        occupations.append(occ)
    gemeente, region = rng.choice(PLACES)
    location = {"arbeidsmarktregio": region} | ({"gemeente": gemeente} if gemeente else {})
    low = rng.randint(0, 32)
    card: dict[str, Any] = {
        "id": pseudonym(b"engine-test-secret", "consumer-a", str(i)),
        "location": location,
        "desiredOccupations": occupations,
        "skills": rng.sample(SKILLS, rng.randint(0, 4)),
        "hoursPerWeek": {"min": low, "max": low + rng.randint(0, 16)},
        "availableFrom": f"2026-{rng.randint(1, 12):02d}",
    }
    if rng.random() < 0.4:
        card["supportNeeds"] = rng.sample(SUPPORT, rng.randint(1, 3))
    return card


def random_opportunity(rng: random.Random) -> dict[str, Any]:
    gemeente, region = rng.choice(PLACES[:3])
    occupation: dict[str, Any] = {"isco08": rng.choice(ISCO)}
    if rng.random() < 0.5:
        occupation["escoUri"] = rng.choice(ESCO)
    skills = [
        dict(s) | {"importance": rng.choice(["essential", "optional"])}
        for s in rng.sample(SKILLS, rng.randint(0, 4))
    ]
    low = rng.randint(0, 36)
    opportunity: dict[str, Any] = {
        "occupation": occupation,
        "skills": skills,
        "hoursPerWeek": {"min": low, "max": low + rng.randint(0, 8)},
        "location": {"gemeente": gemeente, "arbeidsmarktregio": region},
        "supportOffered": rng.sample(SUPPORT, rng.randint(0, 4)),
    }
    if rng.random() < 0.7:
        opportunity["startDate"] = f"2026-{rng.randint(1, 12):02d}-15"
    return opportunity


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(0, 300))
def test_vectorised_scores_equal_the_reference(seed: int, n: int) -> None:
    rng = random.Random(seed)
    cards = sorted((random_card(rng, i) for i in range(n)), key=lambda c: c["id"])
    opportunity = random_opportunity(rng)
    columns = CardColumns(cards)
    scorer = prepare(opportunity)
    assert columns.scores(opportunity).tolist() == [scorer.score_thousandths(c) for c in cards]
    limit = rng.randint(1, 30)
    expected = rank(cards, opportunity, limit)
    got = columns.top(opportunity, limit)
    assert [cards[i]["id"] for i, _ in got] == [c["id"] for c, _ in expected]
    assert [r for _, r in got] == [r for _, r in expected]


def test_filters_see_only_what_the_card_shows() -> None:
    rng = random.Random(7)
    cards = sorted((random_card(rng, i) for i in range(200)), key=lambda c: c["id"])
    opportunity = random_opportunity(rng)
    columns = CardColumns(cards)
    got = columns.top(
        opportunity, 200, Filters(hours_overlap=True, gemeenten=frozenset({"GM0344"}))
    )
    assert got
    for i, _ in got:
        card = cards[i]
        assert card["location"].get("gemeente") == "GM0344"
        hours, wanted = card["hoursPerWeek"], opportunity["hoursPerWeek"]
        assert hours["min"] <= wanted["max"]
        assert hours["max"] >= wanted["min"]
    regions = columns.top(opportunity, 200, Filters(arbeidsmarktregios=frozenset({"AM22"})))
    assert {cards[i]["location"]["arbeidsmarktregio"] for i, _ in regions} == {"AM22"}
    assert columns.top(opportunity, 5, Filters(gemeenten=frozenset({"GM9999"}))) == []


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_pools(n: int) -> None:
    rng = random.Random(n)
    cards = [random_card(rng, i) for i in range(n)]
    opportunity = random_opportunity(rng)
    assert len(CardColumns(cards).top(opportunity, 10)) == n
