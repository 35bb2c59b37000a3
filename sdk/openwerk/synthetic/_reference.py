"""The ESCO reference the generator draws occupations and skills from.

``reference.json`` ships inside the package (built by ``spec/tools/build_synthetic_reference.py``
from the shared ESCO extract) so the generator works from an installed wheel. It is parsed
once, on first use, into immutable tables; importing this module does no I/O.

This service uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = ["Occupation", "Reference", "Skill", "load_reference"]

#: Themes in the reference, as the shared data names them.
THEMES: tuple[str, ...] = (
    "administration",
    "care_support",
    "cleaning",
    "construction_helpers",
    "horticulture_green",
    "hospitality",
    "logistics_warehouse",
    "other_elementary",
    "production",
    "retail",
    "security",
)


# eq=False: skills and occupations are unique objects in the parsed reference, so identity
# is equality, and comparing by identity keeps "already chosen?" checks cheap.
@dataclass(frozen=True, slots=True, eq=False)
class Skill:
    """An ESCO skill by English preferred label; ``uri`` only where the source had one."""

    label: str
    uri: str | None
    _payload: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once: ref() hands out copies, which is cheaper than building each time.
        payload = {"uri": self.uri, "label": self.label} if self.uri else {"label": self.label}
        object.__setattr__(self, "_payload", payload)

    def ref(self) -> dict[str, str]:
        """A fresh SkillRef payload (uri first, as the schema lists it)."""
        return self._payload.copy()


@dataclass(frozen=True, slots=True, eq=False)
class Occupation:
    """An entry-level ESCO occupation with its ISCO-08 unit group and bounded skill lists."""

    uri: str
    isco08: str
    esco_code: str
    label_nl: str
    label_en: str
    theme: str
    common: bool
    essential: tuple[Skill, ...]
    optional: tuple[Skill, ...]
    _payload: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        payload = {"isco08": self.isco08, "escoUri": self.uri, "label": self.label_nl}
        object.__setattr__(self, "_payload", payload)

    def ref(self) -> dict[str, str]:
        """A fresh OccupationRef payload with the Dutch label."""
        return self._payload.copy()

    @property
    def weight(self) -> int:
        """How often to draw it: common starting jobs far more than rare specialisations.

        ``common`` is a curated flag (see the build script); other occupations directly
        under their ISCO group (ESCO code ``NNNN.N``) come next.
        """
        if self.common:
            return 30
        return 2 if self.esco_code.count(".") == 1 else 1


@dataclass(frozen=True, slots=True)
class Reference:
    """The parsed reference: skills, occupations by theme, transversal and work skills."""

    attribution: str
    licence: str
    esco_version: str
    occupations: tuple[Occupation, ...]
    themes: Mapping[str, tuple[Occupation, ...]]
    transversal: tuple[Skill, ...]
    work_skills: tuple[Skill, ...]


def _parse(document: Mapping[str, Any]) -> Reference:
    skills = tuple(Skill(label, uri or None) for label, uri in document["skills"])
    occupations = tuple(
        Occupation(
            uri=row[0],
            isco08=row[1],
            esco_code=row[2],
            label_nl=row[3],
            label_en=row[4],
            theme=row[5],
            common=bool(row[6]),
            essential=tuple(skills[i] for i in row[7]),
            optional=tuple(skills[i] for i in row[8]),
        )
        for row in document["occupations"]
    )
    themes = {name: tuple(occupations[i] for i in idx) for name, idx in document["themes"].items()}
    if tuple(sorted(themes)) != THEMES:
        raise ValueError(f"reference.json themes {sorted(themes)} differ from {THEMES}")
    return Reference(
        attribution=document["attribution"],
        licence=document["licence"],
        esco_version=document["escoVersion"],
        occupations=occupations,
        themes=MappingProxyType(themes),
        transversal=tuple(skills[i] for i in document["transversalSkills"]),
        work_skills=tuple(skills[i] for i in document["workSkills"]),
    )


@functools.cache
def load_reference() -> Reference:
    """The packaged reference, parsed once."""
    text = (
        resources.files("openwerk.synthetic").joinpath("reference.json").read_text(encoding="utf-8")
    )
    return _parse(json.loads(text))
