"""One storage contract for every backend: SQLite files and PostgreSQL (psycopg 3).

Each test gets a clean database: a fresh SQLite file, or a PostgreSQL schema of its own
(dropped afterwards) at ``OPENWERK_TEST_POSTGRES_URL``. PostgreSQL cases are marked
``postgres`` and skip with the reason when the server cannot be reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text

from openwerk_server.errors import Conflict, IllegalTransition, NotFound, StorageUnavailable
from openwerk_server.storage import (
    BatchItem,
    CandidateInput,
    CandidateQuery,
    ConsentInput,
    ConsentQuery,
    EventQuery,
    InstrumentInput,
    InstrumentQuery,
    OpportunityInput,
    OpportunityQuery,
    Store,
)
from openwerk_server.storage import (
    store as store_module,
)
from openwerk_server.storage.access_log import AccessLogQuery, AccessRecord
from openwerk_server.storage.tables import (
    access_log,
    candidates,
    consents,
    events,
    metadata,
    opportunities,
)
from postgres_probe import POSTGRES_URL, postgres_unavailable

PUBLISHER = "test-node"


class Clock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Clock]]:
    clock = Clock()
    if request.param == "sqlite":
        node_store = Store.from_url(f"sqlite:///{tmp_path / 'contract.db'}", clock=clock)
        node_store.migrate()
        yield node_store, clock
        node_store.dispose()
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    schema = f"ow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    node_store = Store.from_url(
        POSTGRES_URL, clock=clock, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        node_store.migrate()
        yield node_store, clock
    finally:
        node_store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(backend: tuple[Store, Clock]) -> Store:
    return backend[0]


# ---------------------------------------------------------------------------- inputs
def vacancy(**changes: Any) -> OpportunityInput:
    document: dict[str, Any] = {
        "employer": {"name": "Werkgever"},
        "title": "Schoonmaker",
        "description": "",
        "kind": "regular",
        "occupation": {"isco08": "9112"},
        "skills": [{"label": "Schoonmaken", "importance": "essential"}],
        "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
        "hoursPerWeek": {"min": 20, "max": 32},
        "validThrough": "2099-12-31",
        "supportOffered": [],
        "instruments": [],
        "inclusiveRedesign": False,
    }
    document.update(changes)
    return OpportunityInput.from_document("vacancy", document)


def instrument(**changes: Any) -> InstrumentInput:
    document: dict[str, Any] = {
        "type": "jobcoach",
        "name": "Jobcoach",
        "description": "",
        "conditions": [],
        "targetGroups": [],
        "appliesIn": ["GM0344"],
        "validFrom": "2024-01-01",
    }
    document.update(changes)
    return InstrumentInput.from_document(document)


def candidate(**changes: Any) -> CandidateInput:
    document: dict[str, Any] = {
        "externalReference": "K1",
        "person": {"givenName": "Ada", "familyName": "Jansen", "birthDate": "1988-02-03"},
        "gemeente": "GM0344",
        "educationLevel": "nlqf-2",
        "desiredOccupations": [{"isco08": "9112"}],
        "skills": [],
        "languages": [],
        "hoursPerWeek": {"min": 12, "max": 24},
        "availableFrom": "2025-01",
        "wantedKinds": ["regular"],
        "supportNeeds": [],
        "eligibility": [],
    }
    document.update(changes)
    return CandidateInput.from_document(document)


def consent(valid_until: date | None = None) -> ConsentInput:
    return ConsentInput(
        purposes=("matching",),
        recipients={"scope": "any-member"},
        valid_until=valid_until or date.today() + timedelta(days=90),
        collection_method="self-service",
        notice_version="1",
    )


def _types(store: Store) -> list[str]:
    return [event.type for event in store.list_events(EventQuery()).items]


def _count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# ---------------------------------------------------------------------------- schema
def test_migration_creates_exactly_the_declared_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_is_idempotent(store: Store) -> None:
    store.migrate()
    assert _count(store, opportunities) == 0


# ---------------------------------------------------------------------------- opportunities
def test_opportunity_lifecycle_and_events(store: Store) -> None:
    created = store.create_opportunity(vacancy(), publisher=PUBLISHER)
    assert created.status == "open"
    assert created.created_at.tzinfo is not None
    document = created.as_document()
    assert document["id"] == created.id
    assert document["publisher"] == PUBLISHER
    assert document["createdAt"].endswith("Z")

    replaced = store.replace_opportunity(created.id, vacancy(title="Glazenwasser"))
    assert replaced.as_document()["title"] == "Glazenwasser"
    assert replaced.created_at == created.created_at

    closed = store.close_opportunity("vacancy", created.id)
    assert closed.status == "closed"
    assert closed.closed_at is not None
    assert store.get_opportunity("vacancy", created.id).status == "closed"

    with pytest.raises(IllegalTransition):
        store.close_opportunity("vacancy", created.id)
    with pytest.raises(Conflict):
        store.replace_opportunity(created.id, vacancy())
    with pytest.raises(NotFound):
        store.get_opportunity("task-offer", created.id)
    with pytest.raises(NotFound):
        store.get_opportunity("vacancy", "missing")
    assert _types(store) == [
        "nl.openwerk.vacancy.published",
        "nl.openwerk.vacancy.updated",
        "nl.openwerk.vacancy.closed",
    ]


def test_opportunity_filters(backend: tuple[Store, Clock]) -> None:
    store, clock = backend
    a = store.create_opportunity(vacancy(), publisher=PUBLISHER)
    clock.current += timedelta(seconds=1)
    b = store.create_opportunity(
        vacancy(
            occupation={
                "isco08": "9214",
                "escoUri": "http://data.europa.eu/esco/occupation/00000000-0000-4000-8000-000000000001",
            },
            skills=[
                {
                    "uri": "http://data.europa.eu/esco/skill/s1",
                    "label": "Snoeien",
                    "importance": "essential",
                }
            ],
            location={"gemeente": "GM0014", "arbeidsmarktregio": "AM01"},
            hoursPerWeek={"min": 36, "max": 40},
            instruments=["jobcoach"],
            kind="banenafspraak",
        ),
        publisher=PUBLISHER,
    )
    task = store.create_opportunity(replace(vacancy(), resource="task-offer"), publisher=PUBLISHER)

    def ids(**filters: Any) -> list[str]:
        query = OpportunityQuery(resource="vacancy", **filters)
        return [item.id for item in store.list_opportunities(query).items]

    assert ids() == [b.id, a.id]  # newest first, task offers apart
    assert ids(isco08_prefix="9") == [b.id, a.id]
    assert ids(isco08_prefix="921") == [b.id]
    assert ids(isco08_prefix="9112") == [a.id]
    assert ids(isco08_prefix="%") == ids(isco08_prefix="_") == []  # LIKE wildcards escaped
    assert ids(esco_uri=b.content["occupation"]["escoUri"]) == [b.id]
    assert ids(skill="SNOEIEN") == [b.id]
    assert ids(skill="http://data.europa.eu/esco/skill/s1") == [b.id]
    assert ids(skill="schoonmaken") == [a.id]
    assert ids(gemeente="GM0014") == [b.id]
    assert ids(arbeidsmarktregio="AM13") == [a.id]
    assert ids(kind="banenafspraak") == [b.id]
    assert ids(hours_min=33) == [b.id]
    assert ids(hours_max=20) == [a.id]
    assert ids(hours_min=30, hours_max=36) == [b.id, a.id]
    assert ids(instrument="jobcoach") == [b.id]
    assert ids(updated_since=b.updated_at) == [b.id]
    assert ids(updated_since=a.updated_at) == [b.id, a.id]
    assert ids(updated_since=datetime.now(UTC) + timedelta(days=1)) == []
    store.close_opportunity("vacancy", a.id)
    assert ids() == [b.id]
    assert ids(status="closed") == [a.id]
    tasks = store.list_opportunities(OpportunityQuery(resource="task-offer")).items
    assert [t.id for t in tasks] == [task.id]
    # Lists are read on the driver's cursor (storage.prepared); their records, timestamps
    # included, are the ones SQLAlchemy reads one by one.
    listed = store.list_opportunities(OpportunityQuery(resource="vacancy", status="closed"))
    assert list(listed.items) == [store.get_opportunity("vacancy", a.id)]
    assert listed.items[0].closed_at is not None
    assert listed.items[0].closed_at.tzinfo is UTC


def test_keyset_paging_has_no_duplicates_or_gaps(backend: tuple[Store, Clock]) -> None:
    store, clock = backend
    made = []
    for i in range(23):
        # Every third item shares its predecessor's createdAt: ties are broken by id.
        if i % 3:
            clock.current += timedelta(milliseconds=1)
        made.append(store.create_opportunity(vacancy(title=f"V{i}"), publisher=PUBLISHER))
    newest_first = sorted(made, key=lambda item: (item.created_at, item.id), reverse=True)
    expected = [item.id for item in newest_first]
    seen: list[str] = []
    after = None
    while True:
        page = store.list_opportunities(OpportunityQuery(resource="vacancy", after=after, limit=5))
        seen += [item.id for item in page.items]
        # Writes while paging (newer items) must not shift what is still to come.
        clock.current += timedelta(milliseconds=1)
        store.create_opportunity(vacancy(title="late"), publisher=PUBLISHER)
        if page.next_key is None:
            break
        after = page.next_key
    assert seen == expected


def test_instruments(backend: tuple[Store, Clock]) -> None:
    store, clock = backend
    a = store.create_instrument(instrument(), publisher=PUBLISHER)
    clock.current += timedelta(seconds=1)
    b = store.create_instrument(
        instrument(type="no-riskpolis", appliesIn=["GM0014", "GM0344"]), publisher=PUBLISHER
    )

    def ids(**filters: Any) -> list[str]:
        return [i.id for i in store.list_instruments(InstrumentQuery(**filters)).items]

    assert ids() == [b.id, a.id]
    assert ids(type="jobcoach") == [a.id]
    assert ids(gemeente="GM0014") == [b.id]
    store.replace_instrument(a.id, instrument(name="Jobcoach plus", appliesIn=["GM0014"]))
    assert ids(gemeente="GM0014") == [b.id, a.id]
    store.close_instrument(a.id)
    assert ids() == [b.id]
    assert ids(status="closed") == [a.id]
    with pytest.raises(IllegalTransition):
        store.close_instrument(a.id)
    with pytest.raises(Conflict):
        store.replace_instrument(a.id, instrument())
    assert _types(store).count("nl.openwerk.instrument.published") == 2


# ---------------------------------------------------------------------------- candidates
def test_candidates_and_consents(backend: tuple[Store, Clock]) -> None:
    store, clock = backend
    first = store.create_candidate(candidate())
    second = store.create_candidate(candidate(externalReference="K2"))
    assert first.arbeidsmarktregio == "AM13"
    assert store.get_candidate(first.id).person["givenName"] == "Ada"
    assert _types(store) == []  # nothing is published before consent

    by_ref = store.list_candidates(CandidateQuery(external_reference="K2")).items
    assert [c.id for c in by_ref] == [second.id]
    paged = store.list_candidates(CandidateQuery(limit=1))
    rest = store.list_candidates(CandidateQuery(after=paged.next_key, limit=5))
    assert sorted([paged.items[0].id, *[c.id for c in rest.items]]) == sorted([first.id, second.id])

    replaced = store.replace_candidate(first.id, candidate(gemeente="GM0014"))
    assert replaced.arbeidsmarktregio == "AM01"

    old = store.create_consent(first.id, consent())
    new = store.create_consent(first.id, consent())
    listed = store.list_consents(ConsentQuery(candidate_id=first.id)).items
    assert [c.id for c in listed] == [new.id, old.id]  # newest first
    assert old.effective_status(store.today()) == "given"

    later = store.today() + timedelta(days=200)
    reconfirmed = store.reconfirm_consent(first.id, old.id, valid_until=later)
    assert reconfirmed.valid_until == later
    assert reconfirmed.history[-1]["action"] == "reconfirmed"

    withdrawn = store.withdraw_consent(
        first.id, old.id, evidence={"kind": "signed-form", "reference": "W"}
    )
    assert withdrawn.status == "withdrawn"
    assert withdrawn.withdrawn_at is not None
    with pytest.raises(IllegalTransition):
        store.withdraw_consent(first.id, old.id)
    with pytest.raises(IllegalTransition):
        store.reconfirm_consent(first.id, old.id, valid_until=later)

    clock.current += timedelta(days=120)  # past the 90 days of `new`
    assert store.get_consent(first.id, new.id).effective_status(store.today()) == "expired"
    with pytest.raises(IllegalTransition):
        store.withdraw_consent(first.id, new.id)

    with pytest.raises(NotFound):
        store.create_consent("missing", consent())
    with pytest.raises(NotFound):
        store.get_consent(second.id, new.id)
    assert _types(store) == [
        "nl.openwerk.candidate.updated",  # replace
        "nl.openwerk.candidate.updated",  # consent
        "nl.openwerk.candidate.updated",  # consent
        "nl.openwerk.candidate.updated",  # reconfirmation
        "nl.openwerk.candidate.tombstone",  # withdrawal
    ]


def test_erasure_removes_record_and_consents_and_leaves_a_tombstone(store: Store) -> None:
    person = store.create_candidate(candidate())
    store.create_consent(person.id, consent())
    store.erase_candidate(person.id)
    with pytest.raises(NotFound):
        store.get_candidate(person.id)
    assert _count(store, candidates) == 0
    assert _count(store, consents) == 0
    last = store.list_events(EventQuery()).items[-1]
    assert (last.type, last.resource_id) == ("nl.openwerk.candidate.tombstone", person.id)
    with pytest.raises(NotFound):
        store.erase_candidate(person.id)


def test_batch_is_all_or_nothing(store: Store) -> None:
    good = BatchItem(candidate(), (consent(), consent()))
    results = store.create_candidate_batch([good, BatchItem(candidate(externalReference="K9"))])
    assert [len(r.consent_ids) for r in results] == [2, 0]
    assert results[1].external_reference == "K9"
    assert _count(store, candidates) == 2
    before = {table.name: _count(store, table) for table in (candidates, consents, events)}

    broken = replace(consent(), collection_method=None)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        store.create_candidate_batch([good, BatchItem(candidate(), (broken,))])
    after = {table.name: _count(store, table) for table in (candidates, consents, events)}
    assert after == before


def test_a_write_and_its_event_commit_together(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_event(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("event log unavailable")

    monkeypatch.setattr(store_module, "record_event", failing_event)
    with pytest.raises(RuntimeError):
        store.create_opportunity(vacancy(), publisher=PUBLISHER)
    assert _count(store, opportunities) == 0
    assert _count(store, events) == 0


# ---------------------------------------------------------------------------- replay guard
def test_claim_jti_refuses_replays_and_forgets_expired_ones(store: Store) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert store.claim_jti("client-a", "jti-1", soon) is True
    assert store.claim_jti("client-a", "jti-1", soon) is False
    assert store.claim_jti("client-b", "jti-1", soon) is True
    assert store.claim_jti("client-a", "jti-2", soon) is True

    past = datetime.now(UTC) - timedelta(minutes=1)
    assert store.claim_jti("client-a", "old", past) is True
    # The expired row is purged on the next claim, so it no longer blocks anything.
    assert store.claim_jti("client-a", "old", soon) is True
    assert store.claim_jti("client-a", "old", soon) is False


# ---------------------------------------------------------------------------- L2 pool
def test_pool_generation_moves_with_every_candidate_and_consent_write(
    backend: tuple[Store, Clock],
) -> None:
    store, _clock = backend
    seen = [store.pool_generation()]

    def moved() -> bool:
        seen.append(store.pool_generation())
        return seen[-1] > seen[-2]

    person = store.create_candidate(candidate())
    assert moved()
    store.create_candidate_batch([BatchItem(candidate(externalReference="K2"), (consent(),))])
    assert moved()
    store.replace_candidate(person.id, candidate(hoursPerWeek={"min": 8, "max": 16}))
    assert moved()
    given = store.create_consent(person.id, consent())
    assert moved()
    store.reconfirm_consent(person.id, given.id, valid_until=store.today() + timedelta(days=30))
    assert moved()
    store.withdraw_consent(person.id, given.id)
    assert moved()
    store.erase_candidate(person.id)
    assert moved()
    # Refused writes leave the generation alone; reads and other resources never move it.
    with pytest.raises(NotFound):
        store.create_consent("missing", consent())
    broken = replace(consent(), collection_method=None)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        store.create_candidate_batch([BatchItem(candidate(), (broken,))])
    store.load_pool()
    store.create_opportunity(vacancy(), publisher=PUBLISHER)
    assert not moved()


def test_load_pool_holds_profiles_and_given_consents_but_no_identity(
    backend: tuple[Store, Clock],
) -> None:
    store, _clock = backend
    assert store.load_pool() == []
    store.create_candidate(candidate(externalReference="no-consent"))
    kept = store.create_candidate(
        candidate(
            person={
                "givenName": "Ada",
                "familyName": "Jansen",
                "birthDate": "1988-02-03",
                "bsn": "111222333",
                "email": "ada@example.nl",
            }
        )
    )
    first = store.create_consent(kept.id, consent())
    store.create_consent(kept.id, replace(consent(), purposes=("statistics", "matching")))
    store.withdraw_consent(kept.id, first.id)
    gone = store.create_candidate(candidate(externalReference="withdrawn"))
    store.withdraw_consent(gone.id, store.create_consent(gone.id, consent()).id)

    pool = store.load_pool()
    assert [c.internal_id for c in pool] == [kept.id]
    entry = pool[0]
    assert (entry.gemeente, entry.arbeidsmarktregio) == ("GM0344", "AM13")
    assert entry.birth_date == date(1988, 2, 3)
    assert [sorted(c.purposes) for c in entry.consents] == [["matching", "statistics"]]
    assert entry.consents[0].status == "given"
    flat = repr(entry)
    for identifier in ("Ada", "Jansen", "111222333", "ada@example.nl", "externalReference"):
        assert identifier not in flat


# ---------------------------------------------------------------------------- processing log
def _record(candidate_id: str, at: datetime, consumer: str = "consumer-a") -> AccessRecord:
    return AccessRecord(
        candidate_id=candidate_id,
        time=at,
        consumer=consumer,
        purpose="matching",
        operation="searchCandidates",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        activity_id="matching-register-1",
    )


def test_access_log_is_bulk_written_and_read_newest_first_without_gaps(
    backend: tuple[Store, Clock],
) -> None:
    store, _clock = backend
    person = store.create_candidate(candidate())
    other = store.create_candidate(candidate(externalReference="K2"))
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    # Three records share each timestamp: ties are broken by id.
    records = [
        _record(person.id, start + timedelta(seconds=i // 3), f"consumer-{i % 2}")
        for i in range(11)
    ]
    store.log_access(records)
    store.log_access([_record(other.id, start)])
    store.log_access([])

    seen = []
    after = None
    while True:
        page = store.access_log(AccessLogQuery(candidate_id=person.id, after=after, limit=4))
        seen += list(page.items)
        if page.next_key is None:
            break
        after = page.next_key
    assert len(seen) == 11
    assert len({item.id for item in seen}) == 11
    assert [(item.time, item.id) for item in seen] == sorted(
        ((item.time, item.id) for item in seen), reverse=True
    )
    document = seen[0].as_document()
    assert document["time"] == "2026-03-01T09:00:03.000Z"
    assert document["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert document["activityId"] == "matching-register-1"
    assert "candidateId" not in document
    assert store.access_log_consumers() == ["consumer-0", "consumer-1", "consumer-a"]

    # Erasure keeps the records (retention, OW-LOG-005); an unknown candidate is NotFound.
    store.erase_candidate(person.id)
    assert len(store.access_log(AccessLogQuery(candidate_id=person.id, limit=100)).items) == 11
    with pytest.raises(NotFound):
        store.access_log(AccessLogQuery(candidate_id="missing"))
    assert store.access_log(AccessLogQuery(candidate_id=other.id)).items[0].consumer == "consumer-a"


def test_access_log_writes_all_records_or_none(backend: tuple[Store, Clock]) -> None:
    store, _clock = backend
    person = store.create_candidate(candidate())
    good = _record(person.id, datetime(2026, 3, 1, tzinfo=UTC))
    broken = good._replace(consumer=None)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        store.log_access([good, broken])
    assert _count(store, access_log) == 0


def test_an_unreachable_database_is_storage_unavailable_on_the_prepared_path(
    tmp_path: Path,
) -> None:
    """The lists run on the driver's cursor; its errors become a 503, like SQLAlchemy's."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'missing' / 'node.db'}")
    try:
        with pytest.raises(StorageUnavailable):
            store.list_opportunities(OpportunityQuery(resource="vacancy"))
        with pytest.raises(StorageUnavailable):
            store.get_opportunity("vacancy", "x")
    finally:
        store.dispose()
