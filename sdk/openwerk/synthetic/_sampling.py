"""Seeding and weighted draws: the two things every synthetic stream needs, made cheap.

Every item (candidate *i*, its consents, vacancy *i*, ...) gets its own ``random.Random``
seeded from (generator seed, node id, stream name, index). Item *i* is therefore the same
whether a caller asks for 10 items or 100,000, or starts at *i*; and nothing depends on
``PYTHONHASHSEED`` because stream keys come from SHA-256, not ``hash()``.

``random.choices``, ``randint`` and ``sample`` are written in Python and check their
arguments on every call; generating 100,000 candidates makes millions of draws, so the
helpers here take the bound ``Random.random`` method (``Uniform``) and use one C call per
draw: :func:`weighted` precomputes cumulative weights and bisects, :func:`pick_k` takes a
prefix of a precomputed permutation.
"""

from __future__ import annotations

import hashlib
from bisect import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import accumulate
from random import Random
from typing import TypeVar

__all__ = [
    "Draw",
    "Uniform",
    "add_months",
    "add_years",
    "choice",
    "node_tag",
    "pick_k",
    "randint",
    "stream_key",
    "uniform",
    "weighted",
    "year_month",
]

T = TypeVar("T")

#: A uniform draw in [0, 1): the bound ``random`` method of an item's ``random.Random``.
Uniform = Callable[[], float]
#: A draw of one item of type T, given a uniform source.
Draw = Callable[[Uniform], T]


def uniform(seed: int) -> Uniform:
    """The uniform source of one item: ``random.Random(seed).random``."""
    # S311: reproducible synthetic data is the point; nothing here protects a secret.
    return Random(seed).random  # noqa: S311


def node_tag(node_id: str) -> str:
    """A short prefix for a node's external references: initials of the id's parts.

    ``werkbedrijf-utrecht`` gives ``WU``, so references stay unique across the publishers
    of one federation (a loader may find items by ``externalReference``).
    """
    return "".join(part[:1] for part in node_id.split("-")).upper()[:4] or "N"


def stream_key(seed: int, node_id: str, stream: str) -> int:
    """A 64-bit base key for one stream; item *i* seeds ``Random(key + i)``."""
    digest = hashlib.sha256(f"openwerk-synthetic:{seed}:{node_id}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big") << 24


def weighted(pairs: Iterable[tuple[T, float]]) -> Draw[T]:
    """A draw from a fixed table of items with weights (zero-weight items are dropped).

    It returns a closure over precomputed cumulative weights: one ``random()`` and a
    bisection per draw, and a plain function call is markedly cheaper than a method.
    """
    items: list[T] = []
    weights: list[float] = []
    for item, weight in pairs:
        if weight < 0:
            raise ValueError(f"negative weight for {item!r}")
        if weight > 0:
            items.append(item)
            weights.append(weight)
    if not items:
        raise ValueError("a weighted table needs at least one positive weight")
    frozen: tuple[T, ...] = tuple(items)
    cumulative = tuple(accumulate(weights))
    total = cumulative[-1]

    def draw(r: Uniform) -> T:
        return frozen[bisect(cumulative, r() * total)]

    return draw


def choice(r: Uniform, items: Sequence[T]) -> T:
    """One item, uniformly."""
    return items[int(r() * len(items))]


def randint(r: Uniform, low: int, high: int) -> int:
    """An integer in [low, high], uniformly."""
    return low + int(r() * (high - low + 1))


# Drawing k of n distinct items is the commonest draw (skills), so for small n it uses one
# of 64 fixed permutations of range(n) (built once from a fixed seed) and takes a prefix:
# one random() per draw instead of k. Larger n fall back to a partial Fisher-Yates shuffle.
_PERMUTATIONS: dict[int, tuple[tuple[int, ...], ...]] = {}
_SMALL = 24


def _permutations(n: int) -> tuple[tuple[int, ...], ...]:
    table = _PERMUTATIONS.get(n)
    if table is None:
        shuffle = Random(f"openwerk-synthetic-permutations-{n}").shuffle  # noqa: S311
        rows = []
        for _ in range(64):
            row = list(range(n))
            shuffle(row)
            rows.append(tuple(row))
        table = _PERMUTATIONS[n] = tuple(rows)
    return table


def pick_k(r: Uniform, items: Sequence[T], k: int) -> list[T]:
    """Up to ``k`` distinct items in random order (all of them, shuffled, when fewer)."""
    n = len(items)
    if n <= _SMALL:
        return [items[i] for i in _permutations(n)[int(r() * 64)][:k]]
    pool = list(items)
    k = min(k, n)
    for i in range(k):
        j = i + int(r() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _clamped(year: int, month: int, day: int) -> date:
    for d in (day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(f"no valid day in {year}-{month:02d}")  # pragma: no cover - unreachable


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    return _clamped(index // 12, index % 12 + 1, day.day)


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years (29 February becomes 28 February when needed)."""
    return _clamped(day.year + years, day.month, day.day)


def year_month(day: date, months: int = 0) -> str:
    """The ``YYYY-MM`` month that is ``months`` after the month of ``day``."""
    moved = add_months(day.replace(day=1), months)
    return f"{moved.year:04d}-{moved.month:02d}"
