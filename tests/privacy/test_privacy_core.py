"""Pseudonyms, the k-anonymity ladder and statistics disclosure control, exhaustively."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwerk_server.privacy.disclosure import protect
from openwerk_server.privacy.kanon import (
    QuasiIdentifiers,
    Withheld,
    apply_gate,
    validate_k,
)
from openwerk_server.privacy.pseudonyms import pseudonym

SECRET = b"node-secret-for-tests-0123456789"


def test_pseudonym_shape_and_stability() -> None:
    p = pseudonym(SECRET, "consumer-a", "c1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", p)
    assert p == pseudonym(SECRET, "consumer-a", "c1")


def test_pseudonyms_differ_per_consumer_and_node() -> None:
    ids = [f"cand-{i}" for i in range(2000)]
    a = {pseudonym(SECRET, "consumer-a", i) for i in ids}
    b = {pseudonym(SECRET, "consumer-b", i) for i in ids}
    other_node = {pseudonym(b"another-node-secret-000000000000", "consumer-a", i) for i in ids}
    assert len(a) == len(b) == len(ids)
    assert a.isdisjoint(b)
    assert a.isdisjoint(other_node)


def test_pseudonym_refuses_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        pseudonym(b"", "consumer-a", "c1")


def test_k_below_five_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 5"):
        validate_k(4)
    assert validate_k(5) == 5


def _qi(gemeente: str, region: str, band: str, edu: str) -> QuasiIdentifiers:
    return QuasiIdentifiers(gemeente, region, band, edu)


def test_ladder_publishes_big_groups_in_detail_and_generalises_small_ones() -> None:
    profiles = [(f"a{i}", _qi("GM0344", "AM22", "25-29", "nlqf-2")) for i in range(6)]
    # Four in Nieuwegein with the same tuple: too few alone, but with two in Houten
    # of the same band and education they make a region-level class of six.
    profiles += [(f"b{i}", _qi("GM0356", "AM22", "30-34", "nlqf-3")) for i in range(4)]
    profiles += [(f"c{i}", _qi("GM0321", "AM22", "30-34", "nlqf-3")) for i in range(2)]
    # Three in different 5-year bands of one decade: only a 10-year band and no
    # education level make a class of five with two others.
    profiles += [
        ("d0", _qi("GM0344", "AM22", "45-49", "nlqf-1")),
        ("d1", _qi("GM0356", "AM22", "50-54", "nlqf-4")),
        ("d2", _qi("GM0344", "AM22", "45-49", "unknown")),
        ("d3", _qi("GM0321", "AM22", "50-54", "nlqf-2")),
        ("d4", _qi("GM0344", "AM22", "45-49", "nlqf-6")),
    ]
    profiles += [("lonely", _qi("GM0344", "AM22", "65-69", "nlqf-8"))]
    result = apply_gate(profiles, 5)
    assert result.published["a0"].level == 0
    assert result.published["a0"].gemeente == "GM0344"
    assert result.published["b0"].level == 1
    assert result.published["c1"].level == 1
    assert result.published["b0"].gemeente is None
    assert result.published["d0"].level == 3
    assert result.published["d0"].age_band == "45-54"
    assert result.published["d0"].education_level is None
    assert result.published["d0"].generalised == ("location", "ageBand", "educationLevel")
    assert result.withheld == {"lonely": Withheld(class_size=1)}


def _published_classes(result_published: dict[str, object]) -> Counter[object]:
    return Counter(result_published.values())


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 400),
    k=st.integers(5, 12),
)
def test_every_published_class_has_at_least_k_members(seed: int, n: int, k: int) -> None:
    rng = random.Random(seed)
    gemeenten = [("GM0344", "AM22"), ("GM0356", "AM22"), ("GM0321", "AM22"), ("GM0363", "AM21")]
    bands = ["20-24", "25-29", "30-34", "45-49", "60-64"]
    edus = ["nlqf-1", "nlqf-2", "nlqf-3", "unknown"]
    profiles = []
    for i in range(n):
        g, r = rng.choice(gemeenten)
        profiles.append((i, _qi(g, r, rng.choice(bands), rng.choice(edus))))
    result = apply_gate(profiles, k)
    assert set(result.published) | set(result.withheld) == set(range(n))
    assert not set(result.published) & set(result.withheld)
    for size in Counter(result.published.values()).values():
        assert size >= k
    # Order does not matter.
    shuffled = profiles[:]
    rng.shuffle(shuffled)
    assert apply_gate(shuffled, k).published == result.published


@pytest.mark.parametrize(
    ("true", "shown"),
    [(0, None), (9, None), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1234, 1235)],
)
def test_statistics_suppress_below_ten_and_round_to_five(true: int, shown: int | None) -> None:
    cell = protect(true)
    assert cell.count == shown
    assert cell.suppressed is (shown is None)
