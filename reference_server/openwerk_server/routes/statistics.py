"""Statistics class (L1): counts of candidates and placements, suppressed and rounded.

Candidates are counted when a ``statistics`` consent in force admits the caller (OW-STAT-001),
whether or not they have a card: statistics are not cards and pass no k-anonymity gate —
suppression below 10 and rounding to 5 protect them instead, for every cell and the total
(OW-STAT-003, OW-STAT-004, ``privacy.disclosure.protect``). Multi-valued dimensions count a
candidate once per value; a candidate without a value for a dimension (no desired
occupation, an age outside the bands) is in the total but in no cell of that dimension.
Nothing is logged per candidate: no candidate is disclosed (spec/docs/disclosure-tiers.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from itertools import product
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.privacy.consent import Consumer, coverage
from openwerk_server.privacy.disclosure import ROUNDING, THRESHOLD, protect
from openwerk_server.privacy.views import PoolCandidate, age_in_years
from openwerk_server.routes.deps import (
    NEGOTIATION,
    RequestParams,
    SettingsDep,
    StatisticsReader,
    StoreDep,
    get_pool,
    request_params,
)
from openwerk_server.routes.responses import json_response
from openwerk_spec.codelists import age_band_for, hours_band_for

__all__ = ["candidate_dimensions", "router", "tabulate"]

router = APIRouter(dependencies=NEGOTIATION)

CandidateStatisticsParams = Annotated[
    RequestParams, Depends(request_params("getCandidateStatistics"))
]
PlacementStatisticsParams = Annotated[
    RequestParams, Depends(request_params("getPlacementStatistics"))
]

#: A fact's values per dimension: none, one, or several (multi-valued attributes).
Fact = Mapping[str, tuple[str, ...]]


def _one(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) and value else ()


def _age_band(birth_date: date, today: date) -> tuple[str, ...]:
    try:
        return (age_band_for(age_in_years(birth_date, today), 10),)
    except ValueError:
        return ()


def _hours_band(profile: Mapping[str, Any]) -> tuple[str, ...]:
    hours = profile.get("hoursPerWeek")
    if not isinstance(hours, Mapping) or not isinstance(hours.get("max"), int):
        return ()
    try:
        return (hours_band_for(hours["max"]),)
    except ValueError:
        return ()


def _occupation_group(profile: Mapping[str, Any]) -> tuple[str, ...]:
    occupations = profile.get("desiredOccupations") or []
    if not occupations:
        return ()
    return _one(str(occupations[0].get("isco08", ""))[:2])


def candidate_dimensions(candidate: PoolCandidate, today: date) -> dict[str, tuple[str, ...]]:
    """The values of every candidate dimension (getCandidateStatistics' ``groupBy`` enum)."""
    profile = candidate.profile
    return {
        "arbeidsmarktregio": _one(candidate.arbeidsmarktregio),
        "gemeente": _one(candidate.gemeente),
        "occupationGroup": _occupation_group(profile),
        "ageBand": _age_band(candidate.birth_date, today),
        "educationLevel": _one(profile.get("educationLevel") or "unknown"),
        "hoursBand": _hours_band(profile),
        "wantedKind": tuple(dict.fromkeys(str(k) for k in profile.get("wantedKinds") or ())),
    }


def tabulate(population: str, facts: Sequence[Fact], dimensions: Sequence[str]) -> dict[str, Any]:
    """The ``Statistics`` document: the protected total and one protected cell per
    combination of values that occurs, sorted by values in dimension order."""
    counts: Counter[tuple[str, ...]] = Counter()
    if dimensions:
        for fact in facts:
            # set(): a candidate counts once per cell even if a value repeats.
            counts.update(set(product(*(fact[d] for d in dimensions))))
    return {
        "population": population,
        "dimensions": list(dimensions),
        "threshold": THRESHOLD,
        "rounding": ROUNDING,
        "total": protect(len(facts)).as_json({}),
        "cells": [
            protect(n).as_json(dict(zip(dimensions, values, strict=True)))
            for values, n in sorted(counts.items())
        ],
    }


def _group_by(params: RequestParams) -> list[str]:
    value = params.values.get("groupBy")
    return [str(v) for v in value] if isinstance(value, list) else []


def counted_candidates(
    pool: Iterable[PoolCandidate],
    consumer: Consumer,
    now: Any,
    keep: Callable[[PoolCandidate], bool] = lambda _candidate: True,
) -> list[PoolCandidate]:
    """Candidates a ``statistics`` consent in force admits ``consumer`` to count."""
    return [
        candidate
        for candidate in pool
        if keep(candidate) and "statistics" in coverage(candidate.consents, consumer, now).purposes
    ]


@router.get("/statistics/candidates", operation_id="getCandidateStatistics")
def get_candidate_statistics(
    request: Request, consumer: StatisticsReader, params: CandidateStatisticsParams
) -> Response:
    """Counts of consenting candidates by up to three whitelisted dimensions."""
    region, gemeente = params.text("arbeidsmarktregio"), params.text("gemeente")
    cache = get_pool(request)
    now = cache.now()
    population = counted_candidates(
        cache.candidates(),
        consumer,
        now,
        lambda c: (
            (region is None or c.arbeidsmarktregio == region)
            and (gemeente is None or c.gemeente == gemeente)
        ),
    )
    today = now.date()
    facts = [candidate_dimensions(candidate, today) for candidate in population]
    return json_response(tabulate("candidates", facts, _group_by(params)))


def _placement_fact(fact: Any) -> dict[str, tuple[str, ...]]:
    return {
        "arbeidsmarktregio": _one(fact.arbeidsmarktregio),
        "opportunityKind": _one(fact.opportunity_kind),
        "instrument": tuple(dict.fromkeys(fact.instruments)),
        "outcome": _one(fact.outcome),
        "checkpoint": _one(fact.checkpoint),
        "contractType": _one(fact.contract_type),
    }


@router.get("/statistics/placements", operation_id="getPlacementStatistics")
def get_placement_statistics(
    consumer: StatisticsReader,
    params: PlacementStatisticsParams,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """Counts of placement outcomes after accepted introductions (OW-STAT-005)."""
    facts = store.placement_facts(
        consumer, node_id=settings.node_id, arbeidsmarktregio=params.text("arbeidsmarktregio")
    )
    rows = [_placement_fact(fact) for fact in facts]
    return json_response(tabulate("placements", rows, _group_by(params)))
