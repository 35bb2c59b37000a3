"""The ``Store``: a node's persistence behind one typed interface, on SQLite or PostgreSQL.

Every public method is one transaction: it either commits whole (the change and the event
that announces it) or leaves nothing behind. Database errors are translated here, at the
boundary, into domain errors (``raise ... from exc``); nothing above sees SQLAlchemy, and
nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, delete, insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from openwerk_server.errors import Conflict, StorageUnavailable
from openwerk_server.storage import candidates as cand_sql
from openwerk_server.storage import opportunities as opp_sql
from openwerk_server.storage.engine import WRITE_OPTION, create_node_engine
from openwerk_server.storage.events import record_event, select_events
from openwerk_server.storage.ids import new_id
from openwerk_server.storage.queries import (
    BatchItem,
    BatchResult,
    CandidateInput,
    CandidateQuery,
    ConsentInput,
    ConsentQuery,
    EventQuery,
    InstrumentInput,
    InstrumentQuery,
    OpportunityInput,
    OpportunityQuery,
    Page,
    Resource,
)
from openwerk_server.storage.records import (
    StoredCandidate,
    StoredConsent,
    StoredEvent,
    StoredInstrument,
    StoredOpportunity,
)
from openwerk_server.storage.tables import used_assertions

__all__ = ["Clock", "Store", "utc_now"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, aware, in UTC."""
    return datetime.now(UTC)


def _local_zone() -> tzinfo:
    # Consent validity is a Dutch calendar date; fall back to UTC where no tz database exists.
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # pragma: no cover - minimal container images
        return UTC


class Store:
    """Typed queries in, records and ``Page``s out, domain errors out."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock
        self._zone = _local_zone()

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = utc_now, **engine_options: Any) -> Store:
        """A store for ``sqlite:///path`` or ``postgresql[+psycopg]://...`` (see ``engine``)."""
        return cls(create_node_engine(url, **engine_options), clock=clock)

    # ------------------------------------------------------------------ lifecycle
    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations, diagnostics and tests)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``)."""
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable(f"Could not migrate the database: {exc}") from exc

    def dispose(self) -> None:
        """Close pooled connections."""
        self._engine.dispose()

    def now(self) -> datetime:
        """The node's clock, UTC, truncated to milliseconds (the precision it emits)."""
        current = self._clock().astimezone(UTC)
        return current.replace(microsecond=current.microsecond // 1000 * 1000)

    def today(self) -> date:
        """Today's date in the Netherlands (consent validity is a calendar date there)."""
        return self._clock().astimezone(self._zone).date()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise Conflict("The change conflicts with data stored at this node.") from exc
        except (OperationalError, InterfaceError) as exc:
            logger.error("database unavailable: %s", exc)
            raise StorageUnavailable("The database is unavailable.") from exc

    # ------------------------------------------------------------------ opportunities
    def create_opportunity(self, item: OpportunityInput, *, publisher: str) -> StoredOpportunity:
        """Publish a new vacancy or task offer (event ``published``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.insert_opportunity(
                conn, item, new_id=new_id(), publisher=publisher, now=now
            )
            self._opportunity_event(conn, stored, "published", now)
            return stored

    def replace_opportunity(self, opportunity_id: str, item: OpportunityInput) -> StoredOpportunity:
        """Replace an open opportunity's content (event ``updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.replace_opportunity(conn, opportunity_id, item, now=now)
            self._opportunity_event(conn, stored, "updated", now)
            return stored

    def close_opportunity(self, resource: Resource, opportunity_id: str) -> StoredOpportunity:
        """Close an open opportunity (event ``closed``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.close_opportunity(conn, resource, opportunity_id, now=now)
            self._opportunity_event(conn, stored, "closed", now)
            return stored

    def get_opportunity(self, resource: Resource, opportunity_id: str) -> StoredOpportunity:
        """One vacancy or task offer, open or closed."""
        with self._transaction(write=False) as conn:
            return opp_sql.fetch_opportunity(conn, resource, opportunity_id)

    def list_opportunities(self, query: OpportunityQuery) -> Page[StoredOpportunity]:
        """A page of vacancies or task offers matching every filter."""
        with self._transaction(write=False) as conn:
            return opp_sql.select_opportunities(conn, query)

    @staticmethod
    def _opportunity_event(
        conn: Connection, stored: StoredOpportunity, action: str, now: datetime
    ) -> None:
        record_event(
            conn,
            resource=stored.resource,
            action=action,
            resource_id=stored.id,
            time=now,
            data={"id": stored.id, "status": stored.status},
        )

    # ------------------------------------------------------------------ instruments
    def create_instrument(self, item: InstrumentInput, *, publisher: str) -> StoredInstrument:
        """Publish a new instrument (event ``published``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.insert_instrument(
                conn, item, new_id=new_id(), publisher=publisher, now=now
            )
            self._instrument_event(conn, stored, "published", now)
            return stored

    def replace_instrument(self, instrument_id: str, item: InstrumentInput) -> StoredInstrument:
        """Replace an active instrument's content (event ``updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.replace_instrument(conn, instrument_id, item, now=now)
            self._instrument_event(conn, stored, "updated", now)
            return stored

    def close_instrument(self, instrument_id: str) -> StoredInstrument:
        """Close an active instrument (event ``closed``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.close_instrument(conn, instrument_id, now=now)
            self._instrument_event(conn, stored, "closed", now)
            return stored

    def get_instrument(self, instrument_id: str) -> StoredInstrument:
        """One instrument, active or closed."""
        with self._transaction(write=False) as conn:
            return opp_sql.fetch_instrument(conn, instrument_id)

    def list_instruments(self, query: InstrumentQuery) -> Page[StoredInstrument]:
        """A page of instruments matching every filter."""
        with self._transaction(write=False) as conn:
            return opp_sql.select_instruments(conn, query)

    @staticmethod
    def _instrument_event(
        conn: Connection, stored: StoredInstrument, action: str, now: datetime
    ) -> None:
        record_event(
            conn,
            resource="instrument",
            action=action,
            resource_id=stored.id,
            time=now,
            data={"id": stored.id, "status": stored.status},
        )

    # ------------------------------------------------------------------ candidates
    def create_candidate(self, item: CandidateInput) -> StoredCandidate:
        """Register a candidate. Nothing is published (and no event recorded) until consent."""
        with self._transaction(write=True) as conn:
            candidate_id = new_id()
            cand_sql.insert_candidates(conn, [(candidate_id, item)], now=self.now())
            return cand_sql.fetch_candidate(conn, candidate_id)

    def create_candidate_batch(self, items: Sequence[BatchItem]) -> list[BatchResult]:
        """Register candidates with their consents, all or nothing (OW-PUB-004)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            results: list[BatchResult] = []
            rows: list[tuple[str, CandidateInput]] = []
            consent_rows: list[tuple[str, str, ConsentInput]] = []
            for item in items:
                candidate_id = new_id()
                rows.append((candidate_id, item.candidate))
                ids = tuple(new_id() for _ in item.consents)
                consent_rows.extend(
                    (cid, candidate_id, consent)
                    for cid, consent in zip(ids, item.consents, strict=True)
                )
                results.append(BatchResult(candidate_id, item.candidate.external_reference, ids))
            cand_sql.insert_candidates(conn, rows, now=now)
            cand_sql.insert_consents(conn, consent_rows, now=now)
            for result in results:
                if result.consent_ids:
                    self._candidate_event(conn, result.candidate_id, "updated", now)
            return results

    def get_candidate(self, candidate_id: str) -> StoredCandidate:
        """One identified candidate record."""
        with self._transaction(write=False) as conn:
            return cand_sql.fetch_candidate(conn, candidate_id)

    def replace_candidate(self, candidate_id: str, item: CandidateInput) -> StoredCandidate:
        """Replace a record (event ``candidate.updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = cand_sql.replace_candidate(conn, candidate_id, item, now=now)
            self._candidate_event(conn, candidate_id, "updated", now)
            return stored

    def erase_candidate(self, candidate_id: str) -> None:
        """Erase a record and its consents; record the tombstone (OW-PUB-006)."""
        with self._transaction(write=True) as conn:
            cand_sql.erase_candidate(conn, candidate_id)
            self._candidate_event(conn, candidate_id, "tombstone", self.now())

    def list_candidates(self, query: CandidateQuery) -> Page[StoredCandidate]:
        """A page of identified records, by id."""
        with self._transaction(write=False) as conn:
            return cand_sql.select_candidates(conn, query)

    @staticmethod
    def _candidate_event(conn: Connection, candidate_id: str, action: str, now: datetime) -> None:
        record_event(
            conn,
            resource="candidate",
            action=action,
            resource_id=candidate_id,
            time=now,
            data={},
        )

    # ------------------------------------------------------------------ consents
    def create_consent(self, candidate_id: str, item: ConsentInput) -> StoredConsent:
        """Record a consent the candidate gave (event ``candidate.updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            cand_sql.fetch_candidate(conn, candidate_id, for_update=True)
            consent_id = new_id()
            cand_sql.insert_consents(conn, [(consent_id, candidate_id, item)], now=now)
            self._candidate_event(conn, candidate_id, "updated", now)
            return cand_sql.fetch_consent(conn, candidate_id, consent_id)

    def get_consent(self, candidate_id: str, consent_id: str) -> StoredConsent:
        """One consent of one candidate."""
        with self._transaction(write=False) as conn:
            return cand_sql.fetch_consent(conn, candidate_id, consent_id)

    def list_consents(self, query: ConsentQuery) -> Page[StoredConsent]:
        """A page of one candidate's consents, newest first."""
        with self._transaction(write=False) as conn:
            return cand_sql.select_consents(conn, query)

    def reconfirm_consent(
        self,
        candidate_id: str,
        consent_id: str,
        *,
        valid_until: date,
        evidence: dict[str, Any] | None = None,
    ) -> StoredConsent:
        """Re-confirm a given consent (event ``candidate.updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = cand_sql.reconfirm_consent(
                conn,
                candidate_id,
                consent_id,
                valid_until=valid_until,
                evidence=evidence,
                now=now,
                today=self.today(),
            )
            self._candidate_event(conn, candidate_id, "updated", now)
            return stored

    def withdraw_consent(
        self, candidate_id: str, consent_id: str, *, evidence: dict[str, Any] | None = None
    ) -> StoredConsent:
        """Withdraw a given consent; the tombstone is recorded in the same transaction."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = cand_sql.withdraw_consent(
                conn, candidate_id, consent_id, evidence=evidence, now=now, today=self.today()
            )
            self._candidate_event(conn, candidate_id, "tombstone", now)
            return stored

    # ------------------------------------------------------------------ events
    def list_events(self, query: EventQuery) -> Page[StoredEvent]:
        """Recorded events after a sequence number, oldest first."""
        with self._transaction(write=False) as conn:
            return select_events(conn, query)

    # ------------------------------------------------------------------ replay guard
    def claim_jti(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """``security.ReplayGuard``: True the first time a (client, jti) is seen, else False.

        The unique key does the work, so replicas sharing the database refuse each other's
        replays (OW-AUTH-005). Expired rows are purged on the way: an expired assertion is
        refused on its ``exp`` anyway, so its jti need not be remembered any longer.
        """
        now = self.now()
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    conn.execute(delete(used_assertions).where(used_assertions.c.expires_at < now))
                    conn.execute(
                        insert(used_assertions).values(
                            client_id=client_id, jti=jti, expires_at=expires_at
                        )
                    )
        except IntegrityError:
            return False
        except (OperationalError, InterfaceError) as exc:
            raise StorageUnavailable("The database is unavailable.") from exc
        return True
