"""The webhook worker's idle tick builds no HTTP client (the throughput fix of issue 8).

The worker ticks every 0.5 s in every node process. An ``httpx.Client`` builds a TLS context
(milliseconds of CPU) when it is made, so a tick with nothing due must not make one; a tick
with a delivery due still delivers it through one client.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openwerk_server import webhooks
from openwerk_server.webhooks import WebhookWorker

MEMBER_A = {"Authorization": "Bearer member-a-token"}
PUBLISHER = {"Authorization": "Bearer publisher-token"}
SECRET = "whsec_" + "A" * 43 + "="


def _worker(client: Any) -> WebhookWorker:
    found: WebhookWorker = client.app.state.webhooks
    return found


@pytest.fixture
def clients_made(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Client]:
    """Every ``httpx.Client`` the webhook module makes."""
    made: list[httpx.Client] = []
    real = httpx.Client

    def counting(*args: Any, **kwargs: Any) -> httpx.Client:
        client = real(*args, **kwargs)
        made.append(client)
        return client

    monkeypatch.setattr(webhooks.httpx, "Client", counting)
    return made


def test_an_idle_tick_builds_no_http_client(
    node_factory: Any, clients_made: list[httpx.Client]
) -> None:
    worker = _worker(node_factory())
    assert worker.run_once() == []
    assert worker.deliver_due() == []
    assert clients_made == []


def test_a_due_delivery_is_still_sent_through_one_client(
    node_factory: Any, docs: Any, clients_made: list[httpx.Client]
) -> None:
    client = node_factory()
    sent: list[httpx.Request] = []
    worker = _worker(client)
    worker.transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(204))
    subscription = client.post(
        "/v1/subscriptions",
        json={
            "url": "http://127.0.0.1:9/hook",
            "types": ["nl.openwerk.vacancy.published"],
            "secret": SECRET,
        },
        headers=MEMBER_A,
    )
    assert subscription.status_code == 201, subscription.text
    published = client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
    assert published.status_code == 201, published.text
    worker.fan_out()
    assert [d.status for d in worker.deliver_due()] == ["delivered"]
    assert len(sent) == 1
    assert len(clients_made) == 1
