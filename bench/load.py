"""Load: a minute at concurrency 50 of L0 reads, L2 searches and matches, on SQLite and PostgreSQL.

Issue 8, item 3. For each backend, on this machine:

1. a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a database of its own,
   ``openwerk_bench_load_<pid>_<n>``, created on the server of ``BENCH_POSTGRES_URL`` and dropped
   afterwards, so the tests' database is never touched) is seeded with ``openwerk seed``
   (``BENCH_CANDIDATES`` = 10,000 candidates, ``BENCH_OPPORTUNITIES`` = 2,000 opportunities);
2. the node runs as its own process, ``openwerk serve --config node.toml --database URL``;
3. two consumers get real tokens and warm their published views (the first search of a
   consumer builds its view);
4. ``harness.drive`` keeps ``BENCH_CONCURRENCY`` = 50 keep-alive connections busy for
   ``BENCH_LOAD_SECONDS`` = 60 s with a fixed mix: 30 % L0 reads (``GET /vacancies`` and
   ``/task-offers`` with filters), 40 % L2 searches (``GET /candidates`` with filters, both
   consumers) and 30 % matches (``POST /matches`` by reference to a vacancy).

Any non-2xx answer, timeout (30 s) or transport error counts as an error; target: 0 errors.
Printed per kind and overall: requests, errors, req/s, p50/p95/p99. PostgreSQL is skipped,
with the reason printed, when it does not answer. ``BENCH_BACKENDS`` (``sqlite,postgresql``)
picks the backends. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from harness import (
    BIN,
    POSTGRES_URL,
    LoadRequest,
    consumer_headers,
    drive,
    free_port,
    postgres_database,
    resolved_uvicorn,
    seed,
    serve_in_process,
)

CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "10000"))
OPPORTUNITIES = int(os.environ.get("BENCH_OPPORTUNITIES", "2000"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "50"))
BACKENDS = [b for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",") if b]
TARGET_ERRORS = 0


def main() -> None:
    results: dict[str, Any] = {}
    for backend in BACKENDS:
        with tempfile.TemporaryDirectory(prefix=f"openwerk-bench-load-{backend}-") as folder:
            root = Path(folder)
            if backend == "sqlite":
                results[backend] = _run(backend, root, f"sqlite:///{root / 'node.db'}")
                continue
            if backend != "postgresql":
                raise SystemExit(f"unknown backend {backend!r} (sqlite, postgresql)")
            with postgres_database("openwerk_bench_load") as database:
                if database is None:
                    results[backend] = {"skipped": f"PostgreSQL does not answer at {POSTGRES_URL}"}
                    continue
                results[backend] = _run(backend, root, database)
    _report(results)


def _run(backend: str, root: Path, database: str) -> dict[str, Any]:
    from openwerk_server.sandbox import write_sandbox

    port = free_port()
    sandbox = write_sandbox(root, port=port)
    seed_seconds, _ = seed(database, candidates=CANDIDATES, opportunities=OPPORTUNITIES)
    command = [
        str(BIN / "openwerk"), "serve", "--config", str(sandbox.node_config),
        "--database", database, "--log-level", "warning",
    ]  # fmt: skip
    with serve_in_process(command, sandbox.base_url):
        keys = sandbox.federation.keys
        tokens = {
            client: consumer_headers(sandbox.base_url, client, keys[client])
            for client in ("consumer-a", "consumer-b")
        }
        mix = _mix(sandbox.base_url, tokens)
        origin = f"http://127.0.0.1:{port}"
        print(
            f"{backend}: {len(mix)} distinct requests, {CONCURRENCY} connections, "
            f"{SECONDS:.0f} s …",
            flush=True,
        )
        result = drive(origin, mix, seconds=SECONDS, concurrency=CONCURRENCY)
    figures = result.figures()
    return {
        "database": "sqlite" if backend == "sqlite" else "postgresql (own database, dropped)",
        "seedSeconds": round(seed_seconds, 1),
        "seconds": round(result.seconds, 1),
        "kinds": figures,
        "errorSamples": result.samples,
        "met": figures["all"]["errors"] <= TARGET_ERRORS,
    }


def _mix(base_url: str, tokens: dict[str, dict[str, str]]) -> list[LoadRequest]:
    """Ten requests a round, thirty rounds (different vacancies, filters and consumers)."""
    with httpx.Client(base_url=base_url, timeout=120) as http:
        vacancies = http.get("/vacancies", params={"limit": 100}).json()["items"]
        for headers in tokens.values():  # warm up: the first search builds the view
            http.get("/candidates", params={"limit": 1}, headers=headers).raise_for_status()
        first = {"opportunity": {"ref": {"type": "vacancy", "id": vacancies[0]["id"]}}}
        http.post("/matches", json=first, headers=tokens["consumer-a"]).raise_for_status()
    prefix = "/v1"
    consumers = list(tokens.values())
    mix: list[LoadRequest] = []
    for i in range(30):
        vacancy = vacancies[i % len(vacancies)]
        isco2 = vacancy["occupation"]["isco08"][:2]
        consumer = consumers[i % len(consumers)]
        l0 = [
            f"{prefix}/vacancies?arbeidsmarktregio=AM13&limit=20",
            f"{prefix}/vacancies?occupation={isco2}&hoursMin=24&limit=20",
            f"{prefix}/task-offers?arbeidsmarktregio=AM13&hoursMax=32&limit=20",
        ]
        searches = [
            f"{prefix}/candidates?limit=20",
            f"{prefix}/candidates?hoursMin=24&limit=20",
            f"{prefix}/candidates?occupation={isco2}&limit=20",
            f"{prefix}/candidates?language=nl&languageLevel=B1&limit=20",
        ]
        mix += [LoadRequest("l0", "GET", path) for path in l0]
        mix += [LoadRequest("search", "GET", path, consumer) for path in searches]
        for j in range(3):
            target = vacancies[(i * 3 + j) % len(vacancies)]
            body = {"opportunity": {"ref": {"type": "vacancy", "id": target["id"]}}, "limit": 20}
            mix.append(LoadRequest("match", "POST", f"{prefix}/matches", consumer, body))
    return mix


def _report(results: dict[str, Any]) -> None:
    settings = resolved_uvicorn()
    print(
        f"node: openwerk serve (uvicorn {settings['uvicorn']}, loop {settings['loop']}, "
        f"http {settings['http']}); {CANDIDATES:,} candidates, {OPPORTUNITIES:,} opportunities; "
        f"{CONCURRENCY} connections for {SECONDS:.0f} s"
    )
    for backend, outcome in results.items():
        if "skipped" in outcome:
            continue
        for kind, row in outcome["kinds"].items():
            print(
                f"{backend:>10} {kind:>6}: {row['requests']:>6} requests, {row['errors']} errors, "
                f"{row['rps']:>6.1f} req/s, p50 {row['p50Ms']} ms, p95 {row['p95Ms']} ms, "
                f"p99 {row['p99Ms']} ms"
            )
        verdict = "meets" if outcome["met"] else "MISSES"
        print(f"{backend:>10}: {verdict} the target of {TARGET_ERRORS} errors")
        for sample in outcome["errorSamples"]:
            print(f"{backend:>10}   error: {sample}")
    print(
        json.dumps(
            {
                "candidates": CANDIDATES,
                "opportunities": OPPORTUNITIES,
                "concurrency": CONCURRENCY,
                "seconds": SECONDS,
                "uvicorn": settings,
                "backends": results,
                "targetErrors": TARGET_ERRORS,
            }
        )
    )


if __name__ == "__main__":
    main()
