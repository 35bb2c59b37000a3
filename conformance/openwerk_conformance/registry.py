"""The catalogue of checks: stable IDs, the requirements each verifies, level and class.

Each class module (``checks/core.py``, ...) holds one :class:`CheckSet` named ``CHECKS`` and
declares its checks with the ``@CHECKS.check(...)`` decorator. Registration happens into that
module's own set, never into a global, so tests can build sets of their own.
:func:`all_checks` gathers the modules listed in :data:`CHECK_MODULES`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from openwerk_conformance.results import Level
from openwerk_spec.classes import ConformanceClass

if TYPE_CHECKING:
    from openwerk_conformance.context import RunContext

__all__ = [
    "CHECK_ID_PATTERN",
    "CHECK_MODULES",
    "FIXTURES",
    "SCHEMA_PHASE",
    "Check",
    "CheckFamily",
    "CheckFunction",
    "CheckSet",
    "Outcome",
    "all_checks",
]

#: Stable check IDs: an area and a number, e.g. ``CORE-001``. Never reused once published.
CHECK_ID_PATTERN: Final = re.compile(r"^[A-Z]+-[0-9]{3}$")

#: The class modules, one per conformance class or cross-cutting concern of the core class.
CHECK_MODULES: Final[tuple[str, ...]] = (
    "openwerk_conformance.checks.core",
    "openwerk_conformance.checks.errors",
    "openwerk_conformance.checks.auth",
    "openwerk_conformance.checks.pagination",
    "openwerk_conformance.checks.opportunities",
    "openwerk_conformance.checks.publication",
    "openwerk_conformance.checks.candidates",
    "openwerk_conformance.checks.statistics",
    "openwerk_conformance.checks.matching",
    "openwerk_conformance.checks.introductions",
    "openwerk_conformance.checks.events",
    "openwerk_conformance.checks.federation",
)

#: The ``needs`` entry of a check that works on the loaded fixture dataset.
FIXTURES: Final = "fixtures"
_ROLES: Final = frozenset({"publisher", "consumer-a", "consumer-b", "gateway"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check function returns: the problems it found, or why it could not apply."""

    problems: tuple[str, ...] = ()
    skip_reason: str | None = None
    note: str = ""

    @classmethod
    def ok(cls, note: str = "") -> Outcome:
        """Nothing wrong."""
        return cls(note=note)

    @classmethod
    def fail(cls, *problems: str) -> Outcome:
        """One or more problems."""
        return cls(problems=tuple(problems))

    @classmethod
    def skip(cls, reason: str) -> Outcome:
        """The check does not apply to this node or run."""
        return cls(skip_reason=reason)

    @classmethod
    def of(cls, problems: Iterable[str], note: str = "") -> Outcome:
        """Pass when ``problems`` is empty, else fail with them."""
        return cls(problems=tuple(problems), note=note)


CheckFunction = Callable[["RunContext"], Outcome]


@dataclass(frozen=True, slots=True)
class Check:
    """One registered check."""

    id: str
    title: str
    requirements: tuple[str, ...]
    conformance_class: ConformanceClass
    level: Level
    func: CheckFunction
    #: Client roles (``publisher``, ``consumer-a``, ``consumer-b``) and/or ``fixtures``.
    needs: tuple[str, ...] = ()
    #: Other classes the node must declare for the check to apply (e.g. a page to walk).
    needs_classes: tuple[ConformanceClass, ...] = ()
    #: Run after all other checks (sweeps over the whole run's traffic).
    late: bool = False


@dataclass(frozen=True, slots=True)
class CheckFamily:
    """Checks made at run time (one per operation), registered for coverage by their prefix."""

    prefix: str
    title: str
    requirements: tuple[str, ...]
    level: Level


#: The schemathesis phase makes one ``SCHEMA-<operationId>`` result per operation it exercises.
SCHEMA_PHASE: Final = CheckFamily(
    prefix="SCHEMA-",
    title="Generated requests (schemathesis): no 5xx, responses conform to the published schemas",
    requirements=("OW-CORE-006", "OW-ERR-006"),
    level="MUST",
)


class CheckSet:
    """The checks of one module, in declaration order (which is the order they run in)."""

    def __init__(self, conformance_class: ConformanceClass) -> None:
        self.conformance_class = conformance_class
        self._checks: list[Check] = []

    def check(
        self,
        *,
        id: str,
        title: str,
        requirements: Sequence[str],
        level: Level = "MUST",
        needs: Sequence[str] = (),
        needs_classes: Sequence[ConformanceClass] = (),
        cls: ConformanceClass | None = None,
        late: bool = False,
    ) -> Callable[[CheckFunction], CheckFunction]:
        """Register the decorated function as a check."""
        if not CHECK_ID_PATTERN.fullmatch(id):
            raise ValueError(f"check id {id!r} does not match {CHECK_ID_PATTERN.pattern}")
        if not requirements:
            raise ValueError(f"check {id} verifies no requirement")
        unknown = [n for n in needs if n not in _ROLES and n != FIXTURES]
        if unknown:
            raise ValueError(f"check {id}: unknown needs {unknown}")
        if any(c.id == id for c in self._checks):
            raise ValueError(f"duplicate check id {id}")

        def register(func: CheckFunction) -> CheckFunction:
            self._checks.append(
                Check(
                    id=id,
                    title=title,
                    requirements=tuple(requirements),
                    conformance_class=cls or self.conformance_class,
                    level=level,
                    func=func,
                    needs=tuple(needs),
                    needs_classes=tuple(needs_classes),
                    late=late,
                )
            )
            return func

        return register

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)


def all_checks(modules: Sequence[str] = CHECK_MODULES) -> tuple[Check, ...]:
    """Every check of the given modules, in module then declaration order; IDs must be unique."""
    found: list[Check] = []
    seen: set[str] = set()
    for name in modules:
        module = importlib.import_module(name)
        check_set = getattr(module, "CHECKS", None)
        if not isinstance(check_set, CheckSet):
            raise TypeError(f"{name} has no CheckSet named CHECKS")
        for check in check_set:
            if check.id in seen:
                raise ValueError(f"duplicate check id {check.id} (in {name})")
            seen.add(check.id)
            found.append(check)
    return tuple(found)
