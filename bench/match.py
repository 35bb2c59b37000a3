"""Match latency at 100,000 candidates on SQLite, against brute-force scoring in the same run.

What it does, all on this machine:

1. ``openwerk seed`` writes 100,000 synthetic candidates (with consents) and a few hundred
   opportunities into a fresh SQLite file;
2. a sandbox federation (keys, signed directory) is written and the node is served by uvicorn
   on 127.0.0.1, exactly as ``openwerk serve`` would;
3. a platform gets a real access token (private_key_jwt) and sends ``POST /v1/matches`` for
   vacancies of the node, by reference, over HTTP: one warm-up request (it builds the
   consumer's published view) and then ``REQUESTS`` timed requests;
4. the baseline: the reference ``openwerk_spec.score.rank`` over the same published cards,
   in process, for the same opportunities — the brute-force way to answer the same question.

Target: p95 ≤ 50 ms. The last line printed is one JSON object with ``p50_ms``, ``p95_ms``,
``baseline_ms`` (median brute-force time), ``ratio`` (p50 / baseline) and context.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness import consumer_headers, free_port, percentile, seed, serve_in_thread
from openwerk_server.app import create_app
from openwerk_server.sandbox import write_sandbox
from openwerk_server.settings import NodeSettings
from openwerk_spec.score import rank

CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "60"))
TARGET_P95_MS = 50.0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-match-") as folder:
        root = Path(folder)
        port = free_port()
        sandbox = write_sandbox(root, port=port)
        database = f"sqlite:///{root / 'sandbox-node.db'}"
        seed_seconds, _ = seed(database, candidates=CANDIDATES)
        settings = NodeSettings.from_file(sandbox.node_config, database_url=database)
        with serve_in_thread(create_app(settings), port):
            figures = _measure(sandbox.base_url, sandbox.federation.keys["consumer-a"])
    figures["seed_seconds"] = round(seed_seconds, 1)
    verdict = "within" if figures["p95_ms"] <= TARGET_P95_MS else "OVER"
    print(
        f"match at {CANDIDATES:,} candidates ({figures['cards']:,} published to the consumer): "
        f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms over {REQUESTS} requests "
        f"({verdict} the {TARGET_P95_MS:.0f} ms target); brute-force reference scoring "
        f"{figures['baseline_ms']} ms; ratio p50/baseline {figures['ratio']}; "
        f"first request (builds the view) {figures['cold_ms']} ms"
    )
    print(json.dumps(figures))


def _measure(base_url: str, key_path: Path) -> dict[str, Any]:
    headers = consumer_headers(base_url, "consumer-a", key_path)
    with httpx.Client(base_url=base_url, timeout=120) as http:
        vacancies = http.get("/vacancies", params={"limit": 100}).json()["items"]
        start = time.perf_counter()
        cold = http.post(
            "/matches",
            json={"opportunity": {"ref": {"type": "vacancy", "id": vacancies[0]["id"]}}},
            headers=headers,
        )
        cold_ms = (time.perf_counter() - start) * 1000
        cold.raise_for_status()
        timings: list[float] = []
        for i in range(REQUESTS):
            body = {
                "opportunity": {
                    "ref": {"type": "vacancy", "id": vacancies[i % len(vacancies)]["id"]}
                },
                "limit": 20,
            }
            start = time.perf_counter()
            response = http.post("/matches", json=body, headers=headers)
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
        # The same cards the node scores: the consumer's whole published view.
        cards: list[dict[str, Any]] = []
        url: str | None = "/candidates?limit=100"
        while url:
            page = http.get(url, headers=headers).json()
            cards.extend(page["items"])
            url = page["links"].get("next", {}).get("href")
    baseline: list[float] = []
    for vacancy in vacancies[: min(10, len(vacancies))]:
        start = time.perf_counter()
        rank(cards, vacancy, 20)
        baseline.append((time.perf_counter() - start) * 1000)
    p50 = statistics.median(timings)
    baseline_ms = statistics.median(baseline)
    return {
        "candidates": CANDIDATES,
        "cards": len(cards),
        "requests": REQUESTS,
        "p50_ms": round(p50, 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "baseline_ms": round(baseline_ms, 1),
        "ratio": round(p50 / baseline_ms, 3),
        "cold_ms": round(cold_ms, 1),
        "target_p95_ms": TARGET_P95_MS,
    }


if __name__ == "__main__":
    main()
