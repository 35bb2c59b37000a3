"""``FederatedClient``: fan-out under one deadline, per-node status, merge order, cursors.

Every node is an in-memory fake behind its own ``httpx.MockTransport`` (no network). Each
fake checks client assertions the way a node must (signature with the member's key,
``iss`` = ``sub`` = client id, ``aud`` = its own token endpoint) and only accepts the access
tokens it issued itself, so a call that reaches a node with the wrong assertion or another
node's token fails visibly.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey

from openwerk import (
    CandidateProfile,
    ConformanceClass,
    FederatedClient,
    FederatedMatchCard,
    FederatedMatchResult,
    FederatedPage,
    MatchCard,
    NodeStatus,
    OpportunityReference,
    SyncFederatedClient,
    TransportError,
)
from openwerk._federation_merge import MatchMerge, merge_match_cards, merge_streams
from openwerk.directory import Directory, DirectoryCache, sign_directory, verify_directory
from openwerk.keys import generate_signing_key, jwks, public_jwk
from openwerk_spec.score import merge_key

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "platform-x"
CLIENT_KEY = generate_signing_key()
OPERATOR_KEY = generate_signing_key()
ALL_CLASSES = frozenset(ConformanceClass)
CRITERIA = {
    "occupation": {"isco08": "9112"},
    "hoursPerWeek": {"min": 16, "max": 24},
    "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
}
COMPONENTS = dict.fromkeys(
    ("occupation", "skills", "hours", "location", "availability", "support"), 0.5
)
PROPERTY = settings(max_examples=300, deadline=None, database=None)


# --------------------------------------------------------------------------- fake nodes


def pseudonym(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:22]


def card(pseudonym_: str, node: str) -> dict[str, Any]:
    return {
        "id": pseudonym_,
        "node": node,
        "location": {"arbeidsmarktregio": "AM13"},
        "hoursPerWeek": {"min": 16, "max": 24},
    }


def vacancy(vacancy_id: str, node: str, created: str) -> dict[str, Any]:
    return {
        "id": vacancy_id,
        "publisher": node,
        "employer": {"name": "Bakkerij"},
        "title": "Bakker",
        "kind": "regular",
        "occupation": {"isco08": "7512"},
        "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
        "hoursPerWeek": {"min": 16, "max": 32},
        "createdAt": created,
    }


def problem(status: int, code: str) -> httpx.Response:
    body: dict[str, Any] = {"type": f"https://w3id.org/openwerk/v1/problems/{code}"}
    body |= {"title": code, "status": status, "code": code}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


class FakeNode:
    """One provider node. ``behaviour`` makes it fail in one of the ways a node fails."""

    def __init__(
        self,
        node_id: str,
        *,
        behaviour: str = "ok",
        scores: Sequence[tuple[str, float]] = (),
        candidates: Sequence[str] = (),
        vacancies: Sequence[dict[str, Any]] = (),
        classes: frozenset[ConformanceClass] = ALL_CLASSES,
        regions: Sequence[str] = ("AM13",),
        score_version: str = "score-v1",
    ) -> None:
        self.id = node_id
        self.base_url = f"https://{node_id}.example.nl/v1"
        self.token_url = self.base_url + "/oauth/token"
        self.behaviour = behaviour
        self.scores = list(scores)
        self.candidates = sorted(candidates)
        self.vacancies = list(vacancies)
        self.classes = classes
        self.regions = list(regions)
        self.score_version = score_version
        self.client_key = ECKey.import_key(public_jwk(CLIENT_KEY))
        self.assertions: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.active = 0
        self.peers: list[FakeNode] = [self]
        self.concurrency: list[int] = []  # how many of its peers were busy at each request

    def member(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": f"Node {self.id}",
            "organisationType": "gemeente",
            "baseUrl": self.base_url,
            "roles": ["provider"],
            "regions": self.regions,
            "jwks": jwks([generate_signing_key()]),
        }

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path.removeprefix('/v1')}" for r in self.requests]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.active += 1
        self.concurrency.append(sum(peer.active for peer in self.peers))
        try:
            return await self._handle(request)
        finally:
            self.active -= 1

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        behaviour = self.behaviour
        if behaviour == "sleep":
            await asyncio.sleep(30)
        if behaviour == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if behaviour == "busy":
            await asyncio.sleep(0.05)
        if path == "/oauth/token":
            return self._token(request)
        if path == "/conformance":
            return httpx.Response(200, json={"conformsTo": sorted(c.uri for c in self.classes)})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens or behaviour == "401":
            return problem(401, "invalid-token")
        if behaviour in ("403", "500", "400"):
            return problem(int(behaviour), "insufficient-scope" if behaviour == "403" else "oops")
        if behaviour == "garbage":
            return httpx.Response(200, content=b"<html>proxy</html>")
        if path == "/matches":
            return self._match(json.loads(request.content))
        if path == "/candidates":
            return self._candidates(request)
        if path == "/vacancies":
            return self._vacancies(request)
        if path == "/introductions" and request.method == "POST":
            body = json.loads(request.content)
            return httpx.Response(
                201, json={"id": "i1", "status": "pending", "candidate": body["candidate"]}
            )
        return problem(404, "not-found")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if self.behaviour == "token-refused":  # shaped like the reference node's answer
            body = {"title": "Client authentication failed", "status": 401}
            return httpx.Response(401, json=body | {"error": "invalid_client"})
        if self.behaviour == "token-500":
            return httpx.Response(500, text="upstream down")
        if self.behaviour == "token-garbage":
            return httpx.Response(200, json={"token": "?"})
        decoded = jwt.decode(form["client_assertion"], self.client_key, algorithms=["ES256"])
        claims = dict(decoded.claims)
        self.assertions.append(claims)
        if claims["aud"] != self.token_url or claims["iss"] != claims["sub"]:
            return httpx.Response(400, json={"error": "invalid_client"})
        token = f"{self.id}-token-{len(self.tokens)}"
        self.tokens.add(token)
        return httpx.Response(
            200, json={"access_token": token, "token_type": "Bearer", "expires_in": 600}
        )

    def _match(self, body: dict[str, Any]) -> httpx.Response:
        limit = body.get("limit", 20)
        ranked = sorted(self.scores, key=lambda s: (-s[1], s[0]))[:limit]
        items = [
            {"candidate": card(p, self.id), "score": s, "components": COMPONENTS} for p, s in ranked
        ]
        if self.behaviour == "bad-card":  # a valid page but for its last card
            items.append({"candidate": card("B" * 22, self.id), "score": "high"})
        answer = {
            "scoreVersion": self.score_version,
            "node": self.id,
            "opportunity": body["opportunity"].get("inline", CRITERIA),
            "items": items,
        }
        return httpx.Response(200, json=answer)

    def _candidates(self, request: httpx.Request) -> httpx.Response:
        # Keyset paging as the spec recommends: the cursor is the last pseudonym served.
        after = request.url.params.get("cursor", "")
        limit = int(request.url.params.get("limit", "20"))
        rest = [p for p in self.candidates if p > after]
        page = rest[:limit]
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        if len(rest) > limit:
            links["next"] = {"href": f"?limit={limit}&cursor={page[-1]}"}
        items = [card(p, self.id) for p in page]
        return httpx.Response(200, json={"items": items, "links": links})

    def _vacancies(self, request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0"))
        limit = int(request.url.params.get("limit", "20"))
        ordered = sorted(self.vacancies, key=lambda v: (v["createdAt"], v["id"]), reverse=True)
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        if start + limit < len(ordered):
            links["next"] = {
                "href": f"{self.base_url}/vacancies?limit={limit}&cursor={start + limit}"
            }
        items = ordered[start : start + limit]
        return httpx.Response(200, json={"items": items, "links": links})


def directory_for(*nodes: FakeNode) -> Directory:
    now = int(time.time())
    members = [node.member() for node in nodes]
    members.append(
        {
            "id": CLIENT_ID,
            "name": "Platform X",
            "organisationType": "platform",
            "roles": ["consumer"],
            "jwks": jwks([CLIENT_KEY]),
        }
    )
    payload = {"iss": "werkbedrijf-test", "iat": now, "exp": now + 3600, "members": members}
    return verify_directory(sign_directory(payload, OPERATOR_KEY), public_jwk(OPERATOR_KEY))


def federation(*nodes: FakeNode, **options: Any) -> FederatedClient:
    by_id = {node.id: node for node in nodes}
    return FederatedClient(
        directory_for(*nodes),
        client_id=CLIENT_ID,
        private_key=CLIENT_KEY,
        transport_factory=lambda member: httpx.MockTransport(by_id[member.id]),
        **options,
    )


def run(fed: FederatedClient, call: Callable[[FederatedClient], Any]) -> Any:
    async def go() -> Any:
        async with fed:
            return await call(fed)

    return asyncio.run(go())


def statuses(nodes: Sequence[NodeStatus]) -> dict[str, str]:
    return {n.node: n.status for n in nodes}


def three_healthy_nodes() -> list[FakeNode]:
    """The spec's ``three-nodes`` merge example (spec/v1/score-v1-examples.json)."""
    examples = json.loads((REPO / "spec" / "v1" / "score-v1-examples.json").read_text())
    example = next(e for e in examples["mergeExamples"] if e["name"] == "three-nodes")
    scores: dict[str, list[tuple[str, float]]] = {}
    for item in example["items"]:
        scores.setdefault(item["node"], []).append((item["candidate"], item["score"]))
    return [FakeNode(node, scores=s) for node, s in sorted(scores.items())]


def expected_three_nodes() -> list[list[str]]:
    examples = json.loads((REPO / "spec" / "v1" / "score-v1-examples.json").read_text())
    example = next(e for e in examples["mergeExamples"] if e["name"] == "three-nodes")
    order: list[list[str]] = example["expectedOrder"]
    return order


# --------------------------------------------------------------------------- match merge


def test_three_healthy_nodes_merge_by_score_then_node_then_pseudonym() -> None:
    nodes = three_healthy_nodes()
    result = run(federation(*nodes), lambda f: f.match(opportunity=CRITERIA, limit=10))
    assert [[c.node, c.pseudonym] for c in result.items] == expected_three_nodes()
    assert all(isinstance(c, FederatedMatchCard) for c in result.items)
    assert all(c.node == c.candidate.node for c in result.items)
    assert result.partial is False
    assert [(n.node, n.status, n.item_count) for n in result.nodes] == [
        ("sw-bedrijf-amersfoort", "ok", 2),
        ("werkbedrijf-utrecht", "ok", 2),
        ("werkpunt-groningen", "ok", 2),
    ]
    assert all(n.duration_ms is not None and n.duration_ms >= 0 for n in result.nodes)
    assert result.score_version == "score-v1"
    assert result.opportunity is not None
    assert result.opportunity.occupation.isco08 == "9112"


def test_match_asks_every_node_for_limit_and_cuts_the_merge_to_limit() -> None:
    nodes = three_healthy_nodes()
    result = run(federation(*nodes), lambda f: f.match(opportunity=CRITERIA, limit=4))
    assert [[c.node, c.pseudonym] for c in result.items] == expected_three_nodes()[:4]
    for node in nodes:
        (match_request,) = [r for r in node.requests if r.url.path.endswith("/matches")]
        assert json.loads(match_request.content)["limit"] == 4
    as_json = result.to_json_dict()
    assert as_json["nodes"][0].keys() >= {"node", "status", "itemCount", "durationMs"}


def test_a_reference_without_its_node_is_refused_before_any_request() -> None:
    nodes = three_healthy_nodes()
    with pytest.raises(ValueError, match="needs the node that published"):
        run(federation(*nodes), lambda f: f.match(opportunity=OpportunityReference.vacancy("v1")))
    assert all(not node.requests for node in nodes)
    ref = OpportunityReference.vacancy("v1", node="werkpunt-groningen")
    result = run(federation(*nodes), lambda f: f.match(opportunity=ref))
    assert len(result.items) == 6


def test_a_node_scoring_with_another_version_is_an_error_not_merged() -> None:
    nodes = three_healthy_nodes()
    nodes[0].score_version = "score-v2"
    result = run(federation(*nodes), lambda f: f.match(opportunity=CRITERIA))
    assert statuses(result.nodes)["sw-bedrijf-amersfoort"] == "error"
    assert "score-v2" in (result.node_status("sw-bedrijf-amersfoort").detail or "")
    assert {c.node for c in result.items} == {"werkbedrijf-utrecht", "werkpunt-groningen"}
    assert result.partial is True


# --------------------------------------------------------------------------- the deadline


def test_a_node_past_the_deadline_times_out_and_the_call_returns_on_time() -> None:
    nodes = three_healthy_nodes()
    slow = FakeNode("node-slow", behaviour="sleep", scores=[("Sl0wSl0wSl0wSl0wSl0wSl", 1.0)])
    fed = federation(*nodes, slow, deadline=0.5)

    async def timed(f: FederatedClient) -> tuple[Any, float]:
        start = time.monotonic()
        result = await f.match(opportunity=CRITERIA)
        return result, time.monotonic() - start

    result, elapsed = run(fed, timed)
    assert 0.5 <= elapsed < 0.5 * 1.1, f"took {elapsed:.3f} s for a 0.5 s deadline"
    assert statuses(result.nodes) == {
        "node-slow": "timeout",
        "sw-bedrijf-amersfoort": "ok",
        "werkbedrijf-utrecht": "ok",
        "werkpunt-groningen": "ok",
    }
    assert result.partial is True
    timed_out = result.node_status("node-slow")
    assert timed_out is not None
    assert timed_out.item_count == 0
    assert timed_out.duration_ms is not None
    assert 500 <= timed_out.duration_ms < 550
    assert "deadline" in (timed_out.detail or "")
    assert [[c.node, c.pseudonym] for c in result.items] == expected_three_nodes()
    assert [m.status for m in result.missing] == ["timeout"]


def test_one_deadline_covers_token_requests_and_paging_too() -> None:
    slow_pages = FakeNode(
        "node-busy", behaviour="busy", candidates=[pseudonym(f"b{i}") for i in range(50)]
    )
    fed = federation(slow_pages, deadline=0.3)

    async def timed(f: FederatedClient) -> tuple[Any, float]:
        start = time.monotonic()
        page = await f.search_candidates(limit=50, limit_per_node=1)  # 1 token + 50 pages
        return page, time.monotonic() - start

    page, elapsed = run(fed, timed)
    assert elapsed < 0.3 * 1.1
    assert statuses(page.nodes) == {"node-busy": "timeout"}
    assert page.items == []
    assert page.next_cursor is None


def test_progress_hook_sees_every_node_once_as_it_finishes() -> None:
    nodes = three_healthy_nodes()
    slow = FakeNode("node-slow", behaviour="sleep")
    seen: list[NodeStatus] = []
    fed = federation(*nodes, slow, deadline=0.3, on_node_done=seen.append)
    result = run(fed, lambda f: f.match(opportunity=CRITERIA))
    assert sorted(s.node for s in seen) == sorted(n.node for n in result.nodes)
    assert seen[-1].node == "node-slow"
    assert seen[-1].status == "timeout"
    per_call: list[NodeStatus] = []
    run(
        federation(*nodes),
        lambda f: f.match(opportunity=CRITERIA, on_node_done=per_call.append),
    )
    assert len(per_call) == 3


def test_max_concurrency_limits_parallel_nodes_and_queued_nodes_time_out() -> None:
    nodes = [
        FakeNode(f"node-{i}", behaviour="busy", scores=[(f"p{i}" * 11, 0.5)]) for i in range(4)
    ]
    for node in nodes:
        node.peers = nodes
    fed = federation(*nodes, max_concurrency=1, deadline=0.25)
    result = run(fed, lambda f: f.match(opportunity=CRITERIA))
    assert max(c for node in nodes for c in node.concurrency) == 1
    # each node needs a token and a match (≈0.1 s): two finish, the rest never start
    timed_out = [n for n in result.nodes if n.status == "timeout"]
    assert timed_out
    assert all("not started" in (n.detail or "") for n in timed_out[1:])


class SlowLoopbackNode:
    """A provider on a real loopback socket that answers a match only after ``delay`` s.

    ``httpx.MockTransport`` ignores timeouts; httpcore's network transport enforces them,
    so the timeout a fan-out hands httpx is only seen over a socket. Raw HTTP/1.1 with
    keep-alive: a token at once, a one-card match page late. ``connections`` counts the TCP
    connections the client opened.
    """

    def __init__(self, node: FakeNode, delay: float) -> None:
        self.node = node
        self.delay = delay
        self.connections = 0
        self.server: asyncio.Server | None = None
        self._closing = asyncio.Event()
        self._handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> SlowLoopbackNode:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.node.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self._closing.set()  # a handler still delaying answers now, to a closed connection
        await asyncio.gather(*self._handlers)

    async def _delay(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.delay)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                length = next(
                    (int(v) for k, _, v in (h.partition(":") for h in head[1:])
                     if k.lower() == "content-length"),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                if head[0].split(" ")[1].endswith("/oauth/token"):
                    body: dict[str, Any] = {
                        "access_token": "t", "token_type": "Bearer", "expires_in": 600
                    }  # fmt: skip
                else:
                    await self._delay()
                    body = {
                        "scoreVersion": "score-v1",
                        "opportunity": CRITERIA,
                        "items": [
                            {"candidate": card("S" * 22, self.node.id), "score": 0.5,
                             "components": COMPONENTS}
                        ],
                    }  # fmt: skip
                content = json.dumps(body).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(content), content)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_the_deadline_not_the_client_timeout_bounds_each_node_call() -> None:
    """A node slower than ``timeout`` (single-node calls) but within the deadline is ``ok``.

    Before, each node's httpx client kept ``timeout`` for fan-out calls too, so under a
    deadline longer than it (10 s by default) a slow node was cut at ``timeout``.
    """
    node = FakeNode("node-slow")

    async def go() -> tuple[FederatedMatchResult, FederatedMatchResult, float, int]:
        async with SlowLoopbackNode(node, delay=0.4) as server:
            fed = FederatedClient(
                directory_for(node),
                client_id=CLIENT_ID,
                private_key=CLIENT_KEY,
                deadline=0.8,
                timeout=0.2,
            )
            async with fed:
                start = time.monotonic()
                first = await fed.match(opportunity=CRITERIA)
                elapsed = time.monotonic() - start
                second = await fed.match(opportunity=CRITERIA)
                # A single-node call keeps ``timeout``: the fan-out's setting did not leak.
                single = await fed.node(node.id)
                with pytest.raises(TransportError, match="timed out"):
                    await single.match(opportunity=CRITERIA)
            return first, second, elapsed, server.connections

    first, second, elapsed, connections = asyncio.run(go())
    for result in (first, second):
        assert statuses(result.nodes) == {"node-slow": "ok"}, result.nodes
        assert [c.pseudonym for c in result.items] == ["S" * 22]
    assert 0.4 <= elapsed < 0.8
    # Both fan-outs (and the single call) over one kept-alive connection.
    assert connections == 1


# --------------------------------------------------------------------------- node statuses


@pytest.mark.parametrize(
    ("behaviour", "status", "detail"),
    [
        ("connect", "error", "connection refused"),
        ("500", "error", "500"),
        ("400", "error", "400"),
        ("garbage", "error", "not JSON"),
        ("bad-card", "error", "does not match the Open Werk spec"),
        ("403", "refused", "403 insufficient-scope"),
        ("401", "refused", "401 invalid-token"),
        ("token-refused", "refused", "no token: 401 invalid_client"),
        ("token-500", "error", "no token: 500"),
        ("token-garbage", "error", "without a usable bearer token"),
    ],
)
def test_each_failure_gets_its_status_and_the_rest_still_answer(
    behaviour: str, status: str, detail: str
) -> None:
    nodes = three_healthy_nodes()
    broken = FakeNode("node-broken", behaviour=behaviour, scores=[("Br0kenBr0kenBr0kenBr0k", 1.0)])
    result = run(federation(*nodes, broken), lambda f: f.match(opportunity=CRITERIA))
    broken_status = result.node_status("node-broken")
    assert broken_status is not None
    assert broken_status.status == status
    assert detail in (broken_status.detail or "")
    assert len(broken_status.detail or "") <= 200
    assert broken_status.item_count == 0
    assert result.partial is True
    assert [[c.node, c.pseudonym] for c in result.items] == expected_three_nodes()


def test_no_providers_selected_is_a_value_error_and_filters_pick_ids_or_regions() -> None:
    a = FakeNode("node-a", scores=[("a" * 22, 0.5)], regions=["AM01"])
    b = FakeNode("node-b", scores=[("b" * 22, 0.5)], regions=["AM13"])
    c = FakeNode("node-c", scores=[("c" * 22, 0.5)], regions=["AM13", "AM14"])
    by_region = run(federation(a, b, c, providers="AM13"), lambda f: f.match(opportunity=CRITERIA))
    assert [n.node for n in by_region.nodes] == ["node-b", "node-c"]
    mixed = run(
        federation(a, b, c),
        lambda f: f.match(opportunity=CRITERIA, providers=["node-a", "AM14"]),
    )
    assert [n.node for n in mixed.nodes] == ["node-a", "node-c"]
    with pytest.raises(ValueError, match="no provider"):
        run(federation(a, b, c), lambda f: f.match(opportunity=CRITERIA, providers=["AM99"]))


def test_only_declared_leaves_out_nodes_without_the_class() -> None:
    nodes = three_healthy_nodes()
    nodes[0].classes = frozenset({ConformanceClass.CORE, ConformanceClass.OPPORTUNITIES})
    result = run(federation(*nodes, only_declared=True), lambda f: f.match(opportunity=CRITERIA))
    assert [n.node for n in result.nodes] == ["werkbedrijf-utrecht", "werkpunt-groningen"]
    assert result.partial is False
    assert "POST /matches" not in nodes[0].paths()


# --------------------------------------------------------------------------- tokens


def test_every_node_gets_its_own_assertion_and_token() -> None:
    nodes = three_healthy_nodes()

    async def twice(f: FederatedClient) -> Any:
        await f.match(opportunity=CRITERIA)
        return await f.match(opportunity=CRITERIA)

    result = run(federation(*nodes), twice)
    assert {n.status for n in result.nodes} == {"ok"}
    jtis = set()
    for node in nodes:
        (claims,) = node.assertions  # one assertion per node; the token is reused
        assert claims["aud"] == node.token_url
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert 0 < claims["exp"] - claims["iat"] <= 300
        jtis.add(claims["jti"])
        for request in node.requests:
            if request.url.path.endswith("/matches"):
                bearer = request.headers["Authorization"].removeprefix("Bearer ")
                assert bearer in node.tokens  # its own token, not another node's
    assert len(jtis) == len(nodes)


def test_credentials_give_the_identity_and_their_endpoint_is_replaced_per_node() -> None:
    from openwerk import ClientCredentials

    nodes = three_healthy_nodes()
    by_id = {n.id: n for n in nodes}
    credentials = ClientCredentials(CLIENT_ID, CLIENT_KEY, "https://unused.example/oauth/token")
    fed = FederatedClient(
        directory_for(*nodes),
        credentials=credentials,
        transport_factory=lambda m: httpx.MockTransport(by_id[m.id]),
    )
    assert fed.client_id == CLIENT_ID
    result = run(fed, lambda f: f.match(opportunity=CRITERIA))
    assert {n.status for n in result.nodes} == {"ok"}
    assert [n.assertions[0]["aud"] for n in nodes] == [n.token_url for n in nodes]
    with pytest.raises(TypeError):
        FederatedClient(directory_for(*nodes), credentials=credentials, client_id=CLIENT_ID)
    with pytest.raises(TypeError):
        FederatedClient(directory_for(*nodes), client_id=CLIENT_ID)
    with pytest.raises(ValueError, match="deadline"):
        FederatedClient(directory_for(*nodes), deadline=0)


# --------------------------------------------------------------------------- lists and cursors


def walk(fed: FederatedClient, method: str, **first: Any) -> list[FederatedPage[Any]]:
    """Every page of a federated list, following ``next_cursor`` to the end."""

    async def go(f: FederatedClient) -> list[FederatedPage[Any]]:
        ask = getattr(f, method)
        pages = [await ask(**first)]
        while pages[-1].next_cursor is not None:
            pages.append(await ask(cursor=pages[-1].next_cursor))
        return pages

    pages: list[FederatedPage[Any]] = run(fed, go)
    return pages


def candidate_nodes() -> list[FakeNode]:
    shared = pseudonym("same-pseudonym-at-two-nodes")
    return [
        FakeNode("node-a", candidates=[pseudonym(f"a{i}") for i in range(5)] + [shared]),
        FakeNode("node-b", candidates=[pseudonym(f"b{i}") for i in range(3)]),
        FakeNode("node-c", candidates=[pseudonym(f"c{i}") for i in range(7)] + [shared]),
    ]


@pytest.mark.parametrize(("limit", "per_node"), [(4, 3), (4, 4), (5, 2), (20, 20), (1, 1)])
def test_cursor_walk_returns_every_card_once_in_merge_order(limit: int, per_node: int) -> None:
    nodes = candidate_nodes()
    pages = walk(federation(*nodes), "search_candidates", limit=limit, limit_per_node=per_node)
    got = [(c.id, c.node) for page in pages for c in page.items]
    expected = sorted((p, n.id) for n in nodes for p in n.candidates)
    assert got == expected  # no duplicates, no gaps, pseudonym then node id
    assert all(len(page.items) == limit for page in pages[:-1])
    assert all(not page.partial for page in pages)
    assert all(isinstance(c, CandidateProfile) for page in pages for c in page.items)
    # every request a node got asked for at most its page size
    for node in nodes:
        for request in node.requests:
            if request.url.path.endswith("/candidates"):
                assert request.url.params["limit"] == str(per_node)


def test_federated_cursor_is_opaque_base64url_json_per_node() -> None:
    nodes = candidate_nodes()
    page = run(federation(*nodes), lambda f: f.search_candidates(limit=4, limit_per_node=4))
    assert page.has_next
    assert page.next_cursor is not None
    assert set(page.next_cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    raw = json.loads(
        base64.urlsafe_b64decode(page.next_cursor + "=" * (-len(page.next_cursor) % 4))
    )
    assert raw["op"] == "searchCandidates"
    assert raw["limit"] == 4
    assert set(raw["nodes"]) <= {"node-a", "node-b", "node-c"}
    for node_id, position in raw["nodes"].items():
        assert position["url"].startswith(f"https://{node_id}.example.nl/v1/candidates")


def test_a_cursor_carries_the_query_and_is_checked() -> None:
    nodes = candidate_nodes()
    fed = federation(*nodes)

    async def misuse(f: FederatedClient) -> None:
        page = await f.search_candidates(limit=2)
        assert page.next_cursor is not None
        with pytest.raises(TypeError, match="cursor alone"):
            await f.search_candidates(cursor=page.next_cursor, gemeente="GM0344")
        with pytest.raises(ValueError, match="belongs to 'searchCandidates'"):
            await f.vacancies(cursor=page.next_cursor)
        with pytest.raises(ValueError, match="not a federated cursor"):
            await f.search_candidates(cursor="bm90IGEgY3Vyc29y")
        with pytest.raises(ValueError, match="not a federated cursor"):
            await f.search_candidates(cursor="%%%")
        with pytest.raises(TypeError, match="unexpected filter"):
            await f.search_candidates(colour="blue")  # type: ignore[call-arg]

    run(fed, misuse)


def test_filters_are_sent_to_every_node() -> None:
    nodes = candidate_nodes()
    run(federation(*nodes), lambda f: f.search_candidates(hours_min=16, arbeidsmarktregio="AM13"))
    for node in nodes:
        (request,) = node.requests[1:]
        assert request.url.params["hoursMin"] == "16"
        assert request.url.params["arbeidsmarktregio"] == "AM13"
        assert request.url.params["limit"] == "20"


def test_a_withdrawal_mid_walk_causes_no_gap() -> None:
    # node-a holds the even, node-b the odd keys: page 1 takes two of each node's four.
    keys = [f"k{i:02d}" + "x" * 19 for i in range(12)]
    a = FakeNode("node-a", candidates=keys[0::2])
    b = FakeNode("node-b", candidates=keys[1::2])
    fed = federation(a, b)

    async def go(f: FederatedClient) -> list[list[str]]:
        first = await f.search_candidates(limit=4)
        a.candidates.remove(keys[0])  # consent withdrawn after page 1 was served
        assert first.next_cursor is not None
        second = await f.search_candidates(cursor=first.next_cursor)
        return [[c.id for c in first.items], [c.id for c in second.items]]

    first, second = run(fed, go)
    assert first == keys[0:4]
    assert second == keys[4:8]  # counting positions would have skipped k04


def test_a_node_failing_mid_walk_is_left_out_and_reported_until_the_end() -> None:
    nodes = candidate_nodes()
    fed = federation(*nodes)

    async def go(f: FederatedClient) -> list[FederatedPage[CandidateProfile]]:
        pages = [await f.search_candidates(limit=3)]
        nodes[2].behaviour = "500"
        while pages[-1].next_cursor is not None:
            pages.append(await f.search_candidates(cursor=pages[-1].next_cursor))
        return pages

    pages = run(fed, go)
    assert len(pages) >= 3
    assert pages[0].partial is False
    for page in pages[1:]:
        assert page.partial is True
        assert statuses(page.nodes)["node-c"] == "error"
        assert "node-c" not in {c.node for c in page.items}
    assert "earlier page" in (pages[2].node_status("node-c").detail or "")
    asked_after = [r for r in nodes[2].requests if r.url.path.endswith("/candidates")]
    assert len(asked_after) == 2  # page 1, and the failed page 2; never again
    got = [(c.id, c.node) for page in pages for c in page.items]
    assert len(got) == len(set(got))


def test_vacancies_merge_newest_first_then_id_then_node() -> None:
    a = FakeNode(
        "node-a",
        vacancies=[
            vacancy("v1", "node-a", "2030-01-03T09:00:00Z"),
            vacancy("v2", "node-a", "2030-01-01T09:00:00Z"),
            vacancy("v9", "node-a", "2030-01-02T09:00:00Z"),
        ],
    )
    b = FakeNode(
        "node-b",
        vacancies=[
            vacancy("v1", "node-b", "2030-01-03T09:00:00Z"),
            vacancy("v3", "node-b", "2030-01-02T09:00:00+00:00"),
            vacancy("v4", "node-b", "2030-01-04T09:00:00Z"),
        ],
    )
    pages = walk(federation(a, b), "vacancies", limit=2, limit_per_node=1)
    got = [(v.publisher, v.id) for page in pages for v in page.items]
    assert got == [
        ("node-b", "v4"),
        ("node-a", "v1"),  # same createdAt and id: node id decides
        ("node-b", "v1"),
        ("node-a", "v9"),  # same createdAt: id descending
        ("node-b", "v3"),
        ("node-a", "v2"),
    ]


# --------------------------------------------------------------------------- introductions


def test_introduce_goes_to_the_node_the_card_came_from() -> None:
    nodes = three_healthy_nodes()
    fed = federation(*nodes)
    ref = OpportunityReference.vacancy("v1", node="werkpunt-groningen")

    async def go(f: FederatedClient) -> Any:
        result = await f.match(opportunity=CRITERIA)
        best = result.items[0]
        intro = await f.introduce(
            candidate=best,
            opportunity=ref,
            requester_role="employer",
            contact_person="Jan de Vries",
            message="Graag kennismaken.",
        )
        with pytest.raises(ValueError, match="means nothing at another node"):
            await f.introduce("werkpunt-groningen", candidate=best, opportunity=ref)
        with pytest.raises(ValueError, match="not a provider"):
            await f.introduce(CLIENT_ID, candidate="x" * 22, opportunity=ref)
        with pytest.raises(TypeError, match="needs node_id"):
            await f.introduce(candidate="x" * 22, opportunity=ref)
        by_id = await f.introduce(
            "werkbedrijf-utrecht",
            candidate="Qa8sD2fG4hJ6kL0zX1cV3b",
            opportunity=ref,
            requester_role="employer",
            contact_person="Jan de Vries",
            message="Graag.",
        )
        return best, intro, by_id

    best, intro, by_id = run(fed, go)
    assert best.node == "sw-bedrijf-amersfoort"
    assert intro.candidate == best.pseudonym
    assert intro.status == "pending"
    assert by_id.candidate == "Qa8sD2fG4hJ6kL0zX1cV3b"
    posted = {n.id: [r for r in n.requests if r.url.path.endswith("/introductions")] for n in nodes}
    assert [len(posted[n.id]) for n in nodes] == [1, 1, 0]
    body = json.loads(posted["sw-bedrijf-amersfoort"][0].content)
    assert body["candidate"] == best.pseudonym
    assert body["opportunity"] == {"type": "vacancy", "id": "v1", "node": "werkpunt-groningen"}


# --------------------------------------------------------------------------- directory, sync


def test_a_directory_cache_is_a_source_too() -> None:
    nodes = three_healthy_nodes()
    directory = directory_for(*nodes)
    signed = sign_directory(directory, OPERATOR_KEY)
    cache = DirectoryCache(lambda: signed, public_jwk(OPERATOR_KEY))
    by_id = {n.id: n for n in nodes}
    fed = FederatedClient(
        cache,
        client_id=CLIENT_ID,
        private_key=CLIENT_KEY.as_dict(private=True),
        transport_factory=lambda m: httpx.MockTransport(by_id[m.id]),
    )
    result = run(fed, lambda f: f.match(opportunity=CRITERIA))
    assert [[c.node, c.pseudonym] for c in result.items] == expected_three_nodes()
    providers = run(fed, lambda f: f.providers())
    assert [m.id for m in providers] == sorted(by_id)


def test_the_sync_client_runs_its_own_loop_and_keeps_tokens_between_calls() -> None:
    nodes = three_healthy_nodes()
    by_id = {n.id: n for n in nodes}
    seen: list[str] = []
    with SyncFederatedClient(
        directory_for(*nodes),
        client_id=CLIENT_ID,
        private_key=CLIENT_KEY,
        transport_factory=lambda m: httpx.MockTransport(by_id[m.id]),
        on_node_done=lambda status: seen.append(status.node),
    ) as fed:
        first = fed.match(opportunity=CRITERIA)
        second = fed.match(opportunity=CRITERIA, limit=2)
        page = fed.search_candidates()
        assert "SyncFederatedClient" in repr(fed)
    assert [[c.node, c.pseudonym] for c in first.items] == expected_three_nodes()
    assert len(second.items) == 2
    assert page.items == []
    assert page.next_cursor is None
    assert all(len(n.assertions) == 1 for n in nodes)
    assert len(seen) == 9


def test_the_sync_client_never_renders_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``asyncio.Runner.run`` reprs its finished task (so its result) when it restores the
    SIGINT handler in the main thread; an answer of many cards must not be rendered per call."""
    nodes = three_healthy_nodes()
    by_id = {n.id: n for n in nodes}
    rendered: list[str] = []

    def counting_repr(self: object) -> str:
        rendered.append(type(self).__name__)
        return "<result>"

    monkeypatch.setattr(FederatedMatchResult, "__repr__", counting_repr)
    with SyncFederatedClient(
        directory_for(*nodes),
        client_id=CLIENT_ID,
        private_key=CLIENT_KEY,
        transport_factory=lambda m: httpx.MockTransport(by_id[m.id]),
    ) as fed:
        result = fed.match(opportunity=CRITERIA)
    assert len(result.items) == len(expected_three_nodes())
    assert rendered == []


# --------------------------------------------------------------------------- merge properties

_ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_NODES = ["gemeente-utrecht", "sw-bedrijf", "uwv-midden", "werkbedrijf-utrecht", "z"]


@PROPERTY
@given(
    cards=st.lists(
        st.tuples(
            st.integers(0, 1000),  # thousandths
            st.sampled_from(_NODES),
            st.text(_ALPHABET, min_size=1, max_size=22),
        ),
        unique_by=lambda c: (c[1], c[2]),
        max_size=60,
    ),
    limit=st.integers(1, 80),
)
def test_merge_order_is_sorted_by_merge_key(cards: list[tuple[int, str, str]], limit: int) -> None:
    answers: dict[str, list[MatchCard]] = {}
    for thousandths, node, pseudo in cards:
        answers.setdefault(node, []).append(
            MatchCard.model_validate(
                {
                    "candidate": card(pseudo, node),
                    "score": thousandths / 1000,
                    "components": COMPONENTS,
                }
            )
        )
    merged = merge_match_cards(answers, limit)
    expected = sorted(cards, key=lambda c: merge_key(Decimal(c[0]) / 1000, c[1], c[2]))[:limit]
    assert [(c.node, c.pseudonym) for c in merged] == [(n, p) for _, n, p in expected]
    # Folded in as the nodes answer: the order of arrival, and of a node's cards, is no matter.
    incremental = MatchMerge(limit)
    for node, node_cards in reversed(answers.items()):
        incremental.add(node, node_cards[::-1])
    assert [(c.node, c.pseudonym) for c in incremental.cards()] == [(n, p) for _, n, p in expected]


@PROPERTY
@given(
    streams=st.dictionaries(
        st.sampled_from(_NODES),
        st.lists(st.text(_ALPHABET, min_size=1, max_size=6), unique=True, max_size=15).map(sorted),
    ),
    limit=st.integers(0, 50),
)
def test_list_merge_is_a_k_way_merge_that_counts_what_it_took(
    streams: dict[str, list[str]], limit: int
) -> None:
    items, taken = merge_streams(streams, lambda item, node: (item, node), limit)
    union = sorted((item, node) for node, s in streams.items() for item in s)[:limit]
    assert items == [item for item, _ in union]
    assert taken == {node: sum(1 for _, n in union if n == node) for node in streams}
    for node, count in taken.items():
        assert [i for i, n in union if n == node] == streams[node][:count]
