"""The processing log's group commit: grouped, committed before answering, all or nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from openwerk_server.log_writer import LogWriter
from openwerk_server.storage import Store
from openwerk_server.storage.access_log import AccessLogQuery, AccessRecord
from openwerk_server.storage.pool import read_generation
from openwerk_server.storage.queries import CandidateInput


def _records(candidate_id: str, n: int, consumer: str = "consumer-a") -> list[AccessRecord]:
    return [
        AccessRecord(
            candidate_id=candidate_id,
            time=datetime(2026, 12, 3, 9, 0, i, tzinfo=UTC),
            consumer=consumer,
            purpose="matching",
            operation="searchCandidates",
            trace_id="0af7651916cd43dd8448eb211c80319c",
            span_id="b7ad6b7169203331",
        )
        for i in range(n)
    ]


def _generation(store: Store) -> int:
    with store.engine.connect() as conn:
        return read_generation(conn)


def test_concurrent_requests_share_transactions_and_each_is_written(
    store: Store, docs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = store.create_candidate(CandidateInput.from_document(docs.candidate())).id
    current = _generation(store)
    groups: list[int] = []
    real = store.log_access_groups
    gate = threading.Event()

    def counted(batch: Sequence[tuple[Sequence[AccessRecord], int | None]]) -> list[bool]:
        gate.wait(5)  # hold the first transaction so the others queue behind it
        groups.append(len(batch))
        return real(batch)

    monkeypatch.setattr(store, "log_access_groups", counted)
    writer = LogWriter(store)

    async def run() -> list[bool]:
        tasks = [
            asyncio.ensure_future(writer.write(_records(person, 2), generation=current))
            for _ in range(30)
        ]
        tasks.append(asyncio.ensure_future(writer.write(_records(person, 1), generation=-1)))
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*tasks)

    try:
        outcomes = asyncio.run(run())
    finally:
        writer.close()
    assert outcomes == [True] * 30 + [False]  # a changed generation writes nothing
    assert sum(groups) == 31
    assert len(groups) < 31  # grouped: fewer transactions than requests
    logged = store.access_log(AccessLogQuery(candidate_id=person, limit=100)).items
    assert len(logged) == 60


def test_a_failed_transaction_fails_every_request_in_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_batch: Any) -> list[bool]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(store, "log_access_groups", broken)
    writer = LogWriter(store)

    async def run() -> list[Any]:
        writes = [writer.write(_records("x", 1), generation=None) for _ in range(5)]
        return await asyncio.gather(*writes, return_exceptions=True)

    try:
        outcomes = asyncio.run(run())
    finally:
        writer.close()
    assert all(isinstance(o, RuntimeError) for o in outcomes)


def test_groups_are_written_or_refused_on_their_own(store: Store, docs: Any) -> None:
    person = store.create_candidate(CandidateInput.from_document(docs.candidate())).id
    current = _generation(store)
    outcomes = store.log_access_groups(
        [
            (_records(person, 2, "a"), current),
            (_records(person, 3, "b"), current + 1),  # the pool moved on: refused
            (_records(person, 1, "c"), None),  # unchecked (the fallback path)
            ([], current),  # an empty page still checks
        ]
    )
    assert outcomes == [True, False, True, True]
    logged = store.access_log(AccessLogQuery(candidate_id=person, limit=100)).items
    assert sorted(item.consumer for item in logged) == ["a", "a", "c"]
