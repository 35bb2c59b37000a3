"""A federated match over 30 nodes against the same match at one node holding everyone.

Issue 6 asks whether a federation costs the caller much: 30 nodes × 3,334 candidates
versus one node × 100,000, the same match query. What it does, all on this machine:

1. a federation is written (``write_federation``): one provider node per gemeente, the
   gemeenten of a few arbeidsmarktregios in turn (Midden-Utrecht, Groot-Amsterdam, ...), a
   gateway, and a matching platform as the consumer; a second directory holds the
   *central* node, configured for all those gemeenten at once;
2. ``openwerk seed --config`` fills every node's own SQLite file (two at a time, the
   machine's cores): ``BENCH_CANDIDATES / BENCH_NODES`` candidates per provider, all of
   them at the central node;
3. every node is served by ``openwerk serve`` in its own process (no shared interpreter
   lock between nodes);
4. the same ``POST /v1/matches`` (a vacancy's criteria inline, ``limit: 20``) goes to the
   central node directly, to the federation through the SDK's ``SyncFederatedClient`` over
   the signed directory, and through the gateway: one warm-up request each (it builds each
   node's view of the platform), then ``BENCH_REQUESTS`` timed requests each;
5. every provider alone, one after another (no other node busy): what the fan-out would
   cost if each node had its own machine, as a federation has;
6. the hung node: one provider is stopped (SIGSTOP: its kernel still accepts connections,
   nothing answers), and the fan-out runs with a 2 s deadline.

Target: federated p95 / central p95 ≤ 1.5. The last line printed is one JSON object with
every figure. ``BENCH_NODES``, ``BENCH_CANDIDATES``, ``BENCH_REQUESTS`` shrink a run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness import BIN, consumer_headers, free_port, percentile, seed_config, serve_processes
from openwerk import SyncFederatedClient
from openwerk.directory import load_directory
from openwerk.keys import load_jwks, load_private_key
from openwerk_server.sandbox import ClientSpec, FederationFiles, NodeSpec, write_federation
from openwerk_spec.codelists import load_code_list

NODES = int(os.environ.get("BENCH_NODES", "30"))
CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
PER_NODE = math.ceil(CANDIDATES / NODES)
OPPORTUNITIES = 20  # per node: the query is inline, these only make the nodes realistic
LIMIT = 20
TARGET_RATIO = 1.5
TIMED_DEADLINE = 30.0  # generous: a timed fan-out must not be cut short
WARM_UP_SECONDS = 900.0
WARM_UP_TRIES = 30  # the first match builds every node's view, all nodes at once
#: Every node's environment. No webhook worker: nothing subscribes here, and thirty idle
#: workers ticking twice a second would take CPU from the nodes being measured.
NODE_ENV = {"OPENWERK_WEBHOOK_WORKER": "false"}
HUNG_DEADLINE = 2.0
HUNG_RUNS = 3
#: The arbeidsmarktregios whose gemeenten become the providers, in this order.
REGIONS = ("AM13", "AM18", "AM14", "AM12", "AM15", "AM19")
PLATFORM = "platform-x"
CENTRAL = "centrale-node"
GATEWAY = "gateway"


@dataclass(frozen=True)
class Setup:
    """What was written and started: the two directories and where each node listens."""

    federation: FederationFiles
    central: FederationFiles
    providers: list[NodeSpec]
    central_url: str
    gateway_url: str


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _gemeenten(count: int) -> list[tuple[str, str, str]]:
    """(code, name, region) of ``count`` gemeenten, region by region."""
    items = load_code_list("gemeenten").items
    chosen: list[tuple[str, str, str]] = []
    for region in REGIONS:
        chosen += [
            (i.code, i.label["nl"], region) for i in items if i.extra["arbeidsmarktregio"] == region
        ]
    if len(chosen) < count:
        raise SystemExit(f"BENCH_NODES={count}: only {len(chosen)} gemeenten in {REGIONS}")
    return chosen[:count]


def write_setup(root: Path) -> Setup:
    """The federation's directory and configs, and the central node's own."""
    platform_client = ClientSpec(PLATFORM, "Matching platform X", "platform", ("consumer",))
    providers = [
        NodeSpec(
            id=f"gemeente-{_slug(name)}",
            name=f"Gemeente {name}",
            organisation_type="gemeente",
            organisation_name=f"Gemeente {name}",
            port=free_port(),
            arbeidsmarktregios=(region,),
            gemeenten=(code,),
        )
        for code, name, region in _gemeenten(NODES)
    ]
    gateway = NodeSpec(
        id=GATEWAY,
        name="Federation gateway",
        organisation_type="werkbedrijf",
        organisation_name="Werkbedrijf",
        port=free_port(),
        arbeidsmarktregios=tuple(dict.fromkeys(p.arbeidsmarktregios[0] for p in providers)),
        mode="gateway",
    )
    federation = write_federation(
        root / "federation",
        operator="bench-operator",
        nodes=[*providers, gateway],
        clients=[platform_client],
    )
    central = NodeSpec(
        id=CENTRAL,
        name="Central node",
        organisation_type="werkbedrijf",
        organisation_name="Werkbedrijf",
        port=free_port(),
        arbeidsmarktregios=gateway.arbeidsmarktregios,
        gemeenten=tuple(code for p in providers for code in p.gemeenten),
    )
    central_files = write_federation(
        root / "central", operator="bench-operator", nodes=[central], clients=[platform_client]
    )
    return Setup(federation, central_files, providers, central.base_url, gateway.base_url)


def seed_all(setup: Setup) -> float:
    """Seed the central node and every provider, two at a time; the wall time in seconds."""
    jobs = [(setup.central.node_configs[CENTRAL], CANDIDATES, 0)] + [
        (setup.federation.node_configs[p.id], PER_NODE, n + 1)
        for n, p in enumerate(setup.providers)
    ]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(
            lambda job: seed_config(
                job[0], candidates=job[1], opportunities=OPPORTUNITIES, seed_value=2026 + job[2]
            ),
            jobs,
        )
        list(done)
    return time.perf_counter() - start


def _serve(config: Path) -> list[str]:
    return [str(BIN / "openwerk"), "serve", "--config", str(config), "--log-level", "warning"]


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes used so far (Linux ``/proc``; 0 elsewhere).

    On a machine where 30 nodes share 2 cores, a federated answer cannot come back faster
    than the CPU all nodes and the caller spend on it, divided by the cores: these totals
    say where the time goes.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _criteria(vacancy: dict[str, Any]) -> dict[str, Any]:
    """The members of a vacancy score-v1 reads: the match is asked for them inline."""
    keys = ("occupation", "skills", "hoursPerWeek", "location", "startDate", "supportOffered")
    return {key: vacancy[key] for key in keys if key in vacancy}


def _figures(timings: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
    }


def _timed_http(
    base_url: str, key: Path, bodies: Sequence[dict[str, Any]], pids: Sequence[int]
) -> dict[str, Any]:
    """One warm-up and ``REQUESTS`` timed matches at one node (or the gateway), over HTTP.

    ``pids`` are the server processes whose CPU the timed requests are charged with.
    """
    headers = consumer_headers(base_url, PLATFORM, key)
    with httpx.Client(base_url=base_url, headers=headers, timeout=300) as http:
        start = time.perf_counter()
        for _ in range(WARM_UP_TRIES):
            cold = http.post("/matches", json=bodies[0])
            cold.raise_for_status()
            if not cold.json().get("partial"):
                break
            # A provider still building its view for the gateway past the gateway's deadline
            # is left out (partial); it finishes the view meanwhile. (Before the SDK let the
            # deadline alone bound fan-out calls, its 10 s httpx timeout cut them earlier.)
        cold_ms = (time.perf_counter() - start) * 1000
        timings: list[float] = []
        sizes: list[int] = []
        cards: list[int] = []
        servers_cpu, own_cpu = cpu_seconds(pids), time.process_time()
        for i in range(REQUESTS):
            start = time.perf_counter()
            response = http.post("/matches", json=bodies[i % len(bodies)])
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            sizes.append(len(response.content))
            body = response.json()
            cards.append(len(body["items"]))
            if body.get("partial"):
                raise RuntimeError(f"{base_url}: a timed answer was partial: {body['nodes']}")
        servers_cpu = cpu_seconds(pids) - servers_cpu
        own_cpu = time.process_time() - own_cpu
    return {
        "servers_cpu_ms": round(servers_cpu * 1000 / REQUESTS, 1),
        "caller_cpu_ms": round(own_cpu * 1000 / REQUESTS, 1),
        **_figures(timings),
        "cold_ms": round(cold_ms, 1),
        "cards": min(cards),
        "response_bytes": round(statistics.median(sizes)),
    }


def _timed_sdk(
    client: SyncFederatedClient, bodies: Sequence[dict[str, Any]], pids: Sequence[int]
) -> dict[str, Any]:
    """The same matches through the SDK's fan-out: warm-up, then ``REQUESTS`` timed."""
    client.federated.deadline = WARM_UP_SECONDS
    start = time.perf_counter()
    cold = client.match(bodies[0])
    cold_ms = (time.perf_counter() - start) * 1000
    client.federated.deadline = TIMED_DEADLINE
    if cold.partial:
        raise RuntimeError(f"the warm-up fan-out was partial: {cold.missing}")
    timings: list[float] = []
    slowest: list[int] = []
    fastest: list[int] = []
    servers_cpu, own_cpu = cpu_seconds(pids), time.process_time()
    for i in range(REQUESTS):
        start = time.perf_counter()
        result = client.match(bodies[i % len(bodies)])
        timings.append((time.perf_counter() - start) * 1000)
        if result.partial or len(result.nodes) != NODES:
            raise RuntimeError(f"a timed fan-out was partial: {result.missing}")
        durations = [n.duration_ms or 0 for n in result.nodes]
        slowest.append(max(durations))
        fastest.append(min(durations))
    servers_cpu = cpu_seconds(pids) - servers_cpu
    own_cpu = time.process_time() - own_cpu
    return {
        # CPU per request: all nodes together, and this process (the SDK's fan-out).
        "servers_cpu_ms": round(servers_cpu * 1000 / REQUESTS, 1),
        "caller_cpu_ms": round(own_cpu * 1000 / REQUESTS, 1),
        **_figures(timings),
        "cold_ms": round(cold_ms, 1),
        "cards": len(result.items),
        # When each node's answer arrived, from the start of the call (NodeStatus.durationMs):
        # the first and the last node, medians over the timed requests.
        "first_node_ms": statistics.median(fastest),
        "last_node_ms": statistics.median(slowest),
    }


def _alone(setup: Setup, bodies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every provider asked alone, one after another: the fan-out on dedicated machines.

    A federation's nodes run on their own hardware; here 30 share 2 cores, so in the
    federated run each node waits for the others' CPU. Asking each node with no other
    busy gives its own latency; a fan-out over nodes with their own cores costs about the
    slowest of them (plus the merge).
    """
    key = setup.federation.keys[PLATFORM]
    rounds = min(REQUESTS, 10)
    per_node: dict[str, list[float]] = {}
    for node in setup.providers:
        headers = consumer_headers(node.base_url, PLATFORM, key)
        with httpx.Client(base_url=node.base_url, headers=headers, timeout=60) as http:
            http.post("/matches", json=bodies[0]).raise_for_status()  # the connection
            for i in range(rounds):
                start = time.perf_counter()
                http.post("/matches", json=bodies[i % len(bodies)]).raise_for_status()
                per_node.setdefault(node.id, []).append((time.perf_counter() - start) * 1000)
    # Round by round, the slowest node: what a fan-out over dedicated nodes waits for.
    slowest = [max(times[i] for times in per_node.values()) for i in range(rounds)]
    every = [t for times in per_node.values() for t in times]
    return {
        "requests_per_node": rounds,
        "node_p50_ms": round(statistics.median(every), 1),
        "node_p95_ms": round(percentile(every, 0.95), 1),
        "slowest_node_p50_ms": round(statistics.median(slowest), 1),
        "slowest_node_p95_ms": round(percentile(slowest, 0.95), 1),
    }


def _hung(
    client: SyncFederatedClient, process: Any, node_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Stop one provider's process and time fan-outs under ``HUNG_DEADLINE``."""
    client.federated.deadline = HUNG_DEADLINE
    elapsed: list[float] = []
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        for _ in range(HUNG_RUNS):
            start = time.perf_counter()
            result = client.match(body)
            elapsed.append(time.perf_counter() - start)
    finally:
        os.killpg(process.pid, signal.SIGCONT)
        client.federated.deadline = TIMED_DEADLINE
    statuses = Counter(n.status for n in result.nodes)
    hung = next(n for n in result.nodes if n.node == node_id)
    return {
        "deadline_s": HUNG_DEADLINE,
        "elapsed_s": [round(e, 3) for e in elapsed],
        "max_elapsed_s": round(max(elapsed), 3),
        "overshoot_ms": round((max(elapsed) - HUNG_DEADLINE) * 1000),
        "partial": result.partial,
        "statuses": dict(sorted(statuses.items())),
        "hung_node": node_id,
        "hung_status": hung.status,
        "hung_detail": hung.detail,
        "cards": len(result.items),
    }


def main() -> None:
    cores = os.cpu_count() or 1
    print(
        f"machine: {cores} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-federation-") as folder:
        setup = write_setup(Path(folder))
        seed_seconds = seed_all(setup)
        print(f"seeded in {seed_seconds:.1f} s", flush=True)
        configs = setup.federation.node_configs
        servers = [
            (_serve(setup.central.node_configs[CENTRAL]), setup.central_url, NODE_ENV),
            *((_serve(configs[p.id]), p.base_url, NODE_ENV) for p in setup.providers),
            (
                _serve(configs[GATEWAY]),
                setup.gateway_url,
                {**NODE_ENV, "OPENWERK_GATEWAY_DEADLINE_SECONDS": str(TIMED_DEADLINE)},
            ),
        ]
        start = time.perf_counter()
        with serve_processes(servers) as processes:
            start_seconds = time.perf_counter() - start
            print(f"{len(servers)} servers up in {start_seconds:.1f} s", flush=True)
            figures = _measure(setup, processes)
    figures.update(
        seed_seconds=round(seed_seconds, 1),
        start_seconds=round(start_seconds, 1),
        load_average_end=round(os.getloadavg()[0], 1),
    )
    _report(figures)


def _measure(setup: Setup, processes: list[Any]) -> dict[str, Any]:
    """Central, federated (SDK and gateway), each provider alone, one provider hung.

    ``processes``: the central node, the providers in ``setup.providers`` order, the gateway.
    """
    central_pid, gateway_pid = processes[0].pid, processes[-1].pid
    providers = processes[1:-1]
    provider_pids = [p.pid for p in providers]
    vacancies = httpx.get(f"{setup.central_url}/vacancies", params={"limit": 10}).json()["items"]
    bodies = [{"opportunity": {"inline": _criteria(v)}, "limit": LIMIT} for v in vacancies]
    central = _timed_http(setup.central_url, setup.central.keys[PLATFORM], bodies, [central_pid])
    print(f"central: {central}", flush=True)
    directory = load_directory(
        setup.federation.directory, load_jwks(setup.federation.operator_public_keys)
    )
    key = load_private_key(setup.federation.keys[PLATFORM])
    with SyncFederatedClient(
        directory,
        client_id=PLATFORM,
        private_key=key,
        deadline=TIMED_DEADLINE,
    ) as client:
        federated = _timed_sdk(client, bodies, provider_pids)
        print(f"federated (SDK): {federated}", flush=True)
        gateway = _timed_http(
            setup.gateway_url,
            setup.federation.keys[PLATFORM],
            bodies,
            [gateway_pid, *provider_pids],
        )
        print(f"federated (gateway): {gateway}", flush=True)
        alone = _alone(setup, bodies)
        print(f"providers alone: {alone}", flush=True)
        index = NODES // 2
        hung = _hung(client, providers[index], setup.providers[index].id, bodies[0])
    return {
        "cores": os.cpu_count(),
        "nodes": NODES,
        "candidates_per_node": PER_NODE,
        "central_candidates": CANDIDATES,
        "requests": REQUESTS,
        "limit": LIMIT,
        "central_p50_ms": central["p50_ms"],
        "central_p95_ms": central["p95_ms"],
        "federated_p50_ms": federated["p50_ms"],
        "federated_p95_ms": federated["p95_ms"],
        "gateway_p50_ms": gateway["p50_ms"],
        "gateway_p95_ms": gateway["p95_ms"],
        "ratio": round(federated["p95_ms"] / central["p95_ms"], 2),
        "gateway_ratio": round(gateway["p95_ms"] / central["p95_ms"], 2),
        "target_ratio": TARGET_RATIO,
        "central_cpu_ms": central["servers_cpu_ms"],
        "federated_nodes_cpu_ms": federated["servers_cpu_ms"],
        "federated_caller_cpu_ms": federated["caller_cpu_ms"],
        "dedicated_p95_ms": alone["slowest_node_p95_ms"],
        "dedicated_ratio": round(alone["slowest_node_p95_ms"] / central["p95_ms"], 2),
        # Dedicated nodes, but the caller's own CPU still comes on top (it is one thread).
        "dedicated_estimate_ms": round(alone["slowest_node_p95_ms"] + federated["caller_cpu_ms"]),
        "hung_deadline_s": hung["deadline_s"],
        "hung_elapsed_s": hung["max_elapsed_s"],
        "hung_partial": hung["partial"],
        "central": central,
        "federated": federated,
        "gateway": gateway,
        "alone": alone,
        "hung": hung,
    }


def _report(figures: dict[str, Any]) -> None:
    verdict = "within" if figures["ratio"] <= TARGET_RATIO else "OVER"
    print(
        f"\n{figures['nodes']} nodes × {figures['candidates_per_node']:,} candidates vs one node "
        f"× {figures['central_candidates']:,}, {figures['requests']} matches each "
        f"(limit {LIMIT}), {figures['cores']} cores:\n"
        f"  central   p50 {figures['central_p50_ms']} ms, p95 {figures['central_p95_ms']} ms\n"
        f"  federated p50 {figures['federated_p50_ms']} ms, p95 {figures['federated_p95_ms']} ms "
        f"(SDK fan-out); ratio {figures['ratio']} ({verdict} the {TARGET_RATIO} target)\n"
        f"  CPU per request: central node {figures['central_cpu_ms']} ms; federated: all "
        f"nodes {figures['federated_nodes_cpu_ms']} ms + the SDK caller "
        f"{figures['federated_caller_cpu_ms']} ms\n"
        f"  gateway   p50 {figures['gateway_p50_ms']} ms, p95 {figures['gateway_p95_ms']} ms; "
        f"ratio {figures['gateway_ratio']}\n"
        f"  each provider alone: slowest of the round p95 {figures['dedicated_p95_ms']} ms "
        f"(ratio {figures['dedicated_ratio']}: the nodes' part if each had its own cores; "
        f"plus the caller's CPU ≈ {figures['dedicated_estimate_ms']} ms)\n"
        f"  one node hung: {figures['hung_elapsed_s']} s for a {figures['hung_deadline_s']:g} s "
        f"deadline, partial {figures['hung_partial']}, statuses {figures['hung']['statuses']}"
    )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
