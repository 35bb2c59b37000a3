"""A batch announces its records with one executemany: same events as one by one.

``createCandidateBatch`` records its ``candidate.updated`` events in one statement
(``storage.events.record_resource_events``); the feed must still get exactly one event per
record that holds a consent, in the order of the batch, and none for a rolled-back batch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from openwerk.synthetic import Generator
from openwerk_server.storage import BatchItem, EventQuery, Store
from openwerk_server.storage.events import record_resource_events


def _items(store: Store, count: int) -> list[BatchItem]:
    generator = Generator(3, node_id="test-node", arbeidsmarktregio="AM13", today=store.today())
    return [BatchItem.from_document(entry) for entry in generator.candidate_batch_items(count)]


def test_one_event_per_consented_record_in_batch_order(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    store.migrate()
    try:
        items = _items(store, 60)
        items[5] = BatchItem(items[5].candidate, ())  # a record without consent: no event
        results = store.create_candidate_batch(items)
        page = store.list_events(EventQuery(limit=1000))
        expected = [r.candidate_id for r in results if r.consent_ids]
        assert len(expected) < len(results)
        assert [e.resource_id for e in page.items] == expected
        assert {e.type for e in page.items} == {"nl.openwerk.candidate.updated"}
        assert [e.seq for e in page.items] == sorted(e.seq for e in page.items)
        assert len({e.id for e in page.items}) == len(expected)
    finally:
        store.dispose()


def test_tombstones_are_refused_in_bulk(tmp_path: Path) -> None:
    """A tombstone carries its audience, which only ``record_event`` computes."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    store.migrate()
    try:
        with store.engine.begin() as conn, pytest.raises(ValueError, match="audience"):
            record_resource_events(
                conn, resource="candidate", action="tombstone", resource_ids=["x"],
                time=store.now(),
            )  # fmt: skip
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    finally:
        store.dispose()
