"""Disclosure control for L1 statistics (spec/docs/statistics.md, OW-STAT-003..004).

A cell whose true count is below 10 is suppressed; every other count is rounded to the
nearest multiple of 5. Suppression hides small groups; rounding blurs the differences
between overlapping queries that would otherwise let a consumer subtract its way to a
single person. Both apply to the total too.
"""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 10
ROUNDING = 5


@dataclass(frozen=True, slots=True)
class Cell:
    """A published statistics cell: a rounded count, or suppressed."""

    count: int | None
    suppressed: bool

    def as_json(self, values: dict[str, str]) -> dict[str, object]:
        """The cell as the ``StatisticsCell`` schema has it."""
        body: dict[str, object] = {"values": values, "suppressed": self.suppressed}
        if self.count is not None:
            body["count"] = self.count
        return body


def protect(true_count: int) -> Cell:
    """Suppress below the threshold, else round half up to the nearest multiple of 5."""
    if true_count < 0:
        raise ValueError("a count cannot be negative")
    if true_count < THRESHOLD:
        return Cell(count=None, suppressed=True)
    return Cell(count=(true_count + ROUNDING // 2) // ROUNDING * ROUNDING, suppressed=False)
