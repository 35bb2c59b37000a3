"""Throughput floor: the node's list and search endpoints against a bare FastAPI endpoint.

Issue 8, item 1. In one run, on this machine:

1. ``openwerk seed`` writes ``BENCH_CANDIDATES`` (10,000) candidates and
   ``BENCH_OPPORTUNITIES`` (2,000) opportunities into a fresh SQLite file of an
   ``openwerk sandbox``-style federation;
2. the node is served as its own process, ``openwerk serve --config node.toml``
   (``uvicorn.run`` with uvicorn's defaults: one worker, ``--loop auto``, ``--http auto``);
3. the bare floor is a FastAPI app of one route per endpoint that returns the very document
   the node just answered (captured once, re-serialised with ``json.dumps`` on every request,
   as the node does), served by ``uvicorn --factory throughput:floor_app`` with the same
   uvicorn settings (``harness.UVICORN_SETTINGS``);
4. one load generator, ``wrk`` (one thread, ``BENCH_CONNECTIONS`` = 50 keep-alive
   connections, ``BENCH_SECONDS`` = 15 s a measurement), drives, one after another, the floor
   and the node for ``GET /v1/vacancies?limit=20`` (L0, anonymous) and for
   ``GET /v1/candidates?limit=20`` (L2, with a consumer's bearer token; the floor gets the same
   header and ignores it). Each pair runs back to back, so both see the same machine load.

Target: every node endpoint at ≥ 60 % of its floor's requests per second. The last line is
one JSON object with the figures. Without ``wrk`` the script says how to install it and exits 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from harness import (
    BIN,
    WRK_INSTALL_HINT,
    WrkResult,
    consumer_headers,
    free_port,
    resolved_uvicorn,
    run_wrk,
    seed,
    serve_in_process,
    uvicorn_flags,
)

CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "10000"))
OPPORTUNITIES = int(os.environ.get("BENCH_OPPORTUNITIES", "2000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
TARGET_RATIO = 0.60

#: Endpoint name → path and query on the node (the floor serves ``/floor/<name>``).
ENDPOINTS = {
    "vacancies": "/v1/vacancies?limit=20",
    "candidates": "/v1/candidates?limit=20",
}
#: The endpoints that need the consumer's bearer token (L2); L0 reads are anonymous.
AUTHENTICATED = {"candidates"}
DOCUMENTS_ENV = "BENCH_FLOOR_DOCUMENTS"


def floor_app() -> FastAPI:
    """The bare floor (a uvicorn factory): one route per endpoint, each answering the JSON
    document captured from the node, serialised per request like the node's ``json_response``.
    """
    documents = json.loads(Path(os.environ[DOCUMENTS_ENV]).read_text(encoding="utf-8"))
    app = FastAPI()

    def route(document: Any) -> Any:
        def endpoint() -> Response:
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            return Response(body.encode("utf-8"), media_type="application/json")

        return endpoint

    for name, document in documents.items():
        app.add_api_route(f"/floor/{name}", route(document), methods=["GET"])
    app.add_api_route("/", lambda: {"floor": True}, methods=["GET"])
    return app


def main() -> None:
    if shutil.which("wrk") is None:
        sys.stderr.write(WRK_INSTALL_HINT + "\n")
        raise SystemExit(2)
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-throughput-") as folder:
        figures = _run(Path(folder))
    _report(figures)


def _run(root: Path) -> dict[str, Any]:
    import httpx

    from openwerk_server.sandbox import write_sandbox

    node_port, floor_port = free_port(), free_port()
    sandbox = write_sandbox(root, port=node_port)
    database = f"sqlite:///{root / 'sandbox-node.db'}"
    seed_seconds, _ = seed(database, candidates=CANDIDATES, opportunities=OPPORTUNITIES)
    node_origin, floor_origin = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{floor_port}"
    node_command = [
        str(BIN / "openwerk"), "serve", "--config", str(sandbox.node_config),
        "--database", database, "--log-level", "warning",
    ]  # fmt: skip
    with serve_in_process(node_command, sandbox.base_url):
        headers = consumer_headers(
            sandbox.base_url, "consumer-a", sandbox.federation.keys["consumer-a"]
        )
        documents: dict[str, Any] = {}
        for name, path in ENDPOINTS.items():
            # The first search builds the consumer's view; capturing warms it up.
            sent = headers if name in AUTHENTICATED else {}
            response = httpx.get(node_origin + path, headers=sent, timeout=120)
            response.raise_for_status()
            documents[name] = response.json()
        documents_file = root / "floor-documents.json"
        documents_file.write_text(json.dumps(documents), encoding="utf-8")
        floor_command = [
            str(BIN / "uvicorn"), "--factory", "throughput:floor_app",
            "--app-dir", str(Path(__file__).parent),
            "--host", "127.0.0.1", "--port", str(floor_port), *uvicorn_flags(),
        ]  # fmt: skip
        with serve_in_process(
            floor_command, floor_origin, env={DOCUMENTS_ENV: str(documents_file)}
        ):
            results: dict[str, dict[str, WrkResult]] = {}
            for name, path in ENDPOINTS.items():
                sent = headers if name in AUTHENTICATED else {}
                results[name] = {
                    "floor": _wrk(f"{floor_origin}/floor/{name}", sent),
                    "node": _wrk(node_origin + path, sent),
                }
    endpoints: dict[str, Any] = {}
    for name, pair in results.items():
        floor, node = pair["floor"], pair["node"]
        endpoints[name] = {
            "path": ENDPOINTS[name],
            "bytes": len(json.dumps(documents[name], ensure_ascii=False).encode()),
            "nodeRps": round(node.requests_per_second, 1),
            "floorRps": round(floor.requests_per_second, 1),
            "ratio": round(node.requests_per_second / floor.requests_per_second, 3),
            "node": node.as_dict(),
            "floor": floor.as_dict(),
        }
    return {
        "candidates": CANDIDATES,
        "opportunities": OPPORTUNITIES,
        "seedSeconds": round(seed_seconds, 1),
        "seconds": SECONDS,
        "connections": CONNECTIONS,
        "loadGenerator": "wrk -t1",
        "uvicorn": resolved_uvicorn(),
        "endpoints": endpoints,
        "target": TARGET_RATIO,
        "met": all(e["ratio"] >= TARGET_RATIO for e in endpoints.values()),
    }


def _wrk(url: str, headers: dict[str, str]) -> WrkResult:
    result = run_wrk(url, seconds=SECONDS, connections=CONNECTIONS, headers=headers)
    failures = result.non_2xx + result.socket_errors
    print(
        f"  {result.requests_per_second:,.0f} req/s, p50 {result.latency_ms.get('p50')} ms, "
        f"p99 {result.latency_ms.get('p99')} ms, {failures} failures",
        flush=True,
    )
    return result


def _report(figures: dict[str, Any]) -> None:
    settings = figures["uvicorn"]
    print(
        f"uvicorn settings (node and floor): workers {settings['workers']}, loop "
        f"{settings['loop']}, http {settings['http']}, log level {settings['log-level']} "
        f"(uvicorn {settings['uvicorn']}); load: wrk -t1 -c{CONNECTIONS} -d{SECONDS:.0f}s"
    )
    for name, row in figures["endpoints"].items():
        verdict = "meets" if row["ratio"] >= TARGET_RATIO else "BELOW"
        failures = sum(
            row[side]["non2xx"] + row[side]["socketErrors"] for side in ("node", "floor")
        )
        print(
            f"{name} ({row['path']}, {row['bytes']:,} bytes): node {row['nodeRps']:,.0f} req/s, "
            f"bare FastAPI floor {row['floorRps']:,.0f} req/s, ratio {row['ratio']:.0%} "
            f"({verdict} the {TARGET_RATIO:.0%} target); {failures} failed requests"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
