"""The L3 and events flow end to end on both backends: SQLite and PostgreSQL.

One scenario through the HTTP API — match, introduce, decide, reveal, record an outcome,
withdraw, read the feed, deliver a webhook, expire — on a node whose store is a SQLite file
or a PostgreSQL schema of its own (``OPENWERK_TEST_POSTGRES_URL``; the PostgreSQL case is
marked ``postgres`` and skips with the reason when the server cannot be reached).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from openwerk_server.app import create_app
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from postgres_probe import POSTGRES_URL, postgres_unavailable

PUBLISHER = {"Authorization": "Bearer publisher-token"}
MEMBER_A = {"Authorization": "Bearer member-a-token"}
Documents = Any  # conftest.Documents
SECRET = "whsec_" + "QUJD" * 8  # 24 bytes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_store(request: pytest.FixtureRequest, tmp_path: Path, clock: Any) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite_store = Store.from_url(f"sqlite:///{tmp_path / 'flow.db'}", clock=clock)
        sqlite_store.migrate()
        yield sqlite_store
        sqlite_store.dispose()
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    schema = f"ow_flow_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg_store = Store.from_url(
        POSTGRES_URL, clock=clock, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        pg_store.migrate()
        yield pg_store
    finally:
        pg_store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def flow_client(app: FastAPI, settings: NodeSettings, backend_store: Store) -> Iterator[TestClient]:
    # The conftest app only lends its test authenticator; this node runs on the backend store.
    node = create_app(
        settings.model_copy(update={"webhook_worker": False}),
        backend_store,
        type(app.state.authenticator)(),
    )
    with TestClient(node) as client:
        yield client


def test_the_whole_flow(flow_client: TestClient, docs: Documents, clock: Any) -> None:
    client = flow_client
    node: Any = client.app
    calls: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        request.read()
        calls.append(request)
        return httpx.Response(204)

    node.state.webhooks.transport = httpx.MockTransport(receive)
    subscription = client.post(
        "/v1/subscriptions",
        json={
            "url": "http://127.0.0.1:9/hook",
            "types": ["nl.openwerk.candidate.tombstone", "nl.openwerk.introduction.updated"],
            "secret": SECRET,
        },
        headers=MEMBER_A,
    )
    assert subscription.status_code == 201, subscription.text

    items = [
        {
            "candidate": docs.candidate(externalReference=f"F-{n}"),
            "consents": [docs.consent(purposes=["matching", "statistics"])],
        }
        for n in range(12)
    ]
    created = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    ).json()["items"]
    vacancy_id = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER
    ).json()["id"]
    ranked = client.post(
        "/v1/matches",
        json={"opportunity": {"ref": {"type": "vacancy", "id": vacancy_id}}, "limit": 100},
        headers=MEMBER_A,
    )
    assert ranked.status_code == 200, ranked.text
    aliases = [item["candidate"]["id"] for item in ranked.json()["items"]]
    assert len(aliases) == 12

    def introduce(alias: str) -> str:
        response = client.post(
            "/v1/introductions",
            json={
                "opportunity": {"type": "vacancy", "id": vacancy_id},
                "candidate": alias,
                "requesterRole": "employer",
                "contactPerson": {"name": "J. de Vries"},
                "message": "Welkom!",
            },
            headers=MEMBER_A,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    accepted = [introduce(alias) for alias in aliases[:11]]
    for intro in accepted:
        decided = client.post(
            f"/v1/publication/introductions/{intro}/decision",
            json={
                "decision": "accepted",
                "contact": {"channel": "phone", "value": "+31 30 123 4567"},
                "consent": {"collectionMethod": "self-service", "noticeVersion": "v1"},
            },
            headers=PUBLISHER,
        )
        assert decided.status_code == 200, decided.text
        assert (
            client.post(
                f"/v1/publication/introductions/{intro}/outcomes",
                json={"outcome": "no-placement", "checkpoint": "start"},
                headers=PUBLISHER,
            ).status_code
            == 201
        )
    assert (
        client.post(
            f"/v1/publication/introductions/{accepted[0]}/outcomes",
            json={"outcome": "no-placement", "checkpoint": "start"},
            headers=PUBLISHER,
        ).status_code
        == 409
    )
    revealed = client.get(f"/v1/introductions/{accepted[0]}", headers=MEMBER_A).json()
    assert revealed["identity"]["familyName"] == "de Vries"
    stats = client.get("/v1/statistics/placements", headers=MEMBER_A).json()
    assert stats["total"] == {"values": {}, "count": 10, "suppressed": False}

    pending = introduce(aliases[11])
    last = next(
        e
        for e in created
        if client.get(f"/v1/publication/introductions/{pending}", headers=PUBLISHER).json()[
            "candidateId"
        ]
        == e["candidateId"]
    )
    withdrawn = client.post(
        f"/v1/publication/candidates/{last['candidateId']}/consents/"
        f"{last['consentIds'][0]}/withdrawal",
        headers=PUBLISHER,
    )
    assert withdrawn.status_code == 200
    assert client.get(f"/v1/introductions/{pending}", headers=MEMBER_A).json()["status"] == (
        "cancelled"
    )
    feed = client.get("/v1/events", params={"limit": 100}, headers=MEMBER_A).json()["items"]
    assert [e["type"] for e in feed].count("nl.openwerk.candidate.tombstone") == 1
    assert [
        e["data"].get("status") for e in feed if e["type"].endswith("introduction.updated")
    ] == (["accepted"] * 11 + ["cancelled"])

    worker = node.state.webhooks
    assert worker.fan_out() == 13  # 11 acceptances, 1 cancellation, 1 tombstone
    delivered = worker.deliver_due()
    assert sorted(d.status for d in delivered) == ["delivered"] * 13
    assert sorted(json.loads(c.content)["id"] for c in calls) == sorted(
        e["id"]
        for e in feed
        if e["type"] in ("nl.openwerk.candidate.tombstone", "nl.openwerk.introduction.updated")
    )

    # Expiry on this backend: a fresh request, two weeks later.
    late = introduce(aliases[1])
    clock.advance(days=15)
    assert client.get(f"/v1/introductions/{late}", headers=MEMBER_A).json()["status"] == "expired"
    expired = client.get(
        "/v1/introductions", params={"status": "expired"}, headers=MEMBER_A
    ).json()["items"]
    assert [i["id"] for i in expired] == [late]
