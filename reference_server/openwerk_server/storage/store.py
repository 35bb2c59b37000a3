"""The ``Store``: a node's persistence behind one typed interface, on SQLite or PostgreSQL.

Every public method is one transaction: it either commits whole (the change and the event
that announces it) or leaves nothing behind. Database errors are translated here, at the
boundary, into domain errors (``raise ... from exc``); nothing above sees SQLAlchemy, and
nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, delete, insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from openwerk_server.errors import Conflict, StorageUnavailable
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.views import PoolCandidate
from openwerk_server.storage import candidates as cand_sql
from openwerk_server.storage import introductions as intro_sql
from openwerk_server.storage import opportunities as opp_sql
from openwerk_server.storage import pool as pool_sql
from openwerk_server.storage import subscriptions as sub_sql
from openwerk_server.storage.access_log import (
    AccessLogQuery,
    AccessRecord,
    StoredAccessRecord,
    consumers_in_log,
    insert_access_records,
    select_access_log,
)
from openwerk_server.storage.engine import WRITE_OPTION, create_node_engine
from openwerk_server.storage.events import record_event, record_resource_events, select_events
from openwerk_server.storage.ids import new_id, time_ordered_ids
from openwerk_server.storage.introductions import PlacementFact
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
from openwerk_server.storage.rendered import ListedOpportunity
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
        # SQLite has one writer at a time anyway; queueing this process's writers here
        # instead of in SQLite's busy handler (which polls and gives up after busy_timeout)
        # keeps concurrent batch posts from failing with 503 on a loaded machine.
        self._sqlite_writer = threading.RLock() if engine.dialect.name == "sqlite" else None
        #: Whether a short read may run on the event loop instead of a worker thread
        #: (``routes.deps.store_read``): on SQLite a page read is a fraction of a millisecond
        #: of local file access and WAL readers never wait for writers, while the hop to a
        #: worker thread and back costs more than the read; a PostgreSQL read is a network
        #: round trip and may wait for a pooled connection, so it keeps its thread.
        self.inline_reads = engine.dialect.name == "sqlite"

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

    def local_now(self) -> datetime:
        """The node's clock in Europe/Amsterdam: ``.date()`` is the Dutch calendar date, on
        which consents expire and age bands turn (the clock of the L2 view cache)."""
        return self._clock().astimezone(self._zone)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        queue = self._sqlite_writer if write and self._sqlite_writer else nullcontext()
        try:
            with queue, self._engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise Conflict("The change conflicts with data stored at this node.") from exc
        except (OperationalError, InterfaceError) as exc:
            logger.error("database unavailable: %s", exc)
            raise StorageUnavailable("The database is unavailable.") from exc

    @contextmanager
    def _driver_read(self) -> Iterator[None]:
        """For reads run on the driver's cursor (``storage.prepared``): its errors mapped as
        ``_transaction`` maps SQLAlchemy's."""
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            yield
        except (
            OperationalError,
            InterfaceError,
            dbapi.OperationalError,
            dbapi.InterfaceError,
        ) as exc:
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
            self._publication_event(conn, stored, "published", now)
            return stored

    def replace_opportunity(self, opportunity_id: str, item: OpportunityInput) -> StoredOpportunity:
        """Replace an open opportunity's content (event ``updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.replace_opportunity(conn, opportunity_id, item, now=now)
            self._publication_event(conn, stored, "updated", now)
            return stored

    def close_opportunity(self, resource: Resource, opportunity_id: str) -> StoredOpportunity:
        """Close an open opportunity (event ``closed``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.close_opportunity(conn, resource, opportunity_id, now=now)
            self._publication_event(conn, stored, "closed", now)
            return stored

    def get_opportunity(self, resource: Resource, opportunity_id: str) -> StoredOpportunity:
        """One vacancy or task offer, open or closed."""
        with self._transaction(write=False) as conn:
            return opp_sql.fetch_opportunity(conn, resource, opportunity_id)

    def list_opportunities(self, query: OpportunityQuery) -> Page[StoredOpportunity]:
        """A page of vacancies or task offers matching every filter."""
        page = self.list_opportunity_rows(query)
        return Page(tuple(row.record() for row in page.items), page.next_key)

    def list_opportunity_rows(self, query: OpportunityQuery) -> Page[ListedOpportunity]:
        """The same page as ``list_opportunities``, each row still JSON text, rendered once."""
        with self._driver_read():
            return opp_sql.select_opportunity_rows(self._engine, query)

    @staticmethod
    def _publication_event(
        conn: Connection,
        stored: StoredOpportunity | StoredInstrument,
        action: str,
        now: datetime,
    ) -> None:
        """The L0 change event of a vacancy, task offer or instrument (same transaction)."""
        resource = stored.resource if isinstance(stored, StoredOpportunity) else "instrument"
        record_event(
            conn,
            resource=resource,
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
            self._publication_event(conn, stored, "published", now)
            return stored

    def replace_instrument(self, instrument_id: str, item: InstrumentInput) -> StoredInstrument:
        """Replace an active instrument's content (event ``updated``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.replace_instrument(conn, instrument_id, item, now=now)
            self._publication_event(conn, stored, "updated", now)
            return stored

    def close_instrument(self, instrument_id: str) -> StoredInstrument:
        """Close an active instrument (event ``closed``)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = opp_sql.close_instrument(conn, instrument_id, now=now)
            self._publication_event(conn, stored, "closed", now)
            return stored

    def get_instrument(self, instrument_id: str) -> StoredInstrument:
        """One instrument, active or closed."""
        with self._transaction(write=False) as conn:
            return opp_sql.fetch_instrument(conn, instrument_id)

    def list_instruments(self, query: InstrumentQuery) -> Page[StoredInstrument]:
        """A page of instruments matching every filter."""
        with self._transaction(write=False) as conn:
            return opp_sql.select_instruments(conn, query)

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
            # All ids from one read of the random source, time-ordered: random keys cost the
            # commit a page per row in each index (``time_ordered_ids``).
            count = len(items) + sum(len(item.consents) for item in items)
            fresh = iter(time_ordered_ids(count, now))
            results: list[BatchResult] = []
            rows: list[tuple[str, CandidateInput]] = []
            consent_rows: list[tuple[str, str, ConsentInput]] = []
            for item in items:
                candidate_id = next(fresh)
                rows.append((candidate_id, item.candidate))
                ids = tuple(next(fresh) for _ in item.consents)
                consent_rows.extend(
                    (cid, candidate_id, consent)
                    for cid, consent in zip(ids, item.consents, strict=True)
                )
                results.append(BatchResult(candidate_id, item.candidate.external_reference, ids))
            cand_sql.insert_candidates(conn, rows, now=now)
            cand_sql.insert_consents(conn, consent_rows, now=now)
            record_resource_events(
                conn,
                resource="candidate",
                action="updated",
                resource_ids=[r.candidate_id for r in results if r.consent_ids],
                time=now,
            )
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

    def erase_candidate(self, candidate_id: str, *, trace: intro_sql.Trace | None = None) -> None:
        """Erase a record and its consents; record the tombstone (OW-PUB-006). Its pending
        introductions are cancelled in the same transaction (OW-CONSENT-009)."""
        with self._transaction(write=True) as conn:
            now = self.now()
            cand_sql.erase_candidate(conn, candidate_id)
            self._candidate_event(conn, candidate_id, "tombstone", now)
            intro_sql.close_after_erasure(
                conn, candidate_id, now=now, trace=trace or intro_sql.Trace.new()
            )

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
        self,
        candidate_id: str,
        consent_id: str,
        *,
        evidence: dict[str, Any] | None = None,
        trace: intro_sql.Trace | None = None,
    ) -> StoredConsent:
        """Withdraw a given consent; the tombstone is recorded in the same transaction, and
        so is the cancellation of pending introductions of requesters it no longer reaches."""
        with self._transaction(write=True) as conn:
            now = self.now()
            stored = cand_sql.withdraw_consent(
                conn, candidate_id, consent_id, evidence=evidence, now=now, today=self.today()
            )
            self._candidate_event(conn, candidate_id, "tombstone", now)
            intro_sql.close_after_consent_change(
                conn,
                candidate_id,
                now=now,
                operation="withdrawConsent",
                trace=trace or intro_sql.Trace.new(),
            )
            return stored

    # ------------------------------------------------------------------ L2 pool
    def pool_generation(self) -> int:
        """``privacy.pool.CandidateSource``: bumped by every candidate or consent write."""
        with self._transaction(write=False) as conn:
            return pool_sql.read_generation(conn)

    def load_pool(self) -> list[PoolCandidate]:
        """``privacy.pool.CandidateSource``: candidates with given consents, no identity."""
        with self._transaction(write=False) as conn:
            return pool_sql.load_pool(conn)

    # ------------------------------------------------------------------ processing log
    def log_access(self, entries: Sequence[AccessRecord], *, generation: int | None = None) -> bool:
        """Append processing-log records, all in one transaction (OW-LOG-001).

        With ``generation`` (of the view the cards were taken from), only if the pool is
        still at that generation, read in the same transaction: False, and nothing written,
        means the pool changed and the cards must not be served. Without records this is
        that check alone.
        """
        return self.log_access_groups([(entries, generation)])[0]

    def log_access_groups(
        self, groups: Sequence[tuple[Sequence[AccessRecord], int | None]]
    ) -> list[bool]:
        """``log_access`` for several requests in one transaction (``log_writer``): each
        group is written, or refused for a changed generation, on its own."""
        if all(generation is None and not entries for entries, generation in groups):
            return [True] * len(groups)
        with self._transaction(write=any(entries for entries, _ in groups)) as conn:
            current = (
                pool_sql.read_generation(conn)
                if any(generation is not None for _, generation in groups)
                else None
            )
            outcomes = [generation is None or generation == current for _, generation in groups]
            accepted = [
                record
                for (entries, _), ok in zip(groups, outcomes, strict=True)
                if ok
                for record in entries
            ]
            insert_access_records(conn, accepted)
        return outcomes

    def access_log(self, query: AccessLogQuery) -> Page[StoredAccessRecord]:
        """One candidate's processing-log records, newest first (OW-LOG-004)."""
        with self._transaction(write=False) as conn:
            return select_access_log(conn, query)

    def access_log_consumers(self) -> list[str]:
        """Every consumer the processing log names."""
        with self._transaction(write=False) as conn:
            return consumers_in_log(conn)

    # ------------------------------------------------------------------ L1 statistics
    def placement_facts(
        self, consumer: Consumer, *, node_id: str, arbeidsmarktregio: str | None = None
    ) -> list[PlacementFact]:
        """Placement outcomes a ``statistics`` consent admits ``consumer`` to count."""
        with self._transaction(write=False) as conn:
            return intro_sql.placement_facts(
                conn, consumer, now=self.now(), node_id=node_id, arbeidsmarktregio=arbeidsmarktregio
            )

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

    # --- introductions, outcomes, events, subscriptions ---
    # Maintained with storage/introductions.py and storage/subscriptions.py (issue: L3 and
    # events). Introduction steps log to the processing log in their own transaction.
    def create_introduction(
        self, item: intro_sql.IntroductionInput, *, ttl: timedelta, trace: intro_sql.Trace
    ) -> intro_sql.StoredIntroduction:
        """A new pending introduction (OW-INTRO-001), logged for the candidate."""
        with self._transaction(write=True) as conn:
            return intro_sql.insert_introduction(
                conn, item, new_id=new_id(), now=self.now(), ttl=ttl, trace=trace
            )

    def get_introduction(
        self, introduction_id: str, *, requester: str | None = None
    ) -> intro_sql.StoredIntroduction:
        """One introduction; with ``requester``, only that member's."""
        with self._transaction(write=False) as conn:
            return intro_sql.fetch_introduction(conn, introduction_id, requester=requester)

    def list_introductions(
        self, query: intro_sql.IntroductionQuery
    ) -> Page[intro_sql.StoredIntroduction]:
        """A page of introductions, newest first, status as of now."""
        with self._transaction(write=False) as conn:
            return intro_sql.select_introductions(conn, query, now=self.now())

    def cancel_introduction(
        self, introduction_id: str, *, requester: str, trace: intro_sql.Trace
    ) -> intro_sql.StoredIntroduction:
        """pending → cancelled by the requester; anything else ``IllegalTransition``."""
        with self._transaction(write=True) as conn:
            return intro_sql.requester_cancels(
                conn, introduction_id, requester=requester, now=self.now(), trace=trace
            )

    def decide_introduction(
        self, introduction_id: str, decision: intro_sql.DecisionInput, *, trace: intro_sql.Trace
    ) -> intro_sql.StoredIntroduction:
        """pending → accepted | declined; anything else ``IllegalTransition``."""
        with self._transaction(write=True) as conn:
            return intro_sql.decide_introduction(
                conn, introduction_id, decision, now=self.now(), trace=trace
            )

    def reveal_identity(
        self, intro: intro_sql.StoredIntroduction, *, trace: intro_sql.Trace, operation: str
    ) -> dict[str, Any] | None:
        """The identity an accepted introduction reveals to its requester, read and logged in
        one transaction (OW-INTRO-006, OW-LOG-002); None when it is not (or no longer) shown."""
        if intro.effective_status(self.now()) != "accepted" or intro.contact is None:
            return None
        with self._transaction(write=True) as conn:
            return intro_sql.reveal_identity(
                conn, intro, now=self.now(), trace=trace, operation=operation
            )

    def settle_introductions(self, *, trace: intro_sql.Trace | None = None) -> int:
        """Persist what time decided: expired introductions (OW-INTRO-003) and the effects of
        expired consents (tombstones, cancellations; OW-CONSENT-007/-009), each once, with
        events and log records. Cheap when nothing is due: an indexed read, and consents
        are looked at once per Dutch day per process (they expire only when the date turns:
        no consent can be given, or re-confirmed, with a validUntil in the past)."""
        now = self.now()
        day = now.astimezone(self._zone).date()
        consents_due = getattr(self, "_consents_settled_on", None) != day
        with self._transaction(write=False) as conn:
            due = intro_sql.work_due(conn, now=now, include_consents=consents_due)
        if due:
            with self._transaction(write=True) as conn:
                now = self.now()
                trace = trace or intro_sql.Trace.new()
                done = intro_sql.expire_due(conn, now=now, trace=trace)
                done += intro_sql.announce_consent_expiries(conn, now=now, trace=trace)
        else:
            done = 0
        if consents_due:
            self._consents_settled_on = day
        return done

    def record_outcome(
        self, introduction_id: str, document: dict[str, Any]
    ) -> intro_sql.StoredOutcome:
        """A placement outcome of an accepted introduction, one per checkpoint."""
        with self._transaction(write=True) as conn:
            return intro_sql.insert_outcome(
                conn, introduction_id, document, new_id=new_id(), now=self.now()
            )

    def list_outcomes(self, query: intro_sql.OutcomeQuery) -> Page[intro_sql.StoredOutcome]:
        """A page of one introduction's outcomes, oldest first."""
        with self._transaction(write=False) as conn:
            return intro_sql.select_outcomes(conn, query)

    def feed_rows(self, query: sub_sql.FeedQuery) -> sub_sql.FeedRows:
        """Raw feed rows for one member, with the consents its candidate updates depend on."""
        with self._transaction(write=False) as conn:
            return sub_sql.feed_rows(conn, query)

    def create_subscription(self, item: sub_sql.SubscriptionInput) -> sub_sql.StoredSubscription:
        """A new webhook subscription, delivering events recorded from now on."""
        with self._transaction(write=True) as conn:
            return sub_sql.insert_subscription(conn, item, new_id_=new_id(), now=self.now())

    def get_subscription(
        self, subscription_id: str, *, member: str | None
    ) -> sub_sql.StoredSubscription:
        """One subscription (with ``member``, only that member's)."""
        with self._transaction(write=False) as conn:
            return sub_sql.fetch_subscription(conn, subscription_id, member=member)

    def list_subscriptions(
        self, query: sub_sql.SubscriptionQuery
    ) -> Page[sub_sql.StoredSubscription]:
        """A page of one member's subscriptions, oldest first."""
        with self._transaction(write=False) as conn:
            return sub_sql.select_subscriptions(conn, query)

    def delete_subscription(self, subscription_id: str, *, member: str) -> None:
        """Remove a member's subscription and its deliveries."""
        with self._transaction(write=True) as conn:
            sub_sql.delete_subscription(conn, subscription_id, member=member)

    def list_deliveries(self, query: sub_sql.DeliveryQuery) -> Page[sub_sql.StoredDelivery]:
        """A page of one subscription's deliveries, newest first."""
        with self._transaction(write=False) as conn:
            return sub_sql.select_deliveries(conn, query)

    def active_subscriptions(self) -> list[sub_sql.StoredSubscription]:
        """Subscriptions still delivering."""
        with self._transaction(write=False) as conn:
            return sub_sql.active_subscriptions(conn)

    def add_deliveries(
        self,
        subscription: sub_sql.StoredSubscription,
        *,
        new_cursor: int,
        items: Sequence[sub_sql.NewDelivery],
    ) -> bool:
        """Deliveries for a subscription's next events; False when another replica won."""
        with self._transaction(write=True) as conn:
            return sub_sql.add_deliveries(
                conn, subscription, new_cursor=new_cursor, items=items, now=self.now()
            )

    def claim_deliveries(
        self, *, hold: timedelta, limit: int, now: datetime | None = None
    ) -> list[sub_sql.ClaimedDelivery]:
        """Deliveries due at ``now`` (default: the clock) that this worker attempts now; no
        other replica takes them for ``hold``."""
        at = now or self.now()
        with self._transaction(write=False) as conn:
            if not sub_sql.any_due(conn, now=at):
                return []  # the common case: no write transaction every tick
        with self._transaction(write=True) as conn:
            return sub_sql.claim_due(conn, now=at, hold=hold, limit=limit)

    def record_delivery_attempt(
        self,
        delivery_id: str,
        *,
        attempted_at: datetime,
        response_status: int | None,
        delivered: bool,
        retry_at: datetime | None,
        give_up_subscription: bool = False,
    ) -> sub_sql.StoredDelivery:
        """The outcome of one attempt (see ``subscriptions.record_attempt``)."""
        with self._transaction(write=True) as conn:
            return sub_sql.record_attempt(
                conn,
                delivery_id,
                attempted_at=attempted_at,
                response_status=response_status,
                delivered=delivered,
                retry_at=retry_at,
                give_up_subscription=give_up_subscription,
            )
