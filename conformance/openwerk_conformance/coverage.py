"""Which requirements the suite checks: every MUST should have at least one check.

A requirement counts as covered when a registered check, or the schemathesis phase, cites
it. Requirements the catalogue marks ``testable: false`` cannot be checked over HTTP (their
``verification`` says how they are verified instead); they are reported apart, so the
percentage that matters — testable MUSTs covered — is not diluted by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from openwerk_conformance.registry import SCHEMA_PHASE, Check, CheckFamily, all_checks
from openwerk_spec.requirements import Requirement, load_requirements

__all__ = ["Coverage", "compute_coverage"]


@dataclass(frozen=True)
class Coverage:
    """The coverage of the requirement catalogue by the suite's checks."""

    #: Requirement ID → IDs of the checks (or check families) that cite it.
    cited_by: dict[str, list[str]]
    must: list[Requirement]
    unknown: list[str] = field(default_factory=list)

    @property
    def testable_must(self) -> list[Requirement]:
        """MUSTs that a black-box check can verify."""
        return [r for r in self.must if r.testable]

    @property
    def covered(self) -> list[Requirement]:
        """MUSTs with at least one check."""
        return [r for r in self.must if r.id in self.cited_by]

    @property
    def uncovered_testable(self) -> list[Requirement]:
        """Testable MUSTs without a check: the suite's to-do list."""
        return [r for r in self.testable_must if r.id not in self.cited_by]

    @property
    def untestable(self) -> list[Requirement]:
        """MUSTs verified otherwise than by the suite."""
        return [r for r in self.must if not r.testable]

    def percentage(self, *, testable_only: bool = True) -> float:
        """Share of (testable) MUSTs covered, in percent."""
        pool = self.testable_must if testable_only else self.must
        if not pool:
            return 100.0
        return 100.0 * sum(1 for r in pool if r.id in self.cited_by) / len(pool)


def compute_coverage(
    checks: Sequence[Check] | None = None, families: Sequence[CheckFamily] = (SCHEMA_PHASE,)
) -> Coverage:
    """Coverage of the catalogue by ``checks`` (default: the registry) and check families."""
    catalogue = {r.id: r for r in load_requirements()}
    cited: dict[str, list[str]] = {}
    unknown: set[str] = set()
    sources: list[tuple[str, tuple[str, ...]]] = [
        (c.id, c.requirements) for c in (checks if checks is not None else all_checks())
    ]
    sources += [(f"{f.prefix}*", f.requirements) for f in families]
    for source, requirement_ids in sources:
        for req_id in requirement_ids:
            if req_id not in catalogue:
                unknown.add(req_id)
            cited.setdefault(req_id, []).append(source)
    must = [r for r in catalogue.values() if r.level == "MUST"]
    return Coverage(cited_by=cited, must=must, unknown=sorted(unknown))
