"""The batch write path stores exactly what SQLAlchemy's ``insert()`` stored, all or nothing.

``createCandidateBatch`` sends its rows with values converted up front, one executemany per
table (``storage.bulk``), instead of through ``insert()`` and every column type's bind
processor (issue 8, ``bench/ingest.py``). No reader may notice: the stored values — the JSON
text too, byte for byte on SQLite — equal what ``insert()`` writes for the same records (the
engine gives SQLAlchemy the same JSON serialiser, ``bulk.json_text``; so
every read path, candidate, consents, L2 views, events, reads what it read before), the
documents read back over HTTP are the ones sent, and a batch whose last statement fails leaves
nothing behind. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, insert, select, text

from openwerk.synthetic import Generator
from openwerk_server.errors import Conflict
from openwerk_server.storage import BatchItem, BatchResult, CandidateInput, ConsentInput, Store
from openwerk_server.storage import events as events_module
from openwerk_server.storage import store as store_module
from openwerk_server.storage.bulk import ROWS_PER_STATEMENT, binder, insert_many
from openwerk_server.storage.ids import time_ordered_ids
from openwerk_server.storage.jsoncolumns import json_text, json_value
from openwerk_server.storage.tables import candidates, consents, events
from postgres_probe import POSTGRES_URL, postgres_unavailable

NOW = datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=UTC)
TABLES = (candidates, consents, events)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with a fixed clock: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        node_store = Store.from_url(f"sqlite:///{tmp_path / 'batch.db'}", clock=lambda: NOW)
        node_store.migrate()
        yield node_store
        node_store.dispose()
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    schema = f"ow_batch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    node_store = Store.from_url(
        POSTGRES_URL, clock=lambda: NOW, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        node_store.migrate()
        yield node_store
    finally:
        node_store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _items() -> list[BatchItem]:
    """Synthetic records plus the edge cases: no externalReference, non-ASCII text, a consent
    without ``givenAt`` (now) and without evidence (JSON ``null``), a record without consent."""
    generator = Generator(5, node_id="test-node", arbeidsmarktregio="AM13", today=NOW.date())
    items = [BatchItem.from_document(entry) for entry in generator.candidate_batch_items(40)]
    person = {"givenName": "Zoë", "familyName": "Çelik-Ĳzerman", "birthDate": "1990-04-12"}
    unusual = CandidateInput.from_document(
        {"person": person, "gemeente": "GM0344", "skills": [{"label": "Koffie zetten ☕"}]}
    )
    without_evidence = ConsentInput(
        purposes=("matching",),
        recipients={"scope": "any-member"},
        valid_until=NOW.date().replace(year=NOW.year + 1, month=1),
        collection_method="with-jobcoach",
        notice_version="2026.1",
    )
    with_evidence = ConsentInput.from_document(
        {
            "purposes": ["matching", "statistics"],
            "recipients": {"scope": "organisation-types", "organisationTypes": ["werkgever"]},
            "validUntil": "2027-06-01",
            "collectionMethod": "self-service",
            "noticeVersion": "2026.1",
            "givenAt": "2026-11-30T08:15:00.5Z",
            "evidence": {"kind": "signed-form", "reference": "DOC-ü"},
        }
    )
    no_consent = CandidateInput.from_document(
        {"externalReference": "K-no-consent", "person": person, "gemeente": "GM0307"}
    )
    return [*items, BatchItem(unusual, (without_evidence, with_evidence)), BatchItem(no_consent)]


def _stored(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the batch's tables as text (``NULL`` stays ``None``), in insertion order;
    the row counters themselves are left out (PostgreSQL does not roll sequences back)."""
    found = {}
    for table in TABLES:
        order = next(c.name for c in table.c if c.name in ("seq", "created_seq", "id"))
        columns = [c.name for c in table.c if c.name not in ("seq", "created_seq")]
        casts = ", ".join(f"CAST({name} AS TEXT)" for name in columns)
        query = f"SELECT {casts} FROM {table.name} ORDER BY {order}"  # noqa: S608 - schema names
        rows = conn.execute(text(query)).all()
        found[table.name] = [tuple(row) for row in rows]
    return found


def _write_with_insert(conn: Connection, ids: list[str], items: list[BatchItem]) -> None:
    """The batch as the store wrote it before ``storage.bulk``: ``insert()`` with dicts."""
    fresh = iter(ids)
    candidate_rows, consent_rows, event_rows = [], [], []
    for item in items:
        candidate_id = next(fresh)
        c = item.candidate
        candidate_rows.append(
            {
                "id": candidate_id, "external_reference": c.external_reference,
                "gemeente": c.gemeente, "arbeidsmarktregio": c.arbeidsmarktregio,
                "birth_date": c.birth_date, "person": dict(c.person),
                "profile": dict(c.profile), "created_at": NOW, "updated_at": NOW,
            }
        )  # fmt: skip
        for given in item.consents:
            given_at = given.given_at or NOW
            consent_rows.append(
                {
                    "id": next(fresh), "candidate_id": candidate_id,
                    "purposes": list(given.purposes), "recipients": dict(given.recipients),
                    "given_at": given_at, "valid_until": given.valid_until, "status": "given",
                    "withdrawn_at": None, "last_confirmed_at": given_at,
                    "collection_method": given.collection_method,
                    "notice_version": given.notice_version,
                    "evidence": dict(given.evidence) if given.evidence is not None else None,
                    "history": [],
                }
            )  # fmt: skip
        if item.consents:
            event_rows.append(candidate_id)
    conn.execute(insert(candidates), candidate_rows)
    conn.execute(insert(consents), consent_rows)
    conn.execute(
        insert(events),
        [
            {
                "id": f"event-{n}", "type": "nl.openwerk.candidate.updated",
                "subject": candidate_id, "resource_id": candidate_id, "recipient": None,
                "time": NOW, "data": {},
            }
            for n, candidate_id in enumerate(event_rows)
        ],
    )  # fmt: skip


def _fixed_ids(monkeypatch: pytest.MonkeyPatch, ids: list[str]) -> None:
    """Hand the store ``ids`` in order, and its events ``event-0``, ``event-1``, ..."""
    supply = iter(ids)
    monkeypatch.setattr(
        store_module,
        "time_ordered_ids",
        lambda count, moment: list(itertools.islice(supply, count)),
    )
    monkeypatch.setattr(
        events_module,
        "time_ordered_ids",
        lambda count, moment: [f"event-{n}" for n in range(count)],
    )


def test_stored_rows_equal_those_insert_writes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _items()
    ids = [f"{n:032x}" for n in range(len(items) + sum(len(i.consents) for i in items))]
    with store.engine.connect() as conn:
        with conn.begin() as transaction:
            _write_with_insert(conn, ids, items)
            expected = _stored(conn)
            transaction.rollback()
        assert all(not rows for rows in _stored(conn).values())

    generation = store.pool_generation()
    _fixed_ids(monkeypatch, ids)
    results = store.create_candidate_batch(items)
    with store.engine.connect() as conn:
        assert _stored(conn) == expected
    assert len(expected["consents"]) == sum(len(r.consent_ids) for r in results)
    assert results[-1].consent_ids == ()
    assert store.pool_generation() > generation  # cached L2 views see the new records


@pytest.mark.parametrize(
    "value",
    [
        {"naam": "Zoë Çelik", "uren": 32, "score": 0.75, "lijst": [None, True, "ĳ"]},
        {"pay": {"min": 2**70 + 1, "max": -(2**64) - 3}},  # beyond 64 bits: orjson cannot write it
        {"n": 2**63 - 1, "m": -(2**63), "f": 0.1 + 0.2},  # the edges orjson still writes
        {"x": "\ud800"},  # a lone surrogate, which json.loads accepts in a request body
        {"id": "1234567890123456789012"},  # 19 digits in a string: read by json, same value
    ],
)
def test_stored_json_text_reads_back_as_exactly_the_value(value: Any) -> None:
    text = json_text(value)
    assert json_value(text) == value
    assert json_value(text.encode("utf-8", "surrogatepass")) == value  # psycopg hands bytes
    for key, item in value.items():  # an int stays an int, never a float that equals it
        assert type(json_value(text)[key]) is type(item)


def test_json_text_is_compact_utf8_and_old_json_dumps_text_still_reads() -> None:
    value = {"naam": "Zoë", "uren": [1, 2]}
    assert json_text(value) == '{"naam":"Zoë","uren":[1,2]}'
    assert json_value(json.dumps(value)) == value  # rows written before orjson
    assert json_text({1: "int key"}) == json.dumps({1: "int key"})


def test_the_engine_reads_and_writes_json_columns_with_the_node_codec(store: Store) -> None:
    dialect = store.engine.dialect
    assert dialect._json_serializer is json_text  # type: ignore[attr-defined]
    assert dialect._json_deserializer is json_value  # type: ignore[attr-defined]


def test_documents_read_back_as_sent(store: Store) -> None:
    items = _items()
    results = store.create_candidate_batch(items)
    for item, result in zip(items, results, strict=True):
        stored = store.get_candidate(result.candidate_id)
        assert dict(stored.person) == dict(item.candidate.person)
        if store.dialect == "sqlite":  # JSON text keeps member order; jsonb normalises it
            assert list(stored.person) == list(item.candidate.person)
        assert dict(stored.profile) == dict(item.candidate.profile)
        assert stored.created_at == stored.updated_at == NOW
        for consent_id, given in zip(result.consent_ids, item.consents, strict=True):
            back = store.get_consent(result.candidate_id, consent_id)
            assert back.purposes == given.purposes
            assert dict(back.recipients) == dict(given.recipients)
            assert back.evidence == given.evidence
            assert back.given_at == back.last_confirmed_at == (given.given_at or NOW)
            assert (back.valid_until, back.status, back.history) == (given.valid_until, "given", ())


def test_a_batch_whose_events_fail_stores_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events statement runs last, after candidates and consents went in: one clash
    there (two events with one id) must take the whole batch back (OW-PUB-004)."""
    monkeypatch.setattr(
        events_module, "time_ordered_ids", lambda count, moment: ["same-event-id"] * count
    )
    generation = store.pool_generation()
    with pytest.raises(Conflict):
        store.create_candidate_batch(_items())
    with store.engine.connect() as conn:
        assert _stored(conn) == {table.name: [] for table in TABLES}
    assert store.pool_generation() == generation


def test_time_ordered_ids_are_uuid7_shaped_distinct_and_carry_their_millisecond() -> None:
    moment = datetime(2026, 12, 4, 13, 20, 5, 123456, tzinfo=UTC)
    ids = time_ordered_ids(5000, moment)
    assert len(set(ids)) == 5000
    for value in ids[:500]:
        parsed = uuid.UUID(hex=value)
        assert (parsed.hex, parsed.version, parsed.variant) == (value, 7, uuid.RFC_4122)
        assert int(value[:12], 16) == int(moment.timestamp() * 1000)


def test_a_batch_gets_time_ordered_candidate_consent_and_event_ids(store: Store) -> None:
    """The bulk path's keys grow with time (``bench/ingest.py``: random keys doubled the
    commit at 90,000 candidates): a later batch's ids sort after an earlier one's."""
    first = store.create_candidate_batch(_items())
    with pytest.MonkeyPatch.context() as later:
        later.setattr(store, "_clock", lambda: NOW + timedelta(milliseconds=1))
        second = store.create_candidate_batch(_items())

    def ids(results: list[BatchResult]) -> list[str]:
        return [r.candidate_id for r in results] + [c for r in results for c in r.consent_ids]

    assert all(uuid.UUID(hex=value).version == 7 for value in ids(first) + ids(second))
    assert max(ids(first)) < min(ids(second))
    with store.engine.connect() as conn:
        event_ids = list(conn.execute(select(events.c.id)).scalars())
    assert event_ids
    assert all(uuid.UUID(hex=value).version == 7 for value in event_ids)


def test_inserts_beyond_one_statement_keep_every_row_in_order(store: Store) -> None:
    """``insert_many`` splits rows into statements of ``ROWS_PER_STATEMENT``; across the
    splits (and a short last one) every row arrives once, with its values in place."""
    count = 2 * ROWS_PER_STATEMENT + 17
    stamp = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    with store.engine.connect() as conn, conn.begin():
        bind = binder(conn.dialect, events.c.time)(stamp)
        rows = [
            (f"bulk-{n:05d}", "nl.openwerk.candidate.updated", f"c{n}", f"c{n}", None, bind, "{}")
            for n in range(count)
        ]
        columns = ("id", "type", "subject", "resource_id", "recipient", "time", "data")
        insert_many(conn, events, columns, rows)
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(events.c.id, events.c.subject, events.c.time, events.c.data)
            .where(events.c.id.startswith("bulk-"))
            .order_by(events.c.seq)
        ).all()
    assert [tuple(row) for row in stored] == [
        (f"bulk-{n:05d}", f"c{n}", stamp, {}) for n in range(count)
    ]


def test_time_ordered_ids_sort_by_time_and_fit_the_resource_id_pattern() -> None:
    earlier = time_ordered_ids(1000, datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
    later = time_ordered_ids(1000, datetime(2026, 12, 4, 3, 0, 0, 1000, tzinfo=UTC))
    assert len(set(earlier + later)) == 2000
    assert max(earlier) < min(later)
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in earlier + later)
    assert time_ordered_ids(0, datetime.now(UTC)) == []
