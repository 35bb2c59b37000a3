"""``kill -9`` during writes: what the node acknowledged survives, nothing is half-written.

A real node runs as ``openwerk serve`` in a child process on a SQLite file (and, marked
``postgres``, on a PostgreSQL database of its own). A client streams writes; at a seeded
random moment, while a request is in flight, the process is killed with SIGKILL — no
shutdown hook, no flush. The node is restarted on the same database and then:

(a) candidate batches (``createCandidateBatch``, all or nothing, OW-PUB-004): every
    acknowledged batch is there with every record and consent it reported, each batch is
    there whole or not at all (the one in flight included), the events that announce the
    records exist exactly for the records that exist, and the node takes a new batch;
(b) consent withdrawals (OW-CONSENT-005, effective before the response): every
    acknowledged withdrawal reads ``withdrawn`` and its candidate is absent from the
    consumer's search, while candidates whose consent was not touched are still found.

``OPENWERK_DURABILITY_SEED`` picks other kill moments (the seed is in the failure message).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from openwerk.assertions import ClientCredentials
from openwerk.keys import load_private_key
from openwerk.synthetic import Generator
from openwerk_server.demo_servers import unused_port
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_server.sandbox import SandboxFiles, write_sandbox
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import CandidateQuery, ConsentQuery, EventQuery, Store
from openwerk_server.storage.records import StoredCandidate
from postgres_probe import POSTGRES_URL, postgres_unavailable

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("OPENWERK_DURABILITY_SEED", "8"))
OPENWERK = Path(sys.executable).parent / "openwerk"
BATCHES, BATCH_SIZE = 12, 60
POOL, WITHDRAWALS = 40, 28
NODE_ID = "sandbox-node"


# ---------------------------------------------------------------------------- the node
@dataclass
class Node:
    """``openwerk serve`` in a child process that can be killed and started again."""

    sandbox: SandboxFiles
    database: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        command = [
            str(OPENWERK), "serve", "--config", str(self.sandbox.node_config),
            "--database", self.database, "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.sandbox.base_url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the node did not come up within 60 s")
            time.sleep(0.1)

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def headers(self, client_id: str) -> dict[str, str]:
        """A bearer token for ``client_id`` (private_key_jwt); node tokens outlive restarts."""
        if client_id not in self.tokens:
            key = load_private_key(self.sandbox.federation.keys[client_id])
            url = f"{self.sandbox.base_url}/oauth/token"
            credentials = ClientCredentials(client_id, key, url)
            response = httpx.post(url, data=credentials.token_request(), timeout=30)
            response.raise_for_status()
            self.tokens[client_id] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[client_id]}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'durable.db'}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    name = f"ow_durability_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        store = Store.from_url(url)
        store.migrate()  # a PostgreSQL node does not migrate at start
        store.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def node(tmp_path: Path, database: str) -> Iterator[Node]:
    sandbox = write_sandbox(tmp_path / "sandbox", port=unused_port())
    running = Node(sandbox, database, tmp_path / "node.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


# ---------------------------------------------------------------------------- helpers
def _items(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Synthetic candidates with consents, valid today."""
    generator = Generator(SEED, node_id=NODE_ID, arbeidsmarktregio="AM13", today=_today())
    return list(generator.candidate_batch_items(count, start=start))


def _today() -> date:
    """The node's calendar day (consent dates are Europe/Amsterdam dates)."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def _post_while_killing(
    node: Node, http: httpx.Client, path: str, body: dict[str, Any], delay: float
) -> httpx.Response | None:
    """Send one request and SIGKILL the node ``delay`` seconds into it; the response if the
    node answered before it died, else ``None``."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(http.post, path, json=body)
        time.sleep(delay)
        node.kill9()
        try:
            return future.result()
        except httpx.TransportError:
            return None


def _all_candidates(store: Store) -> dict[str, StoredCandidate]:
    """Every stored record by external reference."""
    found: dict[str, StoredCandidate] = {}
    after = None
    while True:
        page = store.list_candidates(CandidateQuery(after=after, limit=1000))
        found.update({c.external_reference or c.id: c for c in page.items})
        if page.next_key is None:
            return found
        after = page.next_key


def _consent_ids(store: Store, candidate_id: str) -> set[str]:
    page = store.list_consents(ConsentQuery(candidate_id=candidate_id, limit=1000))
    return {consent.id for consent in page.items}


def _announced(store: Store) -> set[str]:
    """Internal ids of candidates a ``candidate.updated`` event names."""
    seen: set[str] = set()
    after = 0
    while True:
        page = store.list_events(EventQuery(after_seq=after, limit=1000))
        seen |= {e.resource_id for e in page.items if e.type == "nl.openwerk.candidate.updated"}
        if page.next_key is None:
            return seen
        after = int(page.next_key[0])


# ---------------------------------------------------------------------------- (a) batches
def test_acknowledged_batches_survive_kill_9_and_none_is_partial(node: Node) -> None:
    rng = random.Random(SEED)
    kill_at, delay = rng.randrange(3, BATCHES - 1), rng.uniform(0.0, 0.04)
    context = f"seed {SEED}: kill during batch {kill_at}, {delay * 1000:.0f} ms into it"
    items = _items(BATCHES * BATCH_SIZE)
    batches: list[list[dict[str, Any]]] = []
    for index in range(BATCHES):
        batch = items[index * BATCH_SIZE : (index + 1) * BATCH_SIZE]
        for number, item in enumerate(batch):
            item["candidate"]["externalReference"] = f"DUR-{index:03d}-{number:03d}"
        batches.append(batch)

    acknowledged: dict[int, list[dict[str, Any]]] = {}
    path = "/publication/candidate-batches"
    with httpx.Client(
        base_url=node.sandbox.base_url, headers=node.headers("publisher"), timeout=60
    ) as http:
        for index, batch in enumerate(batches[:kill_at]):
            response = http.post(path, json={"items": batch})
            assert response.status_code == 201, response.text
            acknowledged[index] = response.json()["items"]
        response = _post_while_killing(node, http, path, {"items": batches[kill_at]}, delay)
    if response is not None and response.status_code == 201:
        acknowledged[kill_at] = response.json()["items"]
    print(f"{context}: answered before the kill: {kill_at in acknowledged}")  # pytest -s

    node.start()
    store = Store.from_url(node.database)
    try:
        stored = _all_candidates(store)
        announced = _announced(store)
        for index, batch in enumerate(batches):
            refs = [item["candidate"]["externalReference"] for item in batch]
            present = [ref for ref in refs if ref in stored]
            assert present in ([], refs), f"batch {index} is partial ({context})"
            if index in acknowledged:
                assert present == refs, f"acknowledged batch {index} is missing ({context})"
                for answer in acknowledged[index]:
                    record = stored[answer["externalReference"]]
                    assert record.id == answer["candidateId"], context
                    assert _consent_ids(store, record.id) == set(answer["consentIds"]), context
            for item, ref in zip(batch, refs, strict=True):
                if ref not in stored:
                    continue
                record = stored[ref]
                assert record.gemeente == item["candidate"]["gemeente"], context
                assert len(_consent_ids(store, record.id)) == len(item["consents"]), context
                assert (record.id in announced) == bool(item["consents"]), context
        assert set(stored) <= {
            item["candidate"]["externalReference"] for batch in batches for item in batch
        }
    finally:
        store.dispose()

    # The restarted node serves normally: a new batch goes in and reads back.
    fresh = _items(3, start=BATCHES * BATCH_SIZE)
    for number, item in enumerate(fresh):
        item["candidate"]["externalReference"] = f"DUR-NEW-{number:03d}"
    with httpx.Client(
        base_url=node.sandbox.base_url, headers=node.headers("publisher"), timeout=60
    ) as http:
        response = http.post(path, json={"items": fresh})
        assert response.status_code == 201, response.text
        listed = http.get(
            "/publication/candidates", params={"externalReference": "DUR-NEW-001"}
        ).json()["items"]
        assert [c["id"] for c in listed] == [response.json()["items"][1]["candidateId"]]


# ---------------------------------------------------------------------------- (b) withdrawals
def _one_class_pool(count: int) -> list[dict[str, Any]]:
    """Candidates in one k-anonymity class, each with one consent any member may use, so
    every one of them is a card in the consumer's search until its consent is withdrawn."""
    today = _today()
    pool = _items(count)
    for number, item in enumerate(pool):
        candidate = item["candidate"]
        candidate["externalReference"] = f"WDR-{number:03d}"
        candidate["gemeente"] = pool[0]["candidate"]["gemeente"]
        candidate["educationLevel"] = "unknown"
        candidate["person"]["birthDate"] = "1990-06-15"
        item["consents"] = [
            {
                "purposes": ["matching"],
                "recipients": {"scope": "any-member"},
                "validUntil": (today + timedelta(days=180)).isoformat(),
                "collectionMethod": "self-service",
                "noticeVersion": "2026.2",
            }
        ]
    return pool


def _search_pseudonyms(node: Node, client_id: str) -> set[str]:
    found: set[str] = set()
    url: str | None = "/candidates?limit=100"
    with httpx.Client(
        base_url=node.sandbox.base_url, headers=node.headers(client_id), timeout=60
    ) as http:
        while url:
            response = http.get(url)
            assert response.status_code == 200, response.text
            found |= {card["id"] for card in response.json()["items"]}
            url = response.json()["links"].get("next", {}).get("href")
    return found


def test_acknowledged_withdrawals_survive_kill_9(node: Node) -> None:
    rng = random.Random(SEED)
    kill_at, delay = rng.randrange(4, WITHDRAWALS - 2), rng.uniform(0.0, 0.01)
    context = f"seed {SEED}: kill during withdrawal {kill_at}, {delay * 1000:.1f} ms into it"
    base = node.sandbox.base_url
    with httpx.Client(base_url=base, headers=node.headers("publisher"), timeout=60) as http:
        response = http.post(
            "/publication/candidate-batches", json={"items": _one_class_pool(POOL)}
        )
        assert response.status_code == 201, response.text
        pool = [(e["candidateId"], e["consentIds"][0]) for e in response.json()["items"]]
        secret = NodeSettings.from_file(node.sandbox.node_config).pseudonym_secret
        assert secret is not None
        alias = {
            cid: pseudonym(secret.get_secret_value().encode(), "consumer-a", cid) for cid, _ in pool
        }
        assert _search_pseudonyms(node, "consumer-a") == set(alias.values()), "pool not visible"

        acknowledged: list[str] = []
        for number, (candidate_id, consent_id) in enumerate(pool[:WITHDRAWALS]):
            path = f"/publication/candidates/{candidate_id}/consents/{consent_id}/withdrawal"
            if number == kill_at:
                answer = _post_while_killing(node, http, path, {}, delay)
                if answer is not None and answer.status_code == 200:
                    acknowledged.append(candidate_id)
                break
            answer = http.post(path, json={})
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "withdrawn"
            acknowledged.append(candidate_id)

    print(f"{context}: acknowledged {len(acknowledged)}")  # pytest -s
    node.start()
    in_flight = pool[kill_at][0]
    untouched = {cid for cid, _ in pool[kill_at + 1 :]}
    with httpx.Client(base_url=base, headers=node.headers("publisher"), timeout=60) as http:
        for candidate_id, consent_id in pool:
            consent = http.get(f"/publication/candidates/{candidate_id}/consents/{consent_id}")
            assert consent.status_code == 200, consent.text
            status = consent.json()["status"]
            if candidate_id in acknowledged:
                assert status == "withdrawn", f"acknowledged withdrawal lost ({context})"
            elif candidate_id in untouched:
                assert status == "given", context
            else:
                assert candidate_id == in_flight, context
                assert status in ("given", "withdrawn"), context
    visible = _search_pseudonyms(node, "consumer-a")
    assert not visible & {alias[cid] for cid in acknowledged}, f"withdrawn still found ({context})"
    assert {alias[cid] for cid in untouched} <= visible, f"untouched candidates lost ({context})"
