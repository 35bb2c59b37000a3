"""The requirement catalogue of Open Werk v1 (``spec/v1/requirements.yaml``).

Every MUST, SHOULD and MAY of the standard is one :class:`Requirement` with a stable ID such as
``OW-KANON-002``. The conformance suite cites these IDs in its results, the reference server
cites them in comments where the spec forces a choice, and the docs cite them where a rule is
stated. The catalogue is read on first use, never at import.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

import yaml

from openwerk_spec.classes import ConformanceClass
from openwerk_spec.paths import spec_v1_dir

__all__ = [
    "LEVELS",
    "REQUIREMENT_ID_PATTERN",
    "Level",
    "Requirement",
    "load_requirements",
    "requirement",
    "requirements_path",
]

# re.ASCII: \d must mean 0-9 only, as in the JSON Schema of the catalogue.
REQUIREMENT_ID_PATTERN: Final[re.Pattern[str]] = re.compile(r"^OW-[A-Z]+-\d{3}$", re.ASCII)

Level = Literal["MUST", "SHOULD", "MAY"]
LEVELS: Final[tuple[Level, ...]] = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    """One rule of the standard."""

    id: str
    level: Level
    conformance_class: ConformanceClass
    statement: str
    rationale: str | None = None
    operations: tuple[str, ...] = ()
    testable: bool = True
    verification: str | None = None

    @property
    def area(self) -> str:
        """The area code, e.g. ``KANON`` for ``OW-KANON-002``."""
        return self.id.split("-")[1]

    @property
    def number(self) -> int:
        """The number within the area, e.g. ``2`` for ``OW-KANON-002``."""
        return int(self.id.rsplit("-", 1)[1])


def requirements_path() -> Path:
    """Where the catalogue lives on disk."""
    return spec_v1_dir() / "requirements.yaml"


@functools.cache
def load_requirements() -> tuple[Requirement, ...]:
    """All requirements, in catalogue order (grouped by area, ascending within an area).

    Raises ``ValueError`` when an entry is malformed or an ID repeats; the full check against
    ``requirements.schema.json`` lives in the tests.
    """
    with requirements_path().open(encoding="utf-8") as fh:
        document: Any = yaml.safe_load(fh)
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), list):
        raise ValueError(f"{requirements_path()}: expected a mapping with a 'requirements' list")
    entries = cast("list[Any]", document["requirements"])
    loaded = tuple(_parse(entry) for entry in entries)
    seen: set[str] = set()
    for req in loaded:
        if req.id in seen:
            raise ValueError(f"duplicate requirement id {req.id}")
        seen.add(req.id)
    return loaded


def requirement(requirement_id: str) -> Requirement:
    """The requirement with this ID; ``KeyError`` when the catalogue has none."""
    try:
        return _index()[requirement_id]
    except KeyError:
        raise KeyError(f"no requirement {requirement_id!r} in the catalogue") from None


@functools.cache
def _index() -> Mapping[str, Requirement]:
    return {req.id: req for req in load_requirements()}


def _parse(entry: Any) -> Requirement:
    if not isinstance(entry, dict):
        raise ValueError(f"requirement entry is not a mapping: {entry!r}")
    data = cast("dict[str, Any]", entry)
    req_id = _text(data, "id", "?")
    if not REQUIREMENT_ID_PATTERN.fullmatch(req_id):
        raise ValueError(f"malformed requirement id {req_id!r}")
    level = data.get("level")
    if level not in LEVELS:
        raise ValueError(f"{req_id}: level must be one of {LEVELS}, not {level!r}")
    class_name = data.get("class")
    try:
        conformance_class = ConformanceClass(str(class_name))
    except ValueError as exc:
        raise ValueError(f"{req_id}: unknown conformance class {class_name!r}") from exc
    operations = data.get("operations", [])
    if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
        raise ValueError(f"{req_id}: operations must be a list of operationIds")
    testable = data.get("testable")
    if not isinstance(testable, bool):
        raise ValueError(f"{req_id}: testable must be true or false")
    return Requirement(
        id=req_id,
        level=cast("Level", level),
        conformance_class=conformance_class,
        statement=_text(data, "statement", req_id),
        rationale=_optional_text(data, "rationale", req_id),
        operations=tuple(cast("list[str]", operations)),
        testable=testable,
        verification=_optional_text(data, "verification", req_id),
    )


def _text(data: Mapping[str, Any], key: str, req_id: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{req_id}: {key} must be a non-empty string")
    return " ".join(value.split())


def _optional_text(data: Mapping[str, Any], key: str, req_id: str) -> str | None:
    if data.get(key) is None:
        return None
    return _text(data, key, req_id)
