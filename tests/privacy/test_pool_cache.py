"""The per-consumer view cache: rebuilt on a new pool generation or a new Dutch day.

Also pins the clock the node gives the cache: Europe/Amsterdam. A consent is valid through
its ``validUntil`` day in the Netherlands (spec/docs/consent.md); with a UTC clock it would
stay in force for the first one or two hours of the next Dutch day.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from openwerk_server.privacy.consent import ConsentRecord, Consumer
from openwerk_server.privacy.pool import PoolCache
from openwerk_server.privacy.views import PoolCandidate, build_view

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SECRET = b"test-secret-test-secret-test-sec"
A = Consumer("consumer-a", "platform")
PROFILE: dict[str, Any] = {
    "educationLevel": "nlqf-2",
    "desiredOccupations": [{"isco08": "9112"}],
    "skills": [],
    "languages": [],
    "hoursPerWeek": {"min": 16, "max": 24},
    "availableFrom": "2026-01",
    "wantedKinds": ["regular"],
}


def _candidates(n: int, valid_until: date) -> list[PoolCandidate]:
    consent = ConsentRecord(
        purposes=frozenset({"matching"}),
        recipients={"scope": "any-member"},
        status="given",
        given_at=datetime(2026, 1, 5, tzinfo=UTC),
        valid_until=valid_until,
        last_confirmed_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return [
        PoolCandidate(f"c-{i}", "GM0344", "AM13", date(1990, 4, 12), PROFILE, (consent,))
        for i in range(n)
    ]


@dataclass
class Source:
    pool: list[PoolCandidate]
    generation: int = 1
    loads: int = 0
    reads: list[int] = field(default_factory=list)

    def pool_generation(self) -> int:
        self.reads.append(self.generation)
        return self.generation

    def load_pool(self) -> Sequence[PoolCandidate]:
        self.loads += 1
        return list(self.pool)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def test_views_are_cached_per_generation_and_day() -> None:
    source = Source(_candidates(6, date(2026, 12, 31)))
    clock = Clock(datetime(2026, 3, 1, 12, tzinfo=AMSTERDAM))
    cache = PoolCache(source, node_id="n", secret=SECRET, k=5, clock=clock)
    first = cache.view(A)
    assert len(first.view.cards) == 6
    assert cache.view(A) is first
    assert source.loads == 1
    assert len(cache.candidates()) == 6  # the same loaded pool
    assert source.loads == 1

    source.pool = source.pool[:5]
    source.generation += 1  # a write: the next read rebuilds
    second = cache.view(A)
    assert second is not first
    assert len(second.view.cards) == 5
    assert source.loads == 2

    clock.now += timedelta(days=1)  # a new day: ages and expiry may have changed
    assert cache.view(A) is not second
    assert source.loads == 2  # the pool itself is still the same generation
    assert cache.k == 5
    assert cache.now() == clock.now


def test_a_consent_expires_at_midnight_in_the_netherlands() -> None:
    pool = _candidates(5, date(2026, 3, 9))
    # 00:30 on 10 March in Amsterdam is still 9 March in UTC.
    after_midnight = datetime(2026, 3, 10, 0, 30, tzinfo=AMSTERDAM)
    assert after_midnight.astimezone(UTC).date() == date(2026, 3, 9)
    local = build_view(pool, A, node_id="n", secret=SECRET, k=5, now=after_midnight)
    assert local.cards == []
    before_midnight = datetime(2026, 3, 9, 23, 59, tzinfo=AMSTERDAM)
    assert len(build_view(pool, A, node_id="n", secret=SECRET, k=5, now=before_midnight).cards)


def test_a_view_is_built_with_the_collector_paused_and_it_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading the pool, building the view and its columns allocate hundreds of thousands of
    containers at 100,000 candidates; the collector's passes over them freed nothing and
    cost a third of the build (``openwerk_server.collector``)."""
    from openwerk_server.matching import engine
    from openwerk_server.privacy import pool as pool_module

    seen: dict[str, bool] = {}
    source = Source(_candidates(6, date(2026, 12, 31)))
    load = source.load_pool

    def watched_load() -> Sequence[PoolCandidate]:
        seen["load"] = gc.isenabled()
        return load()

    def watched_build(*args: Any, **kwargs: Any) -> Any:
        seen["build"] = gc.isenabled()
        return build_view(*args, **kwargs)

    columns = engine.CardColumns

    def watched_columns(cards: Any) -> Any:
        seen["columns"] = gc.isenabled()
        return columns(cards)

    monkeypatch.setattr(source, "load_pool", watched_load)
    monkeypatch.setattr(pool_module, "build_view", watched_build)
    monkeypatch.setattr(pool_module, "CardColumns", watched_columns)
    gc.enable()
    cache = PoolCache(source, node_id="n", secret=SECRET, k=5, clock=Clock(datetime.now(UTC)))
    assert cache.view(A).columns is not None
    assert seen == {"load": False, "build": False, "columns": False}
    assert gc.isenabled()
    gc.disable()  # switched off by someone else: left off
    source.generation += 1
    cache.view(A)
    assert not gc.isenabled()
    gc.enable()
