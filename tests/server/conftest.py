"""Fixtures for the reference server: a node on a temporary SQLite file, in-process.

``StaticTokenAuthenticator`` stands in for the JWT verifier of ``openwerk_server.auth`` so the
routes can be tested without keys or a directory: fixed test tokens map to fixed principals.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from openwerk_server.app import create_app
from openwerk_server.security import InvalidToken, Principal
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_server.storage.tables import metadata

# Starlette warns at import when only httpx (not httpx2) is installed; the test client works
# the same either way, and the warning would otherwise be an error under our filterwarnings.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NODE_ID = "test-node"
PUBLISHER = {"Authorization": "Bearer publisher-token"}
READER = {"Authorization": "Bearer reader-token"}
NOBODY = {"Authorization": "Bearer consumer-token"}
CONSUMER_A = {"Authorization": "Bearer consumer-a-token"}
CONSUMER_B = {"Authorization": "Bearer consumer-b-token"}


class StaticTokenAuthenticator:
    """Test-only ``security.Authenticator``: a fixed table of bearer tokens."""

    TOKENS: ClassVar[dict[str, Principal]] = {
        "publisher-token": Principal(
            "test-publisher", "gemeente", frozenset({"publication:write"})
        ),
        "reader-token": Principal("test-reader", "werkgever", frozenset({"opportunities:read"})),
        "consumer-token": Principal(
            "test-consumer", "platform", frozenset({"candidates:read", "statistics:read"})
        ),
        # Two consumers of different organisation types (L1 + L2), for the privacy tests.
        "consumer-a-token": Principal(
            "consumer-a", "platform", frozenset({"candidates:read", "statistics:read"})
        ),
        "consumer-b-token": Principal(
            "consumer-b", "werkgever", frozenset({"candidates:read", "statistics:read"})
        ),
        # The same two members with every consumer scope (L1..L3 and events), for the
        # matching, introductions and events tests.
        "member-a-token": Principal(
            "consumer-a",
            "platform",
            frozenset({"candidates:read", "statistics:read", "introductions:write", "events:read"}),
        ),
        "member-b-token": Principal(
            "consumer-b",
            "werkgever",
            frozenset({"candidates:read", "statistics:read", "introductions:write", "events:read"}),
        ),
    }

    def authenticate(self, token: str) -> Principal:
        try:
            return self.TOKENS[token]
        except KeyError:
            raise InvalidToken("Unknown test token.") from None


@dataclass
class FixedClock:
    """A clock tests can move. It starts at the real time (so date rules behave normally) and
    ticks one millisecond per reading, so successive writes get distinct, ordered timestamps.
    """

    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        value = self.current
        self.current += timedelta(milliseconds=1)
        return value

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def node_settings(tmp_path: Path, **overrides: Any) -> NodeSettings:
    """Development settings for a node on a SQLite file in ``tmp_path``."""
    values: dict[str, Any] = {
        "environment": "development",
        "node_id": NODE_ID,
        "node_name": "Testgemeente",
        "organisation_type": "gemeente",
        "organisation_name": "Gemeente Utrecht",
        "arbeidsmarktregios": ["AM13"],
        "gemeenten": ["GM0344"],
        "base_url": "http://testserver/v1",
        "database_url": f"sqlite:///{tmp_path / 'node.db'}",
        "pseudonym_secret": "test-secret-" + "x" * 32,
        "migrate_on_start": False,  # the store fixture migrates
    }
    values.update(overrides)
    return NodeSettings(**values)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> NodeSettings:
    return node_settings(tmp_path)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test starts from a copy (fast and clean).

    The migrations themselves are exercised per test in test_storage_contract.py.
    """
    path = tmp_path_factory.mktemp("template") / "node.db"
    template = Store.from_url(f"sqlite:///{path}")
    template.migrate()
    template.dispose()  # the last connection checkpoints the WAL into the file
    return path


def fresh_store(database: Path, template: Path, clock: FixedClock | None = None) -> Store:
    """A store on a copy of the migrated template."""
    shutil.copyfile(template, database)
    return Store.from_url(f"sqlite:///{database}", clock=clock or FixedClock())


@pytest.fixture
def store(
    settings: NodeSettings, tmp_path: Path, migrated_database: Path, clock: FixedClock
) -> Iterator[Store]:
    node_store = fresh_store(tmp_path / "node.db", migrated_database, clock)
    yield node_store
    node_store.dispose()


@pytest.fixture
def app(settings: NodeSettings, store: Store) -> FastAPI:
    return create_app(settings, store, StaticTokenAuthenticator())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_client(
    tmp_path_factory: pytest.TempPathFactory, migrated_database: Path
) -> Iterator[TestClient]:
    """A node shared by the read-only tests of one module (seed it once, query it often)."""
    path = tmp_path_factory.mktemp("module-node")
    node_store = fresh_store(path / "node.db", migrated_database)
    app = create_app(node_settings(path), node_store, StaticTokenAuthenticator())
    with TestClient(app) as test_client:
        yield test_client
    node_store.dispose()


@pytest.fixture
def node_factory(tmp_path: Path, store: Store) -> Iterator[Callable[..., TestClient]]:
    """Clients for differently configured nodes on the same store."""
    clients: list[TestClient] = []

    def make(*, authenticated: bool = True, **overrides: Any) -> TestClient:
        app = create_app(
            node_settings(tmp_path, **overrides),
            store,
            StaticTokenAuthenticator() if authenticated else None,
        )
        test_client = TestClient(app)
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.close()


# ---------------------------------------------------------------------------- documents
def _in_months(months: int) -> str:
    today = date.today()
    return (today + timedelta(days=30 * months)).isoformat()


VACANCY: dict[str, Any] = {
    "externalReference": "VAC-1",
    "employer": {"name": "Groenbedrijf Utrecht", "kvkNumber": "12345678"},
    "title": "Medewerker groenonderhoud",
    "description": "Onderhoud van parken en plantsoenen.",
    "kind": "regular",
    "occupation": {
        "isco08": "9214",
        "label": "hovenier",
    },
    "skills": [
        {"label": "Snoeien", "importance": "essential"},
        {
            "uri": "http://data.europa.eu/esco/skill/0e2f1a0e-0000-4000-8000-000000000001",
            "label": "Grasmaaien",
            "importance": "optional",
        },
    ],
    "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13", "postcode4": "3511"},
    "hoursPerWeek": {"min": 24, "max": 32},
    "validThrough": "2099-12-31",
    "supportOffered": ["jobcoach"],
    "instruments": ["loonkostensubsidie"],
    "inclusiveRedesign": True,
}

TASK_OFFER: dict[str, Any] = {
    **deepcopy(VACANCY),
    "title": "Buurtklussen",
    "kind": "neighbourhood-task-package",
    "tasks": [{"title": "Bladruimen", "hoursPerWeek": {"min": 4, "max": 8}}],
    "requestedBy": "housing-corporation",
    "nonDisplacement": {
        "additional": True,
        "attestedBy": "werkgever en ondernemingsraad",
        "attestedOn": "2024-01-15",
    },
}

INSTRUMENT: dict[str, Any] = {
    "type": "jobcoach",
    "name": "Jobcoach Utrecht",
    "description": "Begeleiding op de werkplek.",
    "conditions": ["Dienstverband van minstens 12 uur per week"],
    "targetGroups": ["banenafspraak"],
    "appliesIn": ["GM0344"],
    "validFrom": "2024-01-01",
}

CANDIDATE: dict[str, Any] = {
    "externalReference": "KL-001",
    "person": {
        "givenName": "Sanne",
        "familyName": "de Vries",
        "birthDate": "1990-04-12",
        "bsn": "111222333",
        "email": "sanne@example.nl",
    },
    "gemeente": "GM0344",
    "educationLevel": "nlqf-2",
    "desiredOccupations": [{"isco08": "9214"}],
    "skills": [{"label": "Snoeien"}],
    "languages": [{"code": "nl", "level": "B1"}],
    "hoursPerWeek": {"min": 20, "max": 32},
    "availableFrom": "2025-01",
    "travel": {"maxMinutes": "15-30", "modes": ["bicycle"]},
    "wantedKinds": ["regular", "banenafspraak"],
    "supportNeeds": ["jobcoach"],
    "eligibility": [{"type": "banenafspraak"}],
}


def consent_document(**overrides: Any) -> dict[str, Any]:
    """A valid ``ConsentInput`` (valid for six months from today)."""
    document: dict[str, Any] = {
        "purposes": ["matching"],
        "recipients": {"scope": "any-member"},
        "validUntil": _in_months(6),
        "collectionMethod": "with-jobcoach",
        "noticeVersion": "2025-01",
        "evidence": {"kind": "signed-form", "reference": "DOC-1"},
    }
    document.update(overrides)
    return document


@dataclass(frozen=True)
class Documents:
    """Fresh copies of valid input documents, with top-level overrides."""

    def vacancy(self, **overrides: Any) -> dict[str, Any]:
        return {**deepcopy(VACANCY), **overrides}

    def task_offer(self, **overrides: Any) -> dict[str, Any]:
        return {**deepcopy(TASK_OFFER), **overrides}

    def instrument(self, **overrides: Any) -> dict[str, Any]:
        return {**deepcopy(INSTRUMENT), **overrides}

    def candidate(self, **overrides: Any) -> dict[str, Any]:
        return {**deepcopy(CANDIDATE), **overrides}

    def consent(self, **overrides: Any) -> dict[str, Any]:
        return consent_document(**overrides)


@pytest.fixture(scope="session")
def docs() -> Documents:
    return Documents()


@pytest.fixture
def row_counts(store: Store) -> Callable[[], dict[str, int]]:
    """Rows per table, to prove a refused write left nothing behind.

    ``pool_state`` is left out: its one row comes with the schema (migration 0002), not data.
    """

    def count() -> dict[str, int]:
        with store.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in metadata.sorted_tables
                if table.name != "pool_state"
            }

    return count
