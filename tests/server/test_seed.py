"""Seeding a node's store with synthetic data: counts, batches, determinism, sanity checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from openwerk.synthetic import Generator
from openwerk_server.seed import (
    SeedPlan,
    SeedValidationError,
    seed_store,
    split_opportunities,
)
from openwerk_server.storage import (
    CandidateQuery,
    InstrumentQuery,
    OpportunityQuery,
    Store,
)

TODAY = date(2026, 11, 1)


def _plan(**overrides: Any) -> SeedPlan:
    values: dict[str, Any] = {
        "node_id": "gemeente-utrecht",
        "candidates": 75,
        "opportunities": 10,
        "seed": 11,
        "arbeidsmarktregio": "AM13",
        "today": TODAY,
        "batch_size": 20,
    }
    values.update(overrides)
    return SeedPlan(**values)


def _all_candidates(store: Store) -> list[Any]:
    return list(store.list_candidates(CandidateQuery(limit=1000)).items)


def test_split_is_about_seventy_thirty() -> None:
    assert split_opportunities(0) == (0, 0)
    assert split_opportunities(10) == (7, 3)
    assert split_opportunities(2000) == (1400, 600)
    assert sum(split_opportunities(7)) == 7


def test_plan_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        _plan(candidates=-1)
    with pytest.raises(ValueError, match="batch_size"):
        _plan(batch_size=1001)


def test_seed_writes_what_the_generator_makes(store: Store) -> None:
    progress: list[tuple[str, int]] = []
    report = seed_store(store, _plan(), progress=lambda what, n: progress.append((what, n)))

    assert (report.candidates, report.vacancies, report.task_offers) == (75, 7, 3)
    assert report.opportunities == 10
    assert progress[:4] == [("candidates", 20), ("candidates", 40), ("candidates", 60),
                            ("candidates", 75)]  # fmt: skip

    generator = Generator(11, node_id="gemeente-utrecht", arbeidsmarktregio="AM13", today=TODAY)
    expected_consents = sum(
        len(generator.consents_for(c, i)) for i, c in enumerate(generator.candidates(75))
    )
    assert report.consents == expected_consents
    stored = _all_candidates(store)
    assert sorted(c.external_reference for c in stored) == sorted(
        c["externalReference"] for c in generator.candidates(75)
    )
    assert {c.arbeidsmarktregio for c in stored} == {"AM13"}

    vacancies = store.list_opportunities(OpportunityQuery(resource="vacancy", limit=100)).items
    task_offers = store.list_opportunities(OpportunityQuery(resource="task-offer", limit=100)).items
    assert (len(vacancies), len(task_offers)) == (7, 3)
    assert {v.publisher for v in (*vacancies, *task_offers)} == {"gemeente-utrecht"}
    instruments = store.list_instruments(InstrumentQuery(limit=100)).items
    assert len(instruments) == report.instruments > 0
    assert report.as_dict()["opportunities"] == 10


def test_same_plan_same_content(store: Store, tmp_path: Path, migrated_database: Path) -> None:
    from shutil import copyfile

    copyfile(migrated_database, tmp_path / "other.db")
    other = Store.from_url(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        seed_store(store, _plan())
        seed_store(other, _plan())

        def content(s: Store) -> list[str]:
            return sorted(
                json.dumps([c.person, c.profile], sort_keys=True) for c in _all_candidates(s)
            )

        assert content(store) == content(other)
        first_ids = {c.id for c in _all_candidates(store)}
        assert first_ids.isdisjoint({c.id for c in _all_candidates(other)})  # ids are the store's
    finally:
        other.dispose()


def test_gemeenten_limit_where_people_live(store: Store) -> None:
    seed_store(store, _plan(arbeidsmarktregio=None, gemeenten=("GM0344",), opportunities=0))
    assert {c.gemeente for c in _all_candidates(store)} == {"GM0344"}


def test_a_generator_drifting_from_the_spec_fails_loudly(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Generator, n: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        yield {"candidate": {"gemeente": "GM0344"}, "consents": []}

    monkeypatch.setattr(Generator, "candidate_batch_items", broken)
    with pytest.raises(SeedValidationError, match="CandidateRecordInput"):
        seed_store(store, _plan())
    assert _all_candidates(store) == []
