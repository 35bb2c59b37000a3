"""Bulk ingest of 100,000 candidates with consents through ``createCandidateBatch``.

What it does, all on this machine, per database (SQLite always; PostgreSQL if it answers):

1. a sandbox federation is written and the node is served as ``openwerk serve`` in its own
   process (so the client and the server do not share one interpreter lock, and the
   server's peak RSS is its own);
2. ``CANDIDATES`` synthetic candidates with their consents are generated and serialised into
   batches of ``BATCH`` items *before* the clock starts;
3. the publisher gets a real access token and ``CONNECTIONS`` client threads post the
   batches to ``POST /publication/candidate-batches`` (each one all or nothing, OW-PUB-004);
   every answer must be 201 with one candidate id per item;
4. measured: wall time of the load, the CPU time the server process and this client spent
   during it (two cores: both must fit), the server process's peak RSS (``VmHWM``, read from
   ``/proc`` just before it is stopped) and this client's peak RSS;
5. the baseline, in the same run: the same batches written by ``Store.create_candidate_batch``
   in this process, no HTTP, no validation — what the store itself costs.

Targets (issue 8): ≤ 20 s and ≤ 500 MB. ``BENCH_CANDIDATES`` shrinks a run,
``BENCH_CONNECTIONS`` sets the client threads, ``BENCH_POSTGRES_URL`` the PostgreSQL server
(a database of its own is created and dropped; ``BENCH_POSTGRES=0`` skips it). The last line
printed is one JSON object.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from harness import (
    BIN,
    consumer_headers,
    free_port,
    own_peak_rss_mb,
    peak_rss_mb,
    postgres_database,
    serve_in_process,
)
from openwerk.synthetic import Generator
from openwerk_server.sandbox import write_sandbox
from openwerk_server.storage import BatchItem, Store

CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "100000"))
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "3"))
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 500.0
NODE_ID = "sandbox-node"
BATCH_PATH = "/publication/candidate-batches"


def main() -> None:
    started = time.perf_counter()
    items = list(
        Generator(2026, node_id=NODE_ID, arbeidsmarktregio="AM13", today=date.today())
        .candidate_batch_items(CANDIDATES)
    )  # fmt: skip
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
    bodies = [json.dumps({"items": batch}).encode() for batch in batches]
    consents = sum(len(item["consents"]) for item in items)
    # The generated documents (millions of objects) stay alive for the baseline; frozen, the
    # collector no longer walks them at every full collection, which charged this client
    # (and the in-process baseline) seconds of CPU that belong to no ingest.
    gc.collect()
    gc.freeze()
    print(
        f"generated {CANDIDATES:,} candidates with {consents:,} consents in "
        f"{len(bodies)} batches ({sum(map(len, bodies)) / 1e6:.0f} MB of JSON) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    figures: dict[str, Any] = {
        "candidates": CANDIDATES,
        "consents": consents,
        "batch": BATCH,
        "connections": CONNECTIONS,
        "target_seconds": TARGET_SECONDS,
        "target_rss_mb": TARGET_RSS_MB,
    }
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-ingest-") as folder:
        root = Path(folder)
        figures["sqlite"] = _run("sqlite", f"sqlite:///{root / 'ingest.db'}", root, bodies)
        figures["sqlite"]["baseline_store_seconds"] = _baseline(
            f"sqlite:///{root / 'baseline.db'}", batches
        )
        _report("sqlite", figures["sqlite"])
        if os.environ.get("BENCH_POSTGRES", "1") != "0":
            with postgres_database("ow_bench_ingest") as url:
                if url is None:
                    figures["postgresql"] = None
                else:
                    figures["postgresql"] = _run("postgresql", url, root, bodies)
                    with postgres_database("ow_bench_ingest") as baseline_url:
                        assert baseline_url is not None
                        figures["postgresql"]["baseline_store_seconds"] = _baseline(
                            baseline_url, batches
                        )
                    _report("postgresql", figures["postgresql"])
    figures["client_peak_rss_mb"] = own_peak_rss_mb()
    print(f"client (this process) peak RSS {figures['client_peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))


def _run(name: str, database: str, root: Path, bodies: list[bytes]) -> dict[str, Any]:
    """Serve a fresh node on ``database`` and post every batch; the figures of the load."""
    port = free_port()
    sandbox = write_sandbox(root / name, port=port)
    if not database.startswith("sqlite"):
        # SQLite nodes migrate themselves at start; a PostgreSQL node expects it done.
        migrate = [
            str(BIN / "openwerk"), "migrate", "--config", str(sandbox.node_config),
            "--database", database,
        ]  # fmt: skip
        subprocess.run(migrate, check=True, capture_output=True)
    serve = [
        str(BIN / "openwerk"), "serve", "--config", str(sandbox.node_config),
        "--database", database, "--log-level", "warning",
    ]  # fmt: skip
    with serve_in_process(serve, sandbox.base_url) as process:
        headers = consumer_headers(
            sandbox.base_url, "publisher", sandbox.federation.keys["publisher"]
        )
        headers["Content-Type"] = "application/json"
        rss_before = peak_rss_mb(process.pid)
        limits = httpx.Limits(max_connections=CONNECTIONS)
        with httpx.Client(base_url=sandbox.base_url, timeout=300, limits=limits) as http:

            def post(body: bytes) -> tuple[int, float]:
                start = time.perf_counter()
                response = http.post(
                    "/publication/candidate-batches", content=body, headers=headers
                )
                if response.status_code != 201:
                    raise RuntimeError(
                        f"batch refused: {response.status_code} {response.text[:500]}"
                    )
                return len(response.json()["items"]), time.perf_counter() - start

            start, server_cpu, client_cpu = time.perf_counter(), _cpu(process.pid), _own_cpu()
            with ThreadPoolExecutor(CONNECTIONS) as pool:
                answers = list(pool.map(post, bodies))
            seconds = time.perf_counter() - start
            server_cpu, client_cpu = _cpu(process.pid) - server_cpu, _own_cpu() - client_cpu
            stored = sum(count for count, _ in answers)
            check = http.get("/publication/candidates", params={"limit": 1}, headers=headers)
            check.raise_for_status()
        server_rss = peak_rss_mb(process.pid)
    if stored != CANDIDATES:
        raise RuntimeError(f"{stored} candidates acknowledged, {CANDIDATES} sent")
    latencies = sorted(latency for _, latency in answers)
    return {
        "seconds": round(seconds, 2),
        "candidates_per_second": round(CANDIDATES / seconds),
        "batch_p50_ms": round(latencies[len(latencies) // 2] * 1000),
        "batch_max_ms": round(latencies[-1] * 1000),
        "server_cpu_seconds": round(server_cpu, 2),
        "client_cpu_seconds": round(client_cpu, 2),
        "server_rss_at_start_mb": round(rss_before),
        "server_peak_rss_mb": round(server_rss),
    }


def _cpu(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _baseline(database: str, batches: list[list[dict[str, Any]]]) -> float:
    """The same rows written by the ``Store`` in this process: no HTTP, no schema checks."""
    store = Store.from_url(database)
    try:
        store.migrate()
        start = time.perf_counter()
        for batch in batches:
            store.create_candidate_batch([BatchItem.from_document(item) for item in batch])
        return round(time.perf_counter() - start, 2)
    finally:
        store.dispose()


def _report(name: str, figures: dict[str, Any]) -> None:
    time_verdict = "within" if figures["seconds"] <= TARGET_SECONDS else "OVER"
    rss_verdict = "within" if figures["server_peak_rss_mb"] <= TARGET_RSS_MB else "OVER"
    print(
        f"{name}: {CANDIDATES:,} candidates over HTTP in {figures['seconds']} s "
        f"({figures['candidates_per_second']:,}/s; {time_verdict} the {TARGET_SECONDS:.0f} s "
        f"target), server peak RSS {figures['server_peak_rss_mb']} MB ({rss_verdict} the "
        f"{TARGET_RSS_MB:.0f} MB target; {figures['server_rss_at_start_mb']} MB at start); "
        f"batch p50 {figures['batch_p50_ms']} ms, max {figures['batch_max_ms']} ms; "
        f"CPU during the load: server {figures['server_cpu_seconds']} s, client "
        f"{figures['client_cpu_seconds']} s; "
        f"baseline Store.create_candidate_batch in process {figures['baseline_store_seconds']} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
