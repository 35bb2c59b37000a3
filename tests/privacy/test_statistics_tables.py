"""Statistics tables as pure functions: dimensions of a candidate and protected cells."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwerk_server.privacy.consent import ConsentRecord
from openwerk_server.privacy.views import PoolCandidate
from openwerk_server.routes.statistics import candidate_dimensions, tabulate

TODAY = date(2026, 11, 1)


def _candidate(**profile: object) -> PoolCandidate:
    base: dict[str, object] = {
        "educationLevel": "nlqf-3",
        "desiredOccupations": [{"isco08": "9112"}, {"isco08": "5223"}],
        "hoursPerWeek": {"min": 8, "max": 36},
        "wantedKinds": ["regular", "banenafspraak", "regular"],
    }
    base.update(profile)
    consent = ConsentRecord(
        frozenset({"statistics"}),
        {"scope": "any-member"},
        "given",
        datetime(2026, 1, 1, tzinfo=UTC),
        date(2026, 12, 1),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    return PoolCandidate("c-1", "GM0344", "AM13", date(1990, 11, 2), base, (consent,))


def test_candidate_dimensions() -> None:
    dims = candidate_dimensions(_candidate(), TODAY)
    assert dims == {
        "arbeidsmarktregio": ("AM13",),
        "gemeente": ("GM0344",),
        "occupationGroup": ("91",),  # the first desired occupation only
        "ageBand": ("35-44",),  # 35 on 1 Nov 2026 (birthday tomorrow): 10-year band
        "educationLevel": ("nlqf-3",),
        "hoursBand": ("36-40",),  # the band of the upper end of the range
        "wantedKind": ("regular", "banenafspraak"),  # once per kind
    }
    bare = candidate_dimensions(
        _candidate(desiredOccupations=[], educationLevel=None, wantedKinds=[]), TODAY
    )
    assert bare["occupationGroup"] == ()
    assert bare["educationLevel"] == ("unknown",)
    assert bare["wantedKind"] == ()


def test_tabulate_protects_every_cell_and_the_total() -> None:
    facts = [{"a": ("x",), "b": ("p", "q")}] * 12 + [{"a": ("y",), "b": ("p",)}] * 3
    table = tabulate("candidates", facts, ["a", "b"])
    assert table["total"] == {"values": {}, "suppressed": False, "count": 15}
    assert table["cells"] == [
        {"values": {"a": "x", "b": "p"}, "suppressed": False, "count": 10},
        {"values": {"a": "x", "b": "q"}, "suppressed": False, "count": 10},
        {"values": {"a": "y", "b": "p"}, "suppressed": True},
    ]
    assert tabulate("candidates", facts[:9], [])["total"] == {"values": {}, "suppressed": True}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "g": st.sampled_from(["GM0344", "GM0355", "GM0356"]).map(lambda v: (v,)),
                "k": st.lists(st.sampled_from(["r", "b", "w"]), max_size=3).map(tuple),
            }
        ),
        max_size=80,
    ),
    st.sampled_from([[], ["g"], ["k"], ["g", "k"], ["k", "g"]]),
)
def test_tabulated_cells_are_suppressed_or_rounded_multiples_of_five(
    facts: list[dict[str, tuple[str, ...]]], dims: list[str]
) -> None:
    table = tabulate("candidates", facts, dims)
    for cell in [table["total"], *table["cells"]]:
        if cell["suppressed"]:
            assert "count" not in cell
        else:
            assert cell["count"] >= 10
            assert cell["count"] % 5 == 0
    keys = [tuple(cell["values"][d] for d in dims) for cell in table["cells"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(("true", "shown"), [(9, None), (10, 10), (12, 10), (13, 15), (97, 95)])
def test_rounding_points(true: int, shown: int | None) -> None:
    total = tabulate("candidates", [{}] * true, [])["total"]
    assert total.get("count") == shown
