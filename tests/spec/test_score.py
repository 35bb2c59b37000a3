"""score-v1: the worked examples, the prose, the two code paths and the fairness guarantees.

The worked examples are the contract other implementations test against, so they are
compared digit for digit (JSON numbers parsed as Decimal). Property tests then hold the fast
integer path to the literal Fraction/Decimal path on random inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwerk_spec import score as score_module
from openwerk_spec.score import (
    COMPONENTS,
    SCORE_VERSION,
    WEIGHTS,
    ScoreInputError,
    ScoreResult,
    merge_key,
    prepare,
    rank,
    score_v1,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_PATH = REPO / "spec" / "v1" / "score-v1-examples.json"
PROSE_PATH = REPO / "spec" / "docs" / "score-v1.md"
OPENAPI_PATH = REPO / "spec" / "v1" / "openapi.yaml"


def _load_examples() -> dict[str, Any]:
    with EXAMPLES_PATH.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh, parse_float=Decimal)
    return loaded


EXAMPLES = _load_examples()
SCORING = EXAMPLES["examples"]
RANKING = EXAMPLES["rankingExamples"]
MERGING = EXAMPLES["mergeExamples"]

# Tests run many generated cases; no example database on disk, no wall-clock deadline
# (the machine may be busy with other suites).
PROPERTY = settings(max_examples=300, deadline=None, database=None)


# --- the worked examples -------------------------------------------------------------------


def test_examples_file_names_its_version() -> None:
    assert EXAMPLES["scoreVersion"] == SCORE_VERSION == "score-v1"
    assert len(SCORING) >= 8
    assert len({example["name"] for example in SCORING}) == len(SCORING)


@pytest.mark.parametrize("example", SCORING, ids=[e["name"] for e in SCORING])
def test_worked_example_reproduces_exactly(example: dict[str, Any]) -> None:
    expected = example["expected"]
    result = score_v1(example["candidate"], example["opportunity"])
    assert result.score == expected["score"]
    assert set(result.components) == set(COMPONENTS) == set(expected["components"])
    for name in COMPONENTS:
        assert result.components[name] == expected["components"][name], name


@pytest.mark.parametrize("example", SCORING, ids=[e["name"] for e in SCORING])
def test_worked_example_prepared_path_agrees(example: dict[str, Any]) -> None:
    scorer = prepare(example["opportunity"])
    result = scorer(example["candidate"])
    assert result == score_v1(example["candidate"], example["opportunity"])
    assert scorer.score_only(example["candidate"]) == example["expected"]["score"]
    assert scorer.score_thousandths(example["candidate"]) == int(
        example["expected"]["score"] * 1000
    )


@pytest.mark.parametrize("example", SCORING, ids=[e["name"] for e in SCORING])
def test_worked_example_serialises_to_the_expected_numbers(example: dict[str, Any]) -> None:
    as_json = score_v1(example["candidate"], example["opportunity"]).as_json()
    text = json.dumps(as_json)
    again = json.loads(text, parse_float=Decimal)
    assert again["score"] == example["expected"]["score"]
    assert again["components"] == example["expected"]["components"]
    assert list(as_json["components"]) == list(COMPONENTS)


def test_examples_cover_the_cases_the_spec_promises() -> None:
    seen = {
        name: {Decimal(str(e["expected"]["components"][name])) for e in SCORING}
        for name in COMPONENTS
    }
    assert {Decimal(1), Decimal("0.75"), Decimal("0.5"), Decimal("0.25"), Decimal(0)} <= seen[
        "occupation"
    ]
    assert {Decimal(1), Decimal("0.6"), Decimal("0.2")} <= seen["location"]
    assert {Decimal(1), Decimal("0.5"), Decimal(0)} <= seen["hours"]
    assert {Decimal(1), Decimal("0.5"), Decimal(0)} <= seen["availability"]
    assert Decimal("0.6667") in seen["skills"] | seen["support"]
    assert Decimal("0.1563") in seen["skills"]  # 5/32: the half-up tie on a component
    scores = {e["expected"]["score"] for e in SCORING}
    assert Decimal("0.753") in scores  # 0.7525: the half-up tie on the score
    hidden = [e for e in SCORING if "supportNeeds" not in e["candidate"]]
    assert hidden
    assert all(e["expected"]["components"]["support"] == 1 for e in hidden)


@pytest.mark.parametrize("example", RANKING, ids=[e["name"] for e in RANKING])
def test_ranking_example_order_and_scores(example: dict[str, Any]) -> None:
    ranked = rank(example["candidates"], example["opportunity"])
    assert [card["id"] for card, _ in ranked] == example["expectedOrder"]
    for card, result in ranked:
        assert result.score == example["expectedScores"][card["id"]]
    scores = [result.score for _, result in ranked]
    assert len(scores) != len(set(scores)), "the example must contain a tie broken by id"


@pytest.mark.parametrize("example", RANKING, ids=[e["name"] for e in RANKING])
def test_ranking_limit_is_a_prefix(example: dict[str, Any]) -> None:
    full = rank(example["candidates"], example["opportunity"])
    for limit in range(len(full) + 2):
        assert rank(example["candidates"], example["opportunity"], limit=limit) == full[:limit]


@pytest.mark.parametrize("example", MERGING, ids=[e["name"] for e in MERGING])
def test_merge_example_order(example: dict[str, Any]) -> None:
    merged = sorted(
        example["items"], key=lambda i: merge_key(i["score"], i["node"], i["candidate"])
    )
    assert [[i["node"], i["candidate"]] for i in merged] == example["expectedOrder"]


# --- the prose agrees with the JSON --------------------------------------------------------

_ROW = re.compile(r"^\| `(?P<name>[a-z0-9-]+)` \| (?P<cells>.+) \|$", re.MULTILINE)


def _summary_rows() -> dict[str, list[str]]:
    prose = PROSE_PATH.read_text(encoding="utf-8")
    summary = prose.split("### Summary", 1)[1].split("###", 1)[0]
    return {m["name"]: [c.strip() for c in m["cells"].split("|")] for m in _ROW.finditer(summary)}


def test_prose_summary_table_matches_the_json() -> None:
    rows = _summary_rows()
    assert set(rows) == {example["name"] for example in SCORING}
    for example in SCORING:
        cells = rows[example["name"]]
        components = [Decimal(cell) for cell in cells[:6]]
        weighted_sum, score = Decimal(cells[6]), Decimal(cells[7])
        expected = example["expected"]
        assert components == [expected["components"][name] for name in COMPONENTS]
        assert score == expected["score"]
        assert weighted_sum == sum(
            WEIGHTS[n] * c for n, c in zip(COMPONENTS, components, strict=True)
        )
        assert weighted_sum.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) == score


def test_prose_gives_every_example_its_own_section_with_the_score() -> None:
    prose = PROSE_PATH.read_text(encoding="utf-8")
    for example in SCORING + RANKING:
        assert f"`{example['name']}`" in prose
    for example in SCORING:
        section = prose.split(f"`{example['name']}` (", 1)[1].split("###", 1)[0]
        score = example["expected"]["score"].quantize(Decimal("0.001"))
        assert f"→ **{score}**" in section, example["name"]


def test_examples_are_valid_against_the_openapi_schemas() -> None:
    """The example cards are real L2 cards and real criteria, not made-up shapes."""
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    if not OPENAPI_PATH.exists():
        pytest.skip("spec/v1/openapi.yaml is not there")
    components = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))["components"]

    def check(schema_name: str, instance: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
        jsonschema.Draft202012Validator(schema).validate(_plain(instance))

    for example in SCORING:
        check("CandidateProfile", example["candidate"])
        check("OpportunityCriteria", example["opportunity"])
        check("ScoreComponents", example["expected"]["components"])
    for example in RANKING:
        check("OpportunityCriteria", example["opportunity"])
        for card in example["candidates"]:
            check("CandidateProfile", card)


def _plain(value: Any) -> Any:
    """Decimals back to floats so jsonschema sees JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- rules in isolation --------------------------------------------------------------------

OPPORTUNITY: dict[str, Any] = SCORING[0]["opportunity"]
CARD: dict[str, Any] = SCORING[0]["candidate"]


def _with(card: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    return {**card, **changes}


def test_public_constants() -> None:
    assert COMPONENTS == ("occupation", "skills", "hours", "location", "availability", "support")
    assert list(WEIGHTS) == list(COMPONENTS)
    assert sum(WEIGHTS.values()) == 1
    assert WEIGHTS["occupation"] == Decimal("0.30")
    with pytest.raises(TypeError):
        WEIGHTS["occupation"] = Decimal(1)  # type: ignore[index]
    assert set(score_module.__all__) >= {"score_v1", "prepare", "rank", "merge_key", "ScoreResult"}


def test_result_is_immutable() -> None:
    result = score_v1(CARD, OPPORTUNITY)
    with pytest.raises(AttributeError):
        result.score = Decimal(0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.components["skills"] = Decimal(0)  # type: ignore[index]


@pytest.mark.parametrize(
    ("label", "matches"),
    [
        ("clean surfaces", True),
        ("\tClean\u00a0\u00a0SURFACES\n", True),
        ("clean\u3000surfaces", True),
        ("cleansurfaces", False),
        ("clean surface", False),
        ("clean-surfaces", False),
    ],
)
def test_label_normalisation(label: str, matches: bool) -> None:
    opportunity = _with(OPPORTUNITY, skills=[{"label": "Clean Surfaces", "importance": "optional"}])
    card = _with(CARD, skills=[{"label": label}])
    expected = Decimal(1) if matches else Decimal(0)
    assert score_v1(card, opportunity).components["skills"] == expected
    assert prepare(opportunity)(card).components["skills"] == expected


def test_label_normalisation_is_case_folding_not_lower_casing() -> None:
    opportunity = _with(OPPORTUNITY, skills=[{"label": "STRASSE VEGEN", "importance": "essential"}])
    card = _with(CARD, skills=[{"label": "straße vegen"}])
    assert score_v1(card, opportunity).components["skills"] == 1
    assert prepare(opportunity)(card).components["skills"] == 1


def test_uri_requirement_ignores_labels_and_label_requirement_ignores_uris() -> None:
    uri = "http://data.europa.eu/esco/skill/4fb7f781-9362-426a-9eb6-65c360f83e31"
    opportunity = _with(
        OPPORTUNITY,
        skills=[
            {"uri": uri, "label": "perform cleaning activities", "importance": "essential"},
            {"label": "remove dust", "importance": "optional"},
        ],
    )
    same_label_no_uri = _with(CARD, skills=[{"label": "perform cleaning activities"}])
    other_uri_same_label = _with(
        CARD, skills=[{"uri": uri + "x", "label": "perform cleaning activities"}]
    )
    label_with_a_uri = _with(CARD, skills=[{"uri": uri + "x", "label": "Remove dust"}])
    for card, expected in [
        (same_label_no_uri, Decimal(0)),
        (other_uri_same_label, Decimal(0)),
        (label_with_a_uri, Decimal("0.3333")),
    ]:
        assert score_v1(card, opportunity).components["skills"] == expected
        assert prepare(opportunity)(card).components["skills"] == expected


def test_a_requirement_counts_once_however_many_skills_match_it() -> None:
    opportunity = _with(
        OPPORTUNITY,
        skills=[
            {"label": "stack goods", "importance": "essential"},
            {"label": "pack goods", "importance": "optional"},
        ],
    )
    card = _with(CARD, skills=[{"label": "stack goods"}, {"label": "Stack  goods"}])
    assert score_v1(card, opportunity).components["skills"] == Decimal("0.6667")
    assert prepare(opportunity)(card).components["skills"] == Decimal("0.6667")


def test_distinct_support_needs() -> None:
    opportunity = _with(OPPORTUNITY, supportOffered=["jobcoach"])
    card = _with(CARD, supportNeeds=["jobcoach", "jobcoach", "quiet-workspace"])
    assert score_v1(card, opportunity).components["support"] == Decimal("0.5")
    assert prepare(opportunity)(card).components["support"] == Decimal("0.5")


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ((8, 16), "1"),
        ((24, 30), "1"),
        ((0, 15), "0.875"),
        ((25, 60), "0.875"),
        ((0, 9), "0.125"),
        ((0, 8), "0"),
    ],
)
def test_hours(hours: tuple[int, int], expected: str) -> None:
    card = _with(CARD, hoursPerWeek={"min": hours[0], "max": hours[1]})
    assert score_v1(card, OPPORTUNITY).components["hours"] == Decimal(expected)
    assert prepare(OPPORTUNITY)(card).components["hours"] == Decimal(expected)


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        ("2025-12", "1"),
        ("2026-04", "0.8333"),
        ("2026-08", "0.1667"),
        ("2026-09", "0"),
        ("2031-01", "0"),
    ],
)
def test_availability(available: str, expected: str) -> None:
    card = _with(CARD, availableFrom=available)
    assert score_v1(card, OPPORTUNITY).components["availability"] == Decimal(expected)
    assert prepare(OPPORTUNITY)(card).components["availability"] == Decimal(expected)
    no_start = {k: v for k, v in OPPORTUNITY.items() if k != "startDate"}
    assert score_v1(card, no_start).components["availability"] == 1


def test_a_start_date_at_the_end_of_the_month_uses_only_the_month() -> None:
    opportunity = _with(OPPORTUNITY, startDate="2026-03-31")
    card = _with(CARD, availableFrom="2026-03")
    assert score_v1(card, opportunity).components["availability"] == 1


def test_result_does_not_depend_on_the_callers_decimal_context() -> None:
    expected = [score_v1(e["candidate"], e["opportunity"]) for e in SCORING]
    with localcontext() as ctx:
        ctx.prec = 2
        ctx.rounding = ROUND_FLOOR
        again = [score_v1(e["candidate"], e["opportunity"]) for e in SCORING]
        prepared = [prepare(e["opportunity"])(e["candidate"]) for e in SCORING]
    assert again == expected == prepared


@pytest.mark.parametrize(
    ("side", "change"),
    [
        ("candidate", {"availableFrom": "2026-13"}),
        ("candidate", {"availableFrom": "2026-3"}),
        ("candidate", {"hoursPerWeek": {"min": 20, "max": 10}}),
        ("candidate", {"hoursPerWeek": {"min": 8}}),
        ("candidate", {"desiredOccupations": [{"isco08": "911"}]}),
        ("candidate", {"location": {}}),
        ("opportunity", {"occupation": {"isco08": "91a2"}}),
        ("opportunity", {"skills": [{"label": "x", "importance": "nice-to-have"}]}),
        ("opportunity", {"startDate": "2026-02-30"}),
        ("opportunity", {"hoursPerWeek": {"min": 8.5, "max": 16}}),
    ],
)
def test_malformed_input_raises_score_input_error(side: str, change: dict[str, Any]) -> None:
    card = _with(CARD, **change) if side == "candidate" else CARD
    opportunity = _with(OPPORTUNITY, **change) if side == "opportunity" else OPPORTUNITY
    with pytest.raises(ScoreInputError):
        score_v1(card, opportunity)
    with pytest.raises(ScoreInputError):
        prepare(opportunity)(card)
    assert issubclass(ScoreInputError, ValueError)


def test_rank_needs_ids_and_a_sane_limit() -> None:
    card = {k: v for k, v in CARD.items() if k != "id"}
    with pytest.raises(ScoreInputError):
        rank([card], OPPORTUNITY)
    with pytest.raises(ValueError, match="limit"):
        rank([CARD], OPPORTUNITY, limit=-1)
    assert rank([], OPPORTUNITY) == []


def test_merge_key_orders_by_score_then_node_then_pseudonym() -> None:
    items = [
        (Decimal("0.5"), "b-node", "a"),
        (Decimal("0.5"), "a-node", "b"),
        (Decimal("0.500"), "a-node", "A"),
        (Decimal("0.9"), "z-node", "z"),
    ]
    ordered = sorted(items, key=lambda i: merge_key(*i))
    assert ordered == [items[3], items[2], items[1], items[0]]


# --- property tests ------------------------------------------------------------------------

_OCC = "http://data.europa.eu/esco/occupation/"
_SKILL = "http://data.europa.eu/esco/skill/"
_ISCO = ["9112", "9111", "9122", "9121", "9333", "9334", "9321", "9412", "9411", "5120", "5223"]
_OCC_URIS = [None, _OCC + "303a1e34", _OCC + "731ecac4", _OCC + "bea705fe"]
_SKILL_URIS = [_SKILL + s for s in ("4fb7f781", "dacaebb5", "de804504", "28b7d7fb")]
_LABELS = [
    "clean surfaces",
    " Clean  Surfaces",
    "CLEAN\tSURFACES ",
    "stack goods",
    "Stack\u00a0Goods",
    "straße vegen",
    "STRASSE VEGEN",
    "lift heavy weights",
    "",
    " ",
]
_PLACES = [("GM0344", "AM13"), ("GM0356", "AM13"), ("GM0599", "AM22"), ("GM0363", "AM18")]
_SUPPORT = ["jobcoach", "adapted-pace", "quiet-workspace", "structured-tasks", "language-support"]

_hours = st.tuples(st.integers(0, 60), st.integers(0, 60)).map(
    lambda t: {"min": min(t), "max": max(t)}
)
_occupation = st.builds(
    lambda code, uri: {"isco08": code} | ({"escoUri": uri} if uri else {}),
    st.sampled_from(_ISCO),
    st.sampled_from(_OCC_URIS),
)
_skill = st.builds(
    lambda label, uri: {"label": label} | ({"uri": uri} if uri else {}),
    st.sampled_from(_LABELS),
    st.sampled_from([None, *_SKILL_URIS]),
)
_required_skill = st.builds(
    lambda s, importance: s | {"importance": importance},
    _skill,
    st.sampled_from(["essential", "optional"]),
)
_month = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2024, 2028), st.integers(1, 12))


@st.composite
def _cards(draw: st.DrawFn) -> dict[str, Any]:
    gemeente, region = draw(st.sampled_from(_PLACES))
    location = {"arbeidsmarktregio": region}
    if draw(st.booleans()):
        location["gemeente"] = gemeente
    card: dict[str, Any] = {
        "id": draw(st.text("-_09AZaz", min_size=1, max_size=4)),
        "desiredOccupations": draw(st.lists(_occupation, max_size=4)),
        "skills": draw(st.lists(_skill, max_size=8)),
        "hoursPerWeek": draw(_hours),
        "location": location,
        "availableFrom": draw(_month),
    }
    needs = draw(st.none() | st.lists(st.sampled_from(_SUPPORT), max_size=5))
    if needs is not None:
        card["supportNeeds"] = needs
    return card


@st.composite
def _opportunities(draw: st.DrawFn) -> dict[str, Any]:
    gemeente, region = draw(st.sampled_from(_PLACES))
    opportunity: dict[str, Any] = {
        "occupation": draw(_occupation),
        "skills": draw(st.lists(_required_skill, max_size=20)),
        "hoursPerWeek": draw(_hours),
        "location": {"gemeente": gemeente, "arbeidsmarktregio": region},
        "supportOffered": draw(st.lists(st.sampled_from(_SUPPORT), unique=True)),
    }
    start = draw(st.none() | st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
    if start is not None:
        opportunity["startDate"] = start.isoformat()
    return opportunity


_PROTECTED = st.fixed_dictionaries(
    {},
    optional={
        "ageBand": st.sampled_from(["15-19", "25-29", "55-59", "65-74"]),
        "educationLevel": st.sampled_from(["below-nlqf-1", "nlqf-2", "nlqf-6", "unknown"]),
        "languages": st.lists(
            st.fixed_dictionaries(
                {
                    "code": st.sampled_from(["nl", "ar", "ti", "pl"]),
                    "level": st.sampled_from(["A1", "B1", "C2"]),
                }
            ),
            max_size=3,
        ),
        "eligibility": st.lists(
            st.fixed_dictionaries({"type": st.sampled_from(["banenafspraak", "no-riskpolis"])}),
            max_size=2,
        ),
        "gender": st.sampled_from(["female", "male", "x"]),
        "nationality": st.sampled_from(["NL", "SY", "ER", "PL"]),
        "benefitType": st.sampled_from(["bijstand", "wajong", "ww", "none"]),
        "birthDate": st.just("1970-01-01"),
        "diagnosis": st.just("never on a card"),
    },
)


def _weighted_sum(result: ScoreResult) -> Decimal:
    return sum((WEIGHTS[n] * result.components[n] for n in COMPONENTS), Decimal(0))


@PROPERTY
@given(_cards(), _opportunities())
def test_components_and_score_are_in_range_and_follow_the_sum_rule(
    card: dict[str, Any], opportunity: dict[str, Any]
) -> None:
    result = score_v1(card, opportunity)
    assert tuple(result.components) == COMPONENTS
    for value in result.components.values():
        assert 0 <= value <= 1
        assert value == value.quantize(Decimal("0.0001"))
    assert 0 <= result.score <= 1
    assert result.score == _weighted_sum(result).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


@PROPERTY
@given(_cards(), _opportunities())
def test_prepared_scorer_equals_the_literal_function(
    card: dict[str, Any], opportunity: dict[str, Any]
) -> None:
    expected = score_v1(card, opportunity)
    scorer = prepare(opportunity)
    assert scorer(card) == expected
    assert scorer(card) == expected  # second call served from the scorer's memos
    assert scorer.score_only(card) == expected.score
    assert scorer.score_thousandths(card) == int(expected.score * 1000)
    units = scorer.component_units(card)
    assert units == tuple(int(expected.components[n] * 10_000) for n in COMPONENTS)


@PROPERTY
@given(_cards(), _opportunities(), _PROTECTED)
def test_protected_attributes_do_not_change_the_result(
    card: dict[str, Any], opportunity: dict[str, Any], protected: dict[str, Any]
) -> None:
    with_protected = {**card, **protected}
    assert score_v1(with_protected, opportunity) == score_v1(card, opportunity)
    assert prepare(opportunity)(with_protected) == score_v1(card, opportunity)


@PROPERTY
@given(st.lists(_cards(), max_size=12), _opportunities(), st.none() | st.integers(0, 15))
def test_rank_orders_by_score_then_id(
    cards: list[dict[str, Any]], opportunity: dict[str, Any], limit: int | None
) -> None:
    ranked = rank(cards, opportunity, limit=limit)
    full = rank(cards, opportunity)
    assert len(full) == len(cards)
    assert ranked == full[: len(ranked)]
    assert len(ranked) == (len(cards) if limit is None else min(limit, len(cards)))
    keys = [(-result.score, card["id"]) for card, result in full]
    assert keys == sorted(keys)
    for card, result in full:
        assert result == score_v1(card, opportunity)
