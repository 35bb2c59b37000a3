"""Webhooks: subscriptions, Standard Webhooks signatures, retries with backoff, failure.

One test delivers to a real HTTP receiver (uvicorn on 127.0.0.1, an ephemeral port) and
checks the signature with its own HMAC; the retry tests use an ``httpx.MockTransport`` and
the store's clock, with a short retry schedule. Deliveries are driven by calling the
worker (``fan_out``, ``deliver_due``) on nodes whose background worker is not started
(``node_factory`` clients do not run the lifespan); one test runs the background worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_server.webhooks import RetryPolicy, WebhookWorker, sign
from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
MEMBER_A = {"Authorization": "Bearer member-a-token"}  # consumer-a, platform
MEMBER_B = {"Authorization": "Bearer member-b-token"}  # consumer-b, werkgever
SECRET_BYTES = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
PSEUDONYM_SECRET = ("test-secret-" + "x" * 32).encode()
Documents = Any  # conftest.Documents
PUBLISHED = "nl.openwerk.vacancy.published"
TOMBSTONE = "nl.openwerk.candidate.tombstone"


# ---------------------------------------------------------------------------- receivers
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A minimal ASGI webhook receiver that records requests and answers ``status``."""

    status: int = 204
    requests: list[Received] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def serving(app: Receiver) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 at an ephemeral port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def mock(calls: list[httpx.Request], answer: Callable[[httpx.Request], httpx.Response]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        calls.append(request)
        return answer(request)

    return httpx.MockTransport(handler)


# ---------------------------------------------------------------------------- helpers
def subscribe(
    client: TestClient,
    url: str = "http://127.0.0.1:9/hook",
    types: list[str] | None = None,
    headers: dict[str, str] = MEMBER_A,
    secret: str = SECRET,
) -> Any:
    return client.post(
        "/v1/subscriptions",
        json={"url": url, "types": types or [PUBLISHED, TOMBSTONE], "secret": secret},
        headers=headers,
    )


def publish(client: TestClient, docs: Documents, **changes: Any) -> str:
    response = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(**changes), headers=PUBLISHER
    )
    assert response.status_code == 201
    return str(response.json()["id"])


def worker(client: TestClient) -> WebhookWorker:
    app: Any = client.app
    found: WebhookWorker = app.state.webhooks
    return found


def deliveries(client: TestClient, subscription_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/v1/subscriptions/{subscription_id}/deliveries", params={"limit": 100}, headers=MEMBER_A
    )
    assert response.status_code == 200, response.text
    assert validation_errors("DeliveryPage", response.json()) == []
    return list(response.json()["items"])


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """An independent Standard Webhooks check (spec/docs/events.md, "Verifying")."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode()
    expected = base64.b64encode(hmac.new(key, signed + b"." + body, hashlib.sha256).digest())
    return any(
        hmac.compare_digest(part.removeprefix("v1,").encode(), expected)
        for part in headers["webhook-signature"].split(" ")
        if part.startswith("v1,")
    )


# ---------------------------------------------------------------------------- signing
def test_signature_matches_the_worked_example() -> None:
    body = (
        b'{"specversion":"1.0","id":"01JD2V8Q4M3T7X9K2B5N6P8R0S","source":'
        b'"https://werk.groningen.example.nl/v1","type":"nl.openwerk.candidate.tombstone",'
        b'"subject":"kX3v9QeR2mTz7LwP0aBcDe","time":"2025-11-22T10:15:00Z",'
        b'"datacontenttype":"application/json","data":{"pseudonym":"kX3v9QeR2mTz7LwP0aBcDe"}}'
    )
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "01JD2V8Q4M3T7X9K2B5N6P8R0S", 1763806500, body
    )
    assert signature == "v1,cOvp0JJiSLJDXv/e+KRCjTBPCjRvHVVO7Nvt9Ql/2Rc="


def test_retry_policy_follows_the_spec_schedule() -> None:
    from datetime import UTC, datetime, timedelta

    policy = RetryPolicy(jitter=0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    delays = [
        (policy.next_attempt(attempt, now) or now) - now
        for attempt in range(1, policy.max_attempts)
    ]
    assert [d.total_seconds() for d in delays] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert policy.max_attempts == 8
    assert policy.next_attempt(8, now) is None
    jittered = RetryPolicy().next_attempt(1, now, rand=lambda: 1.0)
    assert jittered == now + timedelta(seconds=5.5)  # at most 10 %


# ---------------------------------------------------------------------------- subscriptions
def test_subscriptions_are_the_members_own_and_the_secret_is_write_only(
    client: TestClient,
) -> None:
    created = subscribe(client)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert validation_errors("Subscription", subscription) == []
    assert created.headers["Location"] == (
        f"http://testserver/v1/subscriptions/{subscription['id']}"
    )
    assert subscription["status"] == "active"
    sid = subscription["id"]
    for response in (
        created,
        client.get(f"/v1/subscriptions/{sid}", headers=MEMBER_A),
        client.get("/v1/subscriptions", headers=MEMBER_A),
    ):
        assert response.status_code == 200 or response.status_code == 201
        assert SECRET not in response.text
        assert "secret" not in response.json()
    listed = client.get("/v1/subscriptions", headers=MEMBER_A).json()
    assert validation_errors("SubscriptionPage", listed) == []
    assert [s["id"] for s in listed["items"]] == [sid]
    # Another member: not listed, 404 on every path.
    assert client.get("/v1/subscriptions", headers=MEMBER_B).json()["items"] == []
    assert client.get(f"/v1/subscriptions/{sid}", headers=MEMBER_B).status_code == 404
    assert client.get(f"/v1/subscriptions/{sid}/deliveries", headers=MEMBER_B).status_code == 404
    assert client.delete(f"/v1/subscriptions/{sid}", headers=MEMBER_B).status_code == 404
    # The owner deletes it.
    assert client.delete(f"/v1/subscriptions/{sid}", headers=MEMBER_A).status_code == 204
    assert client.get(f"/v1/subscriptions/{sid}", headers=MEMBER_A).status_code == 404


@pytest.mark.parametrize(
    ("url", "secret", "names"),
    [
        ("http://hooks.example.nl/in", SECRET, ["body.url"]),
        ("ftp://hooks.example.nl/in", SECRET, ["body.url"]),
        ("https://user:pw@hooks.example.nl/in", SECRET, ["body.url"]),
        (
            "https://hooks.example.nl/in",
            "whsec_" + base64.b64encode(b"x" * 16).decode(),
            ["body.secret"],
        ),
        ("https://hooks.example.nl/in", "whsec_" + "A" * 33, ["body.secret"]),
        ("https://hooks.example.nl/in", "no-prefix", ["body.secret"]),
    ],
)
def test_bad_subscriptions_are_400(
    client: TestClient, url: str, secret: str, names: list[str]
) -> None:
    response = subscribe(client, url=url, secret=secret)
    assert response.status_code == 400, response.text
    assert [p["name"] for p in response.json()["invalidParams"]] == names


def test_loopback_urls_only_when_configured_for_testing(node_factory: Any) -> None:
    strict = node_factory(webhook_allow_loopback=False)
    for url in ("http://127.0.0.1:8080/hook", "https://localhost/hook", "http://[::1]/hook"):
        assert subscribe(strict, url=url).status_code == 400
    assert subscribe(strict, url="https://hooks.example.nl/in").status_code == 201
    testing = node_factory()  # development: loopback allowed
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook"):
        assert subscribe(testing, url=url).status_code == 201


# ---------------------------------------------------------------------------- delivery
def test_delivery_to_a_real_receiver_is_signed_and_carries_the_feed_event(
    node_factory: Any, docs: Documents
) -> None:
    client = node_factory()
    receiver = Receiver()
    with serving(receiver) as base:
        subscription = subscribe(client, url=f"{base}/hook").json()
        vacancy_id = publish(client, docs)
        run = worker(client)
        assert run.fan_out() == 1
        done = run.deliver_due()
        assert [d.status for d in done] == ["delivered"]
    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    assert received.headers["content-type"] == "application/cloudevents+json"
    assert verify(SECRET, received.headers, received.body)
    assert not verify(
        "whsec_" + base64.b64encode(b"y" * 32).decode(), received.headers, received.body
    )
    event = json.loads(received.body)
    assert validation_errors("CloudEvent", event) == []
    assert received.headers["webhook-id"] == event["id"]
    assert event["type"] == PUBLISHED
    assert event["subject"] == vacancy_id
    # The delivery sends exactly the event the member's feed shows.
    feed = client.get("/v1/events", headers=MEMBER_A).json()["items"]
    assert feed == [event]
    [logged] = deliveries(client, subscription["id"])
    assert logged["status"] == "delivered"
    assert logged["attempts"] == 1
    assert logged["lastResponseStatus"] == 204
    assert logged["eventId"] == event["id"]
    assert logged["eventType"] == PUBLISHED
    assert "nextAttemptAt" not in logged


def test_a_tombstone_arrives_after_a_withdrawal(node_factory: Any, docs: Documents) -> None:
    client = node_factory()
    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, lambda request: httpx.Response(200))
    subscribe(client, types=[TOMBSTONE])
    subscribe(client, types=[TOMBSTONE], headers=MEMBER_B)
    items = [
        {
            "candidate": docs.candidate(externalReference=f"WH-{n}"),
            "consents": [docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})],
        }
        for n in range(5)
    ]
    created = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    ).json()["items"]
    publish(client, docs)  # not subscribed to: no delivery
    entry = created[0]
    withdrawn = client.post(
        f"/v1/publication/candidates/{entry['candidateId']}/consents/"
        f"{entry['consentIds'][0]}/withdrawal",
        headers=PUBLISHER,
    )
    assert withdrawn.status_code == 200
    worker(client).run_once()
    # consumer-a could see the card; consumer-b never could, so gets nothing.
    assert len(calls) == 1
    event = json.loads(calls[0].content)
    alias = pseudonym(PSEUDONYM_SECRET, "consumer-a", entry["candidateId"])
    assert (event["type"], event["subject"], event["data"]) == (
        TOMBSTONE,
        alias,
        {"pseudonym": alias},
    )
    assert verify(SECRET, dict(calls[0].headers), calls[0].content)


def test_a_failing_receiver_is_retried_with_backoff_then_failed(
    node_factory: Any, docs: Documents, clock: Any
) -> None:
    client = node_factory(webhook_retry_delays=[1, 2, 4], webhook_retry_jitter=0)
    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, lambda request: httpx.Response(500))
    sid = subscribe(client, types=[PUBLISHED]).json()["id"]
    publish(client, docs)
    run = worker(client)
    run.fan_out()
    assert [d.status for d in run.deliver_due()] == ["pending"]
    [first] = deliveries(client, sid)
    assert first["attempts"] == 1
    assert first["lastResponseStatus"] == 500
    assert run.deliver_due() == []  # not due yet
    for delay, attempts in ((1, 2), (2, 3)):
        clock.advance(seconds=delay + 0.01)
        assert [d.attempts for d in run.deliver_due()] == [attempts]
        [logged] = deliveries(client, sid)
        assert logged["status"] == "pending"
        assert "nextAttemptAt" in logged
    clock.advance(seconds=3)
    assert run.deliver_due() == []  # 4 s after the third attempt, not 3
    clock.advance(seconds=1.01)
    [last] = run.deliver_due()
    assert (last.status, last.attempts) == ("failed", 4)
    [logged] = deliveries(client, sid)
    assert logged["status"] == "failed"
    assert logged["attempts"] == 4
    assert "nextAttemptAt" not in logged
    assert client.get(f"/v1/subscriptions/{sid}", headers=MEMBER_A).json()["status"] == "failed"
    # The same webhook-id on every attempt, a fresh timestamp and signature each time.
    assert len({c.headers["webhook-id"] for c in calls}) == 1
    assert len({c.headers["webhook-timestamp"] for c in calls}) == 4
    assert all(verify(SECRET, dict(c.headers), c.content) for c in calls)
    # A failed subscription gets nothing more.
    publish(client, docs, title="Later")
    run.fan_out()
    clock.advance(seconds=60)
    assert run.deliver_due() == []
    assert len(calls) == 4


@pytest.mark.parametrize(
    "answer",
    [
        lambda request: httpx.Response(302, headers={"Location": "https://elsewhere.example/"}),
        lambda request: httpx.Response(400),
    ],
)
def test_redirects_and_client_errors_are_failed_attempts(
    node_factory: Any, docs: Documents, answer: Callable[[httpx.Request], httpx.Response]
) -> None:
    client = node_factory()
    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, answer)
    sid = subscribe(client, types=[PUBLISHED]).json()["id"]
    publish(client, docs)
    worker(client).fan_out()
    worker(client).deliver_due()
    [logged] = deliveries(client, sid)
    assert logged["status"] == "pending"
    assert logged["attempts"] == 1
    assert len(calls) == 1  # the redirect was not followed


def test_connection_errors_are_retried_and_410_unsubscribes(
    node_factory: Any, docs: Documents, clock: Any
) -> None:
    client = node_factory(webhook_retry_jitter=0)
    answers = iter(["down", "gone"])

    def answer(request: httpx.Request) -> httpx.Response:
        if next(answers) == "down":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(410)

    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, answer)
    sid = subscribe(client, types=[PUBLISHED]).json()["id"]
    publish(client, docs)
    worker(client).fan_out()
    worker(client).deliver_due()
    [logged] = deliveries(client, sid)
    assert logged["status"] == "pending"
    assert "lastResponseStatus" not in logged
    clock.advance(seconds=5.01)  # the spec's first delay
    worker(client).deliver_due()
    [logged] = deliveries(client, sid)
    assert logged["status"] == "failed"
    assert logged["lastResponseStatus"] == 410
    assert client.get(f"/v1/subscriptions/{sid}", headers=MEMBER_A).json()["status"] == "failed"


def test_deleting_a_subscription_drops_its_pending_deliveries(
    node_factory: Any, docs: Documents
) -> None:
    client = node_factory()
    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, lambda request: httpx.Response(204))
    sid = subscribe(client, types=[PUBLISHED]).json()["id"]
    publish(client, docs)
    worker(client).fan_out()
    assert client.delete(f"/v1/subscriptions/{sid}", headers=MEMBER_A).status_code == 204
    assert worker(client).deliver_due() == []
    assert calls == []


def test_only_events_after_subscribing_are_delivered_once_each(
    node_factory: Any, docs: Documents
) -> None:
    client = node_factory()
    calls: list[httpx.Request] = []
    worker(client).transport = mock(calls, lambda request: httpx.Response(204))
    publish(client, docs, title="Before")
    sid = subscribe(client, types=[PUBLISHED]).json()["id"]
    made = [publish(client, docs, title=f"After {n}") for n in range(3)]
    other = node_factory()  # a second replica on the same database
    assert worker(client).fan_out() + worker(other).fan_out() == 3
    worker(client).deliver_due()
    worker(other).deliver_due()
    assert sorted(json.loads(c.content)["subject"] for c in calls) == sorted(made)
    assert [d["status"] for d in deliveries(client, sid)] == ["delivered"] * 3


def test_the_background_worker_delivers(
    tmp_path: Any, settings: Any, store: Any, docs: Documents
) -> None:
    from openwerk_server.app import create_app

    fast = settings.model_copy(update={"webhook_worker_interval_seconds": 0.05})
    app = create_app(fast, store, _authenticator())
    calls: list[httpx.Request] = []
    app.state.webhooks.transport = mock(calls, lambda request: httpx.Response(204))
    with TestClient(app) as client:
        subscribe(client, types=[PUBLISHED])
        vacancy_id = publish(client, docs)
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [json.loads(c.content)["subject"] for c in calls] == [vacancy_id]


def _authenticator() -> Any:
    from openwerk_server.security import InvalidToken, Principal

    tokens = {
        "publisher-token": Principal(
            "test-publisher", "gemeente", frozenset({"publication:write"})
        ),
        "member-a-token": Principal("consumer-a", "platform", frozenset({"events:read"})),
    }

    class Tokens:
        def authenticate(self, token: str) -> Principal:
            if token not in tokens:
                raise InvalidToken("unknown")
            return tokens[token]

    return Tokens()


def test_a_hanging_receiver_does_not_hold_back_other_subscribers(
    tmp_path: Any, settings: Any, store: Any, docs: Documents
) -> None:
    """Head-of-line blocking: B's delivery goes out while A's receiver still hangs."""
    from openwerk_server.app import create_app

    fast = settings.model_copy(update={"webhook_worker_interval_seconds": 0.05})
    app = create_app(fast, store, _authenticator())
    b_arrived = threading.Event()
    a_saw_b: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.host == "a.example":
            # Hang until B's delivery arrives (or give up after 10 s, as a timeout would).
            a_saw_b.append(b_arrived.wait(timeout=10))
        else:
            b_arrived.set()
        return httpx.Response(204)

    app.state.webhooks.transport = httpx.MockTransport(answer)
    with TestClient(app) as client:
        assert subscribe(client, url="https://a.example/hook", types=[PUBLISHED]).status_code == 201
        publish(client, docs)
        deadline = time.monotonic() + 10
        while not app.state.webhooks._in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        # A's delivery is in flight and hanging; now B subscribes and an event follows.
        assert subscribe(client, url="https://b.example/hook", types=[PUBLISHED]).status_code == 201
        publish(client, docs)
        assert b_arrived.wait(timeout=10)
    assert a_saw_b
    assert all(a_saw_b)  # every hanging delivery to A saw B's arrive meanwhile
