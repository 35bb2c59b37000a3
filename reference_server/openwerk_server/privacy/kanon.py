"""The k-anonymity gate with its generalisation ladder (spec/docs/k-anonymity.md).

Quasi-identifiers of an L2 card: location, age band, education level. For the set of
profiles one consumer may see, the gate works down a ladder:

====== ======================== ========== ===============
level  location                 age band   education level
====== ======================== ========== ===============
0      gemeente                 5 years    shown
1      arbeidsmarktregio        5 years    shown
2      arbeidsmarktregio        10 years   shown
3      arbeidsmarktregio        10 years   omitted
====== ======================== ========== ===============

At each level, the profiles not yet published are grouped by their tuple at that level;
every group with at least k members is published at that level. What is left after level 3
is withheld. The tuples of different levels never coincide (a gemeente code is not a region
code, 5- and 10-year band codes differ, an omitted education level is its own value), so
every published class — the profiles with one published tuple — has at least k members.
That is the property the conformance suite counts (OW-KANON-002). Profiles that sit in
large groups keep their detail; only the rare ones are generalised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from openwerk_spec.codelists import broader_age_band

MIN_K = 5

K = TypeVar("K")

#: What each level generalises, as the card's ``generalised`` member lists it.
GENERALISED_AT_LEVEL: tuple[tuple[str, ...], ...] = (
    (),
    ("location",),
    ("location", "ageBand"),
    ("location", "ageBand", "educationLevel"),
)


@dataclass(frozen=True, slots=True)
class QuasiIdentifiers:
    """The quasi-identifiers of one profile at full detail."""

    gemeente: str
    arbeidsmarktregio: str
    age_band: str
    """The 5-year band (code list ``age-bands``)."""
    education_level: str


@dataclass(frozen=True, slots=True)
class Published:
    """A profile the gate lets through, at ``level`` with these (possibly generalised) values."""

    level: int
    gemeente: str | None
    arbeidsmarktregio: str
    age_band: str
    education_level: str | None

    @property
    def generalised(self) -> tuple[str, ...]:
        """The card's ``generalised`` member."""
        return GENERALISED_AT_LEVEL[self.level]


@dataclass(frozen=True, slots=True)
class Withheld:
    """A profile the gate withholds; ``class_size`` is its group size at level 3 (below k)."""

    class_size: int


@dataclass(frozen=True)
class GateResult(Generic[K]):
    """Outcome of the gate over one consumer's set: each key published or withheld."""

    k: int
    published: Mapping[K, Published]
    withheld: Mapping[K, Withheld]


def _tuple_at(level: int, qi: QuasiIdentifiers) -> Published:
    if level == 0:
        return Published(0, qi.gemeente, qi.arbeidsmarktregio, qi.age_band, qi.education_level)
    if level == 1:
        return Published(1, None, qi.arbeidsmarktregio, qi.age_band, qi.education_level)
    ten = _ten_year(qi.age_band)
    if level == 2:
        return Published(2, None, qi.arbeidsmarktregio, ten, qi.education_level)
    return Published(3, None, qi.arbeidsmarktregio, ten, None)


def _ten_year(band: str) -> str:
    try:
        return broader_age_band(band)
    except ValueError:
        return band  # already a 10-year band (ages outside the 5-year bands)


def validate_k(k: int) -> int:
    """Refuse a k below the standard's minimum (OW-KANON-001)."""
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (OW-KANON-001); got {k}")
    return k


def apply_gate(profiles: Iterable[tuple[K, QuasiIdentifiers]], k: int) -> GateResult[K]:
    """Run the ladder over the profiles one consumer may see.

    ``profiles`` are (key, quasi-identifiers) pairs; keys are whatever the caller uses to
    find the profile again (an internal id). The result is deterministic: it depends only
    on the multiset of profiles, never on their order.
    """
    validate_k(k)
    remaining: list[tuple[K, QuasiIdentifiers]] = list(profiles)
    published: dict[K, Published] = {}
    last_groups: dict[Published, list[K]] = {}
    for level in range(len(GENERALISED_AT_LEVEL)):
        groups: dict[Published, list[K]] = defaultdict(list)
        by_key: dict[K, QuasiIdentifiers] = {}
        for key, qi in remaining:
            groups[_tuple_at(level, qi)].append(key)
            by_key[key] = qi
        still: list[tuple[K, QuasiIdentifiers]] = []
        for values, keys in groups.items():
            if len(keys) >= k:
                for key in keys:
                    published[key] = values
            else:
                still.extend((key, by_key[key]) for key in keys)
        remaining = still
        last_groups = groups
    withheld = {
        key: Withheld(class_size=len(last_groups[_tuple_at(3, qi)])) for key, qi in remaining
    }
    return GateResult(k=k, published=published, withheld=withheld)


def class_sizes(cards: Sequence[Mapping[str, object]]) -> dict[tuple[object, ...], int]:
    """Count published classes of L2 cards by their quasi-identifier tuple.

    The same counting the conformance suite does: a card's class is its (gemeente or absent,
    arbeidsmarktregio, ageBand or absent, educationLevel or absent).
    """
    sizes: dict[tuple[object, ...], int] = defaultdict(int)
    for card in cards:
        location = card["location"]
        assert isinstance(location, Mapping)
        key = (
            location.get("gemeente"),
            location.get("arbeidsmarktregio"),
            card.get("ageBand"),
            card.get("educationLevel"),
        )
        sizes[key] += 1
    return dict(sizes)
