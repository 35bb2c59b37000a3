"""The caller's own CPU in a federated match: 30 nodes answering a 20-card page each.

``bench/federation.py`` measures a real federation, where 31 node processes and the caller
share the machine's cores, so the caller's part is hard to see. Here the nodes cost the
caller nothing: each answers ``POST /v1/matches`` with a page built in advance (the spec's
``MatchResult`` example's cards, 20 of them with their own pseudonyms and scores, ~24 KB of
JSON) and its token endpoint with a token (fetched once per node and cached — the script
counts the token requests to prove it). Two transports, each measured:

- ``mock``: every node an ``httpx.MockTransport`` in this process (no sockets: the SDK's
  own work plus httpx's client layer);
- ``loopback``: every node a base URL on one raw HTTP/1.1 server in a child process (its
  CPU is not this process's), so httpx's connection pool, httpcore and h11 are in the
  figure too, as in a real federation.

What is timed is the SDK's ``SyncFederatedClient.match`` — requests, reading and validating
every node's page, the merge to 20 cards — over ``CALLS`` calls after ``WARM_UP`` untimed
ones; CPU is this process's (``time.process_time``). The baseline, in the same run, is
``json.loads`` of the 30 bodies: the least any Python client pays to read the answers at
all. Next to it, per transport, the ``httpx`` floor: the same 30 requests through bare
``httpx.AsyncClient``s, concurrently, each body ``json.loads``-ed.

Target: ≤ 1 ms of caller CPU per node answer. The last line printed is one JSON object:
per transport ``cpu_ms_per_node`` (median CPU of a call / nodes), ``p50_ms``/``p95_ms``
(wall time of the whole call), ``httpx_floor_ms`` (per call); ``baseline_ms`` (per call)
and context. ``BENCH_NODES``, ``BENCH_CALLS``, ``BENCH_TRANSPORTS`` (``mock,loopback``)
shrink a run.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from harness import free_port, percentile
from openwerk import FederatedMatchResult, SyncFederatedClient
from openwerk.directory import Directory, Member, sign_directory, verify_directory
from openwerk.keys import generate_signing_key, jwks, public_jwk

NODES = int(os.environ.get("BENCH_NODES", "30"))
CALLS = int(os.environ.get("BENCH_CALLS", "200"))
TRANSPORTS = tuple(os.environ.get("BENCH_TRANSPORTS", "mock,loopback").split(","))
WARM_UP = 5
LIMIT = 20
TARGET_CPU_MS_PER_NODE = 1.0
CLIENT_ID = "platform-x"
REPO = Path(__file__).resolve().parents[1]
JSON_HEADERS = {"Content-Type": "application/json", "API-Version": "1.0.0"}
TOKEN = json.dumps({"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600})


def _pseudonym(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:22]


def _example() -> dict[str, Any]:
    path = REPO / "spec" / "v1" / "examples" / "MatchResult.json"
    example: dict[str, Any] = json.loads(path.read_text())
    return example


def node_ids() -> list[str]:
    """The providers' member ids."""
    return [f"gemeente-{n:02d}" for n in range(NODES)]


def match_page(node: str, number: int) -> bytes:
    """Node ``number``'s answer: the spec example's cards, ``LIMIT`` of them, best first."""
    example = _example()
    items = []
    for i in range(LIMIT):
        item = copy.deepcopy(example["items"][i % len(example["items"])])
        item["candidate"]["id"] = _pseudonym(f"{node}-{i}")
        item["candidate"]["node"] = node
        # Interleaved across nodes, so the merge really mixes them; three decimals, as served.
        item["score"] = round(0.95 - i * 0.03 - number * 0.0007, 3)
        items.append(item)
    return json.dumps({**example, "node": node, "items": items}).encode()


def match_body() -> dict[str, Any]:
    """The query every call sends: the example's criteria inline."""
    return {"opportunity": {"inline": _example()["opportunity"]}, "limit": LIMIT}


class Counter:
    """Requests the nodes got, by kind: proves the token is fetched once per node."""

    def __init__(self) -> None:
        self.tokens = 0
        self.matches = 0


def mock_transports(counter: Counter) -> Callable[[Member], httpx.AsyncBaseTransport]:
    """A ``transport_factory``: per member a ``MockTransport`` answering its prepared page."""
    pages = {node: match_page(node, n) for n, node in enumerate(node_ids())}

    def factory(member: Member) -> httpx.AsyncBaseTransport:
        page = pages[member.id]

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/oauth/token"):
                counter.tokens += 1
                return httpx.Response(200, content=TOKEN.encode(), headers=JSON_HEADERS)
            counter.matches += 1
            return httpx.Response(200, content=page, headers=JSON_HEADERS)

        return httpx.MockTransport(handle)

    return factory


def directory_for(base_urls: dict[str, str], client_key: Any) -> Directory:
    """A signed and verified directory: the providers and the calling platform."""
    operator = generate_signing_key()
    now = int(time.time())
    members: list[dict[str, Any]] = [
        {
            "id": node,
            "name": f"Node {node}",
            "organisationType": "gemeente",
            "baseUrl": url,
            "roles": ["provider"],
            "regions": ["AM13"],
            "jwks": jwks([generate_signing_key()]),
        }
        for node, url in base_urls.items()
    ]
    members.append(
        {
            "id": CLIENT_ID,
            "name": "Platform X",
            "organisationType": "platform",
            "roles": ["consumer"],
            "jwks": jwks([client_key]),
        }
    )
    payload = {"iss": "bench-operator", "iat": now, "exp": now + 3600, "members": members}
    return verify_directory(sign_directory(payload, operator), public_jwk(operator))


# --------------------------------------------------------------------------- loopback nodes


def _answer(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAPI-Version: 1.0.0\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


class LoopbackServer:
    """HTTP/1.1 keep-alive, just enough for httpx: read a request, answer its node's bytes.

    ``GET /_connections`` answers how many TCP connections were accepted so far: the SDK's
    per-node connection pools must reuse theirs from call to call.
    """

    def __init__(self) -> None:
        self.answers = {node: _answer(match_page(node, n)) for n, node in enumerate(node_ids())}
        self.token = _answer(TOKEN.encode())
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until the client closes it."""
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                length = next(
                    (int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                     if k.lower() == "content-length"),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                if target == "/_connections":
                    writer.write(_answer(str(self.connections).encode()))
                elif target.endswith("/oauth/token"):
                    writer.write(self.token)
                else:
                    writer.write(self.answers[target.split("/")[1]])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def serve(port: int) -> None:
    """The loopback nodes' server (run in a child process by ``loopback_nodes``)."""

    async def run() -> None:
        server = await asyncio.start_server(LoopbackServer().handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


def connections(base_urls: dict[str, str]) -> int:
    """How many connections the loopback server accepted so far."""
    origin = next(iter(base_urls.values())).split("/gemeente-")[0]
    return int(httpx.get(f"{origin}/_connections").text)


@contextmanager
def loopback_nodes() -> Iterator[dict[str, str]]:
    """The loopback server in a child process; yields each node's base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{base}/{node_ids()[0]}/v1/oauth/token", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the loopback nodes did not come up") from None
                time.sleep(0.05)
        yield {node: f"{base}/{node}/v1" for node in node_ids()}
    finally:
        process.terminate()
        process.wait(timeout=10)


# --------------------------------------------------------------------------- measuring


def _timed(call: Callable[[], Any], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``runs`` calls of ``call``."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        call()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - start) * 1000)
    return walls, cpus


def measure_sdk(
    base_urls: dict[str, str],
    transport_factory: Callable[[Member], httpx.AsyncBaseTransport] | None,
) -> dict[str, Any]:
    """``SyncFederatedClient.match`` over the nodes: warm-up, then ``CALLS`` timed."""
    key = generate_signing_key()
    body = match_body()
    last: list[FederatedMatchResult] = []
    directory = directory_for(base_urls, key)
    with SyncFederatedClient(
        directory,
        client_id=CLIENT_ID,
        private_key=key,
        transport_factory=transport_factory,
    ) as client:

        def call() -> None:
            result = client.match(body)
            if result.partial or len(result.items) != LIMIT or len(result.nodes) != NODES:
                raise RuntimeError(f"a fan-out did not answer in full: {result.missing}")
            last[:] = [result]

        for _ in range(WARM_UP):
            call()
        walls, cpus = _timed(call, CALLS)
    best = last[0].items[0]
    return {
        "walls": walls,
        "cpus": cpus,
        "best": [best.node, best.pseudonym, best.score],
        "members": list(directory.providers()),
    }


def measure_floor(
    members: Sequence[Member],
    transport_factory: Callable[[Member], httpx.AsyncBaseTransport] | None,
) -> list[float]:
    """CPU ms of the same requests through bare ``httpx.AsyncClient``s, bodies ``json.loads``-ed."""
    body = match_body()

    async def run() -> list[float]:
        clients = [
            httpx.AsyncClient(
                base_url=member.base_url or "",
                transport=transport_factory(member) if transport_factory else None,
            )
            for member in members
        ]

        async def one(http: httpx.AsyncClient) -> Any:
            response = await http.post("/matches", json=body)
            response.raise_for_status()
            return json.loads(response.content)

        async def all_nodes() -> None:
            await asyncio.gather(*(one(http) for http in clients))

        for _ in range(WARM_UP):
            await all_nodes()
        cpus: list[float] = []
        for _ in range(CALLS):
            cpu = time.process_time()
            await all_nodes()
            cpus.append((time.process_time() - cpu) * 1000)
        await asyncio.gather(*(http.aclose() for http in clients))
        return cpus

    return asyncio.run(run())


def measure_baseline() -> list[float]:
    """CPU ms of ``json.loads`` of every node's body, per call."""
    bodies = [match_page(node, n) for n, node in enumerate(node_ids())]
    _, cpus = _timed(lambda: [json.loads(b) for b in bodies], CALLS)
    return cpus


def measure(transport: str) -> dict[str, Any]:
    """One transport's figures: the SDK's fan-out and the bare httpx floor."""
    counter = Counter()
    if transport == "mock":
        urls = {node: f"https://{node}.example.nl/v1" for node in node_ids()}
        factory = mock_transports(counter)
        sdk = measure_sdk(urls, factory)
        floor = measure_floor(sdk["members"], factory)
    else:
        with loopback_nodes() as urls:
            opened = connections(urls)
            sdk = measure_sdk(urls, None)
            opened = connections(urls) - opened - 1  # less the one asking
            floor = measure_floor(sdk["members"], None)
    cpu_call = statistics.median(sdk["cpus"])
    return {
        "cpu_ms_per_node": round(cpu_call / NODES, 3),
        "cpu_ms_per_call": round(cpu_call, 2),
        # The mean includes the garbage collector's full collections, which hit some calls.
        "cpu_mean_ms_per_call": round(statistics.fmean(sdk["cpus"]), 2),
        "p50_ms": round(statistics.median(sdk["walls"]), 2),
        "p95_ms": round(percentile(sdk["walls"], 0.95), 2),
        "cpu_p95_ms": round(percentile(sdk["cpus"], 0.95), 2),
        "httpx_floor_ms": round(statistics.median(floor), 2),
        "httpx_floor_ms_per_node": round(statistics.median(floor) / NODES, 3),
        **(
            {"token_requests": counter.tokens}
            if transport == "mock"
            else {"connections_opened": opened}
        ),
        "best_card": sdk["best"],
    }


def main() -> None:
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, httpx {httpx.__version__}, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    baseline = statistics.median(measure_baseline())
    figures: dict[str, Any] = {
        "nodes": NODES,
        "calls": CALLS,
        "cards_per_node": LIMIT,
        "page_bytes": len(match_page(node_ids()[0], 0)),
        "target_cpu_ms_per_node": TARGET_CPU_MS_PER_NODE,
        "baseline_ms": round(baseline, 2),
        "baseline_ms_per_node": round(baseline / NODES, 3),
    }
    print(
        f"{NODES} nodes × {LIMIT} cards ({figures['page_bytes']:,} bytes a page), {CALLS} "
        f"calls; baseline json.loads of the {NODES} bodies {figures['baseline_ms']} ms "
        f"({figures['baseline_ms_per_node']} ms a body)",
        flush=True,
    )
    for transport in TRANSPORTS:
        row = figures[transport] = measure(transport)
        verdict = "within" if row["cpu_ms_per_node"] <= TARGET_CPU_MS_PER_NODE else "OVER"
        print(
            f"  {transport:8}: caller CPU {row['cpu_ms_per_call']} ms a call (mean "
            f"{row['cpu_mean_ms_per_call']}, p95 {row['cpu_p95_ms']}) = "
            f"{row['cpu_ms_per_node']} ms per node answer ({verdict} "
            f"the {TARGET_CPU_MS_PER_NODE:g} ms target; {row['cpu_ms_per_call'] / baseline:.1f}"
            f" × baseline); wall p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms; bare httpx "
            f"+ json.loads {row['httpx_floor_ms']} ms ({row['httpx_floor_ms_per_node']} a node)"
            + (f"; {row['token_requests']} token requests" if "token_requests" in row else "")
            + (
                f"; {row['connections_opened']} connections opened"
                if "connections_opened" in row
                else ""
            ),
            flush=True,
        )
    figures["load_average_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main()
