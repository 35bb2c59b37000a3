"""score-v1: the one published function by which every Open Werk node ranks candidates.

Ranking people for work is high-risk under the EU AI Act (Annex III 4(a)), so the score is
deliberately small, explainable and reproducible: six components in [0, 1], fixed weights,
exact decimal arithmetic. Anyone holding a candidate card (as served to them) and the
opportunity's criteria can recompute a node's score to the last digit; the conformance suite
does exactly that. The normative text is ``spec/docs/score-v1.md``; this module is its
reference implementation.

There are two code paths on purpose:

* :func:`score_v1` follows the prose literally (``Fraction`` for each component, ``Decimal``
  for the weighted sum) so a reader can check it against the spec line by line;
* :func:`prepare` compiles the opportunity once and scores in integer units (components in
  1/10,000, the sum in 1/1,000,000), because a node scores its whole pool per request.

The tests prove both paths give identical results, so neither can drift silently.
Protected attributes (age band, education level, languages, eligibility, gender,
nationality, benefit type) are never read: only the fields named in the spec are.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Final, TypeVar

__all__ = [
    "COMPONENTS",
    "SCORE_VERSION",
    "WEIGHTS",
    "PreparedScorer",
    "ScoreInputError",
    "ScoreResult",
    "merge_key",
    "normalise_label",
    "prepare",
    "rank",
    "score_v1",
]

SCORE_VERSION: Final = "score-v1"

#: The component names, in the order the spec lists them (and MatchResult serialises them).
COMPONENTS: Final[tuple[str, ...]] = (
    "occupation",
    "skills",
    "hours",
    "location",
    "availability",
    "support",
)

#: Fixed weights; they sum to 1.00. Changing any of them is score-v2, never an edit here.
WEIGHTS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "occupation": Decimal("0.30"),
        "skills": Decimal("0.30"),
        "hours": Decimal("0.10"),
        "location": Decimal("0.15"),
        "availability": Decimal("0.05"),
        "support": Decimal("0.10"),
    }
)

# Weights in hundredths, in COMPONENTS order: with components in 1/10,000 the weighted sum is
# an exact integer in 1/1,000,000, which is what the fast path adds up.
_WEIGHT_HUNDREDTHS: Final = tuple(int(WEIGHTS[name] * 100) for name in COMPONENTS)

# The caller's decimal context may have a low precision or another rounding mode; the score
# must not depend on it, so every Decimal operation here names this context explicitly.
_CTX: Final = Context(prec=28, rounding=ROUND_HALF_UP)
_THOUSANDTH: Final = Decimal("0.001")
_UNIT: Final = 10_000  # components are rounded to 4 decimals: integers 0..10,000 in this unit
_IMPORTANCE_WEIGHT: Final[Mapping[str, int]] = MappingProxyType({"essential": 2, "optional": 1})

# Unicode White_Space, written out so implementations in other languages can copy it exactly
# (Python's str.split() also splits on U+001C..U+001F, which are not White_Space).
_WS: Final = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WS_RUN: Final = re.compile(f"[{_WS}]+")
_ISCO4: Final = re.compile(r"[0-9]{4}")
_MONTH: Final = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")

_K = TypeVar("_K")
_V = TypeVar("_V")


class ScoreInputError(ValueError):
    """A field score-v1 needs is missing or malformed.

    The functions assume schema-valid input and are not validators; they raise this (rather
    than return a made-up score) where they cannot compute a component.
    """


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A score with its components: the components are the explanation shown on every card."""

    score: Decimal
    components: Mapping[str, Decimal]

    def as_json(self) -> dict[str, Any]:
        """The MatchResult item shape: JSON numbers (floats print exactly as the decimals)."""
        return {
            "score": float(self.score),
            "components": {name: float(self.components[name]) for name in COMPONENTS},
        }


# --- helpers shared by both paths (parsing only, no arithmetic) ---------------------------


def normalise_label(label: str) -> str:
    """Trim, collapse internal whitespace to one space, then Unicode full case folding."""
    return _WS_RUN.sub(" ", label).strip(" ").casefold()


def _isco(code: Any) -> str:
    if not isinstance(code, str) or not _ISCO4.fullmatch(code):
        raise ScoreInputError(f"isco08 must be a 4-digit ISCO-08 unit group, got {code!r}")
    return code


def _month_index(value: Any) -> int:
    """'YYYY-MM' -> months since year 0, so 'months late' is a plain subtraction."""
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ScoreInputError(f"availableFrom must be 'YYYY-MM', got {value!r}")
    return int(match[1]) * 12 + int(match[2])


def _start_month_index(value: Any) -> int | None:
    if value is None:
        return None
    try:
        start = date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ScoreInputError(f"startDate must be 'YYYY-MM-DD', got {value!r}") from exc
    return start.year * 12 + start.month


def _hours(value: Any, side: str) -> tuple[int, int]:
    try:
        low, high = value["min"], value["max"]
    except (KeyError, TypeError) as exc:
        raise ScoreInputError(f"{side} hoursPerWeek needs min and max") from exc
    if type(low) is not int or type(high) is not int or not 0 <= low <= high:
        raise ScoreInputError(f"{side} hoursPerWeek must be integers with 0 <= min <= max")
    return low, high


def _required(mapping: Mapping[str, Any], key: str, side: str) -> Any:
    try:
        return mapping[key]
    except (KeyError, TypeError) as exc:
        raise ScoreInputError(f"{side} has no {key!r}") from exc


def _skill_weights(opportunity: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Required skills as {uri: weight} and {normalised label: weight} (essential 2, optional 1).

    A requirement with a uri matches by uri only; one without matches by label only.
    Duplicated requirements add up, exactly as they count twice in the denominator.
    """
    by_uri: dict[str, int] = {}
    by_label: dict[str, int] = {}
    for skill in opportunity.get("skills") or ():
        weight = _IMPORTANCE_WEIGHT.get(_required(skill, "importance", "required skill"))
        if weight is None:
            raise ScoreInputError("importance must be 'essential' or 'optional'")
        uri = skill.get("uri")
        if uri is not None:
            by_uri[uri] = by_uri.get(uri, 0) + weight
        else:
            label = normalise_label(_required(skill, "label", "required skill"))
            by_label[label] = by_label.get(label, 0) + weight
    return by_uri, by_label


# --- the literal path ----------------------------------------------------------------------


def _round4(value: Fraction) -> Decimal:
    """Round an exact non-negative rational to 4 decimals, half away from zero."""
    return Decimal(math.floor(value * _UNIT + Fraction(1, 2))).scaleb(-4, context=_CTX)


def _occupation_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    wanted = _required(criteria, "occupation", "opportunity")
    code, uri = _isco(_required(wanted, "isco08", "occupation")), wanted.get("escoUri")
    best = Fraction(0)
    for desired in candidate.get("desiredOccupations") or ():
        other = _isco(_required(desired, "isco08", "desired occupation"))
        if uri is not None and desired.get("escoUri") == uri:
            value = Fraction(1)
        elif other == code:
            value = Fraction(3, 4)
        elif other[:3] == code[:3]:
            value = Fraction(1, 2)
        elif other[:2] == code[:2]:
            value = Fraction(1, 4)
        else:
            value = Fraction(0)
        best = max(best, value)
    return best


def _skills_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    by_uri, by_label = _skill_weights(criteria)
    required = sum(by_uri.values()) + sum(by_label.values())
    if required == 0:
        return Fraction(1)
    skills = candidate.get("skills") or ()
    uris = {skill.get("uri") for skill in skills}
    labels = {normalise_label(_required(skill, "label", "skill")) for skill in skills}
    matched = sum(w for u, w in by_uri.items() if u in uris)
    matched += sum(w for label, w in by_label.items() if label in labels)
    return Fraction(matched, required)


def _hours_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    c_min, c_max = _hours(_required(candidate, "hoursPerWeek", "candidate"), "candidate")
    o_min, o_max = _hours(_required(criteria, "hoursPerWeek", "opportunity"), "opportunity")
    gap = max(o_min - c_max, c_min - o_max)  # <= 0 when the ranges overlap or touch
    return Fraction(1) if gap <= 0 else max(Fraction(0), 1 - Fraction(gap, 8))


def _location_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    here = _required(candidate, "location", "candidate")
    there = _required(criteria, "location", "opportunity")
    if here.get("gemeente") == _required(there, "gemeente", "opportunity location"):
        return Fraction(1)
    region = _required(there, "arbeidsmarktregio", "opportunity location")
    if _required(here, "arbeidsmarktregio", "candidate location") == region:
        return Fraction(3, 5)
    return Fraction(1, 5)


def _availability_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    start = _start_month_index(criteria.get("startDate"))
    available = _month_index(_required(candidate, "availableFrom", "candidate"))
    if start is None or available <= start:
        return Fraction(1)
    return max(Fraction(0), 1 - Fraction(available - start, 6))


def _support_fraction(candidate: Mapping[str, Any], criteria: Mapping[str, Any]) -> Fraction:
    needs = set(candidate.get("supportNeeds") or ())
    if not needs:
        return Fraction(1)
    return Fraction(len(needs & set(criteria.get("supportOffered") or ())), len(needs))


def score_v1(candidate: Mapping[str, Any], opportunity: Mapping[str, Any]) -> ScoreResult:
    """Score one candidate card (as served to the consumer) against opportunity criteria.

    This is the literal transcription of the spec, kept slow and obvious on purpose; nodes
    scoring a pool use :func:`prepare`, which the tests hold to the same results.
    """
    components = {
        "occupation": _round4(_occupation_fraction(candidate, opportunity)),
        "skills": _round4(_skills_fraction(candidate, opportunity)),
        "hours": _round4(_hours_fraction(candidate, opportunity)),
        "location": _round4(_location_fraction(candidate, opportunity)),
        "availability": _round4(_availability_fraction(candidate, opportunity)),
        "support": _round4(_support_fraction(candidate, opportunity)),
    }
    total = Decimal(0)
    for name in COMPONENTS:
        total = _CTX.add(total, _CTX.multiply(WEIGHTS[name], components[name]))
    score = total.quantize(_THOUSANDTH, rounding=ROUND_HALF_UP, context=_CTX)
    return ScoreResult(score=score, components=MappingProxyType(components))


# --- the compiled path ---------------------------------------------------------------------

_Units = tuple[int, int, int, int, int, int]


def _units(numerator: int, denominator: int) -> int:
    """numerator/denominator in 1/10,000, rounded half up (both non-negative)."""
    return (2 * numerator * _UNIT + denominator) // (2 * denominator)


def _thousandths(units: _Units) -> int:
    """Σ weight·component in 1/1,000,000, then rounded half up to 1/1,000."""
    a, b, c, d, e, f = units
    return (30 * a + 30 * b + 10 * c + 15 * d + 5 * e + 10 * f + 500) // 1000


if _WEIGHT_HUNDREDTHS != (30, 30, 10, 15, 5, 10):  # pragma: no cover - guards an edit
    raise RuntimeError("_thousandths hard-codes the score-v1 weights; keep them in step")


class _Memo(dict[_K, _V]):
    """A dict that computes a missing entry once: hits stay at C speed, misses validate."""

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[_K], _V]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: _K) -> _V:
        value = self[key] = self._compute(key)
        return value


def _decimal_places(places: int) -> Callable[[int], Decimal]:
    return lambda units: Decimal(units).scaleb(-places, context=_CTX)


class PreparedScorer:
    """score-v1 with the opportunity side compiled once, for scoring a whole pool.

    Integer arithmetic gives the same digits as the Decimal rules: a component rounded to 4
    decimals is an integer 0..10,000, a weight is an integer number of hundredths, so the
    weighted sum is an exact integer number of millionths. Per-scorer memos (ISCO code,
    folded label, hour range, month, Decimal of a unit count) hold only values derived from
    the inputs and live as long as the scorer, so a pool of 100,000 cards costs a few hundred
    distinct computations. A scorer is cheap to build: make one per request.
    """

    __slots__ = (
        "_dec3",
        "_dec4",
        "_fold",
        "_gemeente",
        "_hours",
        "_isco",
        "_label_weights",
        "_month",
        "_offered",
        "_region",
        "_skills_table",
        "_uri",
        "_uri_weights",
    )

    def __init__(self, opportunity: Mapping[str, Any]) -> None:
        wanted = _required(opportunity, "occupation", "opportunity")
        code = _isco(_required(wanted, "isco08", "occupation"))
        self._uri: str | None = wanted.get("escoUri")
        self._uri_weights, self._label_weights = _skill_weights(opportunity)
        required = sum(self._uri_weights.values()) + sum(self._label_weights.values())
        # The skills component by matched weight: a lookup instead of a division per card.
        # Nothing required gives the one-entry table (1.0,), which the hot path tests for.
        self._skills_table = (
            tuple(_units(p, required) for p in range(required + 1)) if required else (_UNIT,)
        )
        o_min, o_max = _hours(_required(opportunity, "hoursPerWeek", "opportunity"), "opportunity")
        location = _required(opportunity, "location", "opportunity")
        self._gemeente = _required(location, "gemeente", "opportunity location")
        self._region = _required(location, "arbeidsmarktregio", "opportunity location")
        start = _start_month_index(opportunity.get("startDate"))
        self._offered = frozenset(opportunity.get("supportOffered") or ())

        def occupation(other: str) -> int:
            other = _isco(other)
            if other == code:
                return 7500
            if other[:3] == code[:3]:
                return 5000
            return 2500 if other[:2] == code[:2] else 0

        def hours(key: tuple[int, int]) -> int:
            low, high = _hours({"min": key[0], "max": key[1]}, "candidate")
            gap = max(o_min - high, low - o_max)  # <= 0 when the ranges overlap or touch
            return _UNIT if gap <= 0 else max(0, (8 - gap) * 1250)  # 1 - gap/8, exactly

        def month(value: str) -> int:
            available = _month_index(value)
            if start is None or available <= start:
                return _UNIT
            return _units(max(0, 6 - (available - start)), 6)

        self._isco = _Memo(occupation)
        self._hours = _Memo(hours)
        self._month = _Memo(month)
        self._fold = _Memo(normalise_label)
        self._dec4 = _Memo(_decimal_places(4))
        self._dec3 = _Memo(_decimal_places(3))

    def __call__(self, candidate: Mapping[str, Any]) -> ScoreResult:
        """The full result (score and components) for one card."""
        units = self.component_units(candidate)
        dec4 = self._dec4
        components = {name: dec4[value] for name, value in zip(COMPONENTS, units, strict=True)}
        return ScoreResult(self._dec3[_thousandths(units)], MappingProxyType(components))

    def score_only(self, candidate: Mapping[str, Any]) -> Decimal:
        """Just the score, as a Decimal with 3 decimals."""
        return self._dec3[_thousandths(self.component_units(candidate))]

    def score_thousandths(self, candidate: Mapping[str, Any]) -> int:
        """The score as an integer number of thousandths (0..1000): the cheapest sort key."""
        return _thousandths(self.component_units(candidate))

    def component_units(self, candidate: Mapping[str, Any]) -> _Units:
        """The six components in 1/10,000 (integers 0..10,000), in COMPONENTS order."""
        try:
            occupation = 0
            isco, uri = self._isco, self._uri
            for desired in candidate.get("desiredOccupations") or ():
                value = isco[desired["isco08"]]
                if uri is not None and desired.get("escoUri") == uri:
                    value = _UNIT
                if value > occupation:
                    occupation = value

            table = self._skills_table
            if len(table) == 1:  # nothing required
                skills = _UNIT
            else:
                # Popping from copies counts each requirement once, however many of the
                # candidate's skills match it; a dict copy beats building sets per card.
                by_uri = self._uri_weights.copy()
                by_label = self._label_weights.copy()
                matched = 0
                if by_label:
                    fold = self._fold
                    for skill in candidate.get("skills") or ():
                        matched += by_uri.pop(skill.get("uri"), 0)
                        matched += by_label.pop(fold[skill["label"]], 0)
                else:
                    for skill in candidate.get("skills") or ():
                        matched += by_uri.pop(skill.get("uri"), 0)
                skills = table[matched]

            wanted = candidate["hoursPerWeek"]
            hours = self._hours[wanted["min"], wanted["max"]]

            here = candidate["location"]
            if here.get("gemeente") == self._gemeente:
                location = _UNIT
            elif here["arbeidsmarktregio"] == self._region:
                location = 6000
            else:
                location = 2000

            availability = self._month[candidate["availableFrom"]]

            needs = candidate.get("supportNeeds")
            if needs:
                distinct = set(needs)
                support = _units(len(distinct & self._offered), len(distinct))
            else:
                support = _UNIT
        except (KeyError, TypeError, AttributeError) as exc:
            raise ScoreInputError(f"candidate card is not a valid score-v1 input: {exc!r}") from exc
        return occupation, skills, hours, location, availability, support


def prepare(opportunity: Mapping[str, Any]) -> PreparedScorer:
    """Compile an opportunity's criteria once; the scorer then scores cards cheaply."""
    return PreparedScorer(opportunity)


def rank(
    candidates: Iterable[Mapping[str, Any]],
    opportunity: Mapping[str, Any],
    limit: int | None = None,
) -> list[tuple[Mapping[str, Any], ScoreResult]]:
    """Order cards by score descending, then by ``id`` (pseudonym) in code-point order.

    With ``limit`` only the top ``limit`` are fully materialised; the rest are compared as
    integers, which is what keeps a 100,000-card pool affordable.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    scorer = prepare(opportunity)
    pool = list(candidates)
    # The index breaks exact duplicates without ever comparing the mappings themselves.
    keyed = [
        (-scorer.score_thousandths(card), _required(card, "id", "candidate"), index)
        for index, card in enumerate(pool)
    ]
    ordered = sorted(keyed) if limit is None else heapq.nsmallest(limit, keyed)
    return [(pool[index], scorer(pool[index])) for _, _, index in ordered]


def merge_key(score: Decimal, node: str, pseudonym: str) -> tuple[Decimal, str, str]:
    """Sort key for merging match results across nodes: score desc, node asc, pseudonym asc.

    Use as ``sorted(items, key=lambda i: merge_key(i.score, i.node, i.pseudonym))``.
    """
    return (-score, node, pseudonym)
