"""The Open Werk code lists: loading, lookup and the few derived questions everyone asks.

Codes are normative and shared by every node, so they live once, as JSON documents in
``spec/v1/codelists/`` (validated by ``spec/v1/codelist.schema.json``), and the server, SDK and
conformance suite all read them through this module instead of copying enums. Files are read
on first use and cached; importing this module does no I/O.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from openwerk_spec.paths import spec_v1_dir

__all__ = [
    "CODE_LIST_NAMES",
    "CodeList",
    "CodeListItem",
    "UnknownCodeList",
    "age_band_for",
    "as_json",
    "broader_age_band",
    "codes",
    "gemeente_region",
    "hours_band_for",
    "load_code_list",
]

# Spelled out rather than globbed so the set of lists is part of the API (and import needs no
# disk); a test checks it equals the files present.
CODE_LIST_NAMES: tuple[str, ...] = (
    "age-bands",
    "arbeidsmarktregios",
    "cefr-levels",
    "consent-collection-methods",
    "consent-purposes",
    "consent-recipient-scopes",
    "contact-channels",
    "contract-types",
    "education-levels",
    "eligibility-types",
    "esco-occupations",
    "event-types",
    "evidence-kinds",
    "gemeenten",
    "hours-bands",
    "instrument-types",
    "introduction-statuses",
    "isco08",
    "member-roles",
    "opportunity-kinds",
    "organisation-types",
    "pay-units",
    "placement-outcomes",
    "requester-roles",
    "support-needs",
    "task-requesters",
    "travel-bands",
    "travel-modes",
    "workplace-features",
)

_RESERVED_ITEM_KEYS = frozenset({"code", "label", "description"})


# The name is part of the public API (named like KeyError, not "...Error"), hence the noqa.
class UnknownCodeList(LookupError):  # noqa: N818
    """Raised for a code list name that the standard does not define (served as 404)."""


@dataclass(frozen=True)
class CodeListItem:
    """One code with its labels; list-specific fields (e.g. ``arbeidsmarktregio``) in ``extra``."""

    code: str
    label: Mapping[str, str] = field(hash=False)
    extra: Mapping[str, object] = field(default_factory=dict, hash=False)
    description: Mapping[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class CodeList:
    """A parsed code list. Items keep the file order, which is the intended display order."""

    name: str
    version: str
    title: Mapping[str, str] = field(hash=False)
    items: tuple[CodeListItem, ...]

    @functools.cached_property
    def _by_code(self) -> Mapping[str, CodeListItem]:
        return MappingProxyType({item.code: item for item in self.items})

    def item(self, code: str) -> CodeListItem:
        """The item for ``code``; ``KeyError`` when the code is not in this list."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"{code!r} is not a code in code list {self.name!r}") from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


@functools.cache
def _document(name: str) -> Mapping[str, Any]:
    if name not in CODE_LIST_NAMES:
        raise UnknownCodeList(f"no code list named {name!r}")
    path = spec_v1_dir() / "codelists" / f"{name}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def as_json(name: str) -> dict[str, Any]:
    """The document exactly as stored, for serving at ``/code-lists/{name}``.

    A deep copy, so a caller that adds links or filters items cannot change the cache.
    """
    return copy.deepcopy(dict(_document(name)))


def _item(raw: Mapping[str, Any]) -> CodeListItem:
    description = raw.get("description")
    return CodeListItem(
        code=raw["code"],
        label=MappingProxyType(dict(raw["label"])),
        extra=MappingProxyType({k: v for k, v in raw.items() if k not in _RESERVED_ITEM_KEYS}),
        description=MappingProxyType(dict(description)) if description is not None else None,
    )


@functools.cache
def load_code_list(name: str) -> CodeList:
    """Parse code list ``name``; raises ``UnknownCodeList`` for names not in the standard."""
    document = _document(name)
    items = tuple(_item(raw) for raw in document["items"])
    return CodeList(
        name=document["name"],
        version=document["version"],
        title=MappingProxyType(dict(document["title"])),
        items=items,
    )


@functools.cache
def codes(name: str) -> frozenset[str]:
    """The valid codes of a list, for validating input values."""
    return frozenset(item.code for item in load_code_list(name).items)


def _int(item: CodeListItem, key: str) -> int | None:
    value = item.extra.get(key)
    return value if isinstance(value, int) else None


def gemeente_region(gemeente_code: str) -> str:
    """The arbeidsmarktregio (AMxx) of a gemeente (GMxxxx).

    Every location carries both codes, and generalising a candidate's location for
    k-anonymity replaces the gemeente by its region, so this lookup is on the hot path.
    """
    return str(load_code_list("gemeenten").item(gemeente_code).extra["arbeidsmarktregio"])


def broader_age_band(band: str) -> str:
    """The 10-year band containing a 5-year band: the k-anonymity generalisation step."""
    broader = load_code_list("age-bands").item(band).extra.get("broader")
    if not isinstance(broader, str):
        raise ValueError(f"age band {band!r} is a 10-year band and has no broader band")
    return broader


def age_band_for(age: int, width: int = 5) -> str:
    """The age band of ``width`` years (5 or 10) that contains ``age``."""
    if width not in (5, 10):
        raise ValueError(f"age bands are 5 or 10 years wide, not {width}")
    for item in load_code_list("age-bands").items:
        low, high = _int(item, "min"), _int(item, "max")
        if _int(item, "width") != width or low is None or high is None:
            continue
        if low <= age <= high:
            return item.code
    raise ValueError(f"age {age} is outside the {width}-year age bands")


def hours_band_for(hours: int) -> str:
    """The statistics hours band (hours per week, bounds inclusive) that contains ``hours``."""
    for item in load_code_list("hours-bands").items:
        low, high = _int(item, "min"), _int(item, "max")
        if low is not None and high is not None and low <= hours <= high:
            return item.code
    raise ValueError(f"{hours} hours a week is outside the hours bands")
