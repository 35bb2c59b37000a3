"""Query filters of the list operations: typed in Python, camelCase on the wire.

Each operation's filters are a ``TypedDict`` that the client methods take as
``**filters: Unpack[...]``, so a type checker knows every filter and its type (no untyped
``**kwargs`` contract) while call sites stay short: ``client.vacancies(hours_min=16)``.
At run time the names are mapped to the spec's (``hours_min`` → ``hoursMin``); the camelCase
name is accepted too, and an unknown filter is a ``TypeError`` as for any bad keyword.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypedDict

from pydantic.alias_generators import to_camel

__all__ = [
    "CandidateFilters",
    "InstrumentFilters",
    "OpportunityFilters",
    "query_params",
]


class OpportunityFilters(TypedDict, total=False):
    """Filters of ``listVacancies`` and ``listTaskOffers`` (all combine with AND)."""

    occupation: str
    skill: str
    gemeente: str
    arbeidsmarktregio: str
    kind: str
    hours_min: int
    hours_max: int
    instrument: str
    updated_since: datetime | str
    status: Literal["open", "closed"]
    limit: int


class InstrumentFilters(TypedDict, total=False):
    """Filters of ``listInstruments``."""

    type: str
    gemeente: str
    status: Literal["active", "closed"]
    updated_since: datetime | str
    limit: int


class CandidateFilters(TypedDict, total=False):
    """Filters of ``searchCandidates``; they see only what the card shows."""

    occupation: str
    skill: str
    gemeente: str
    arbeidsmarktregio: str
    hours_min: int
    hours_max: int
    available_by: date | str
    wanted_kind: str
    language: str
    language_level: str
    support_offered: Sequence[str] | str
    limit: int


def _format(value: Any) -> str:
    """One query value as the spec writes it (``style: form, explode: false`` for lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence | set | frozenset):
        return ",".join(_format(v) for v in value)
    return str(value)


def query_params(
    filters: Mapping[str, Any], allowed: type[Any], *, operation: str
) -> dict[str, str]:
    """The query parameters for ``filters``, checked against the ``allowed`` TypedDict.

    ``None`` values are left out, so callers can pass optional values through unconditionally.
    """
    known = {name: to_camel(name) for name in allowed.__annotations__}
    wire_names = set(known.values())
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name in known:
            wire = known[name]
        elif name in wire_names:
            wire = name
        else:
            raise TypeError(
                f"{operation}() got an unexpected filter {name!r}; "
                f"known filters: {', '.join(sorted(known))}"
            )
        params[wire] = _format(value)
    return params
