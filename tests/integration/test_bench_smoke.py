"""The throughput, load, fan-out-caller and view-build benchmarks run end to end at a tiny size.

Sizes of seconds, not the issue's minute: this proves the scripts work (seeding, serving the
node and the bare floor as processes, tokens, the load generators, the figures), not how fast
the node is. The wrk parser is checked on a recorded output without any server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from postgres_probe import POSTGRES_URL, postgres_unavailable

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from harness import LoadResult, parse_wrk  # noqa: E402

TINY = {"BENCH_CANDIDATES": "300", "BENCH_OPPORTUNITIES": "60"}

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:1/v1/vacancies?limit=20
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   923.85ms  359.22ms   1.72s    67.64%
    Req/Sec    76.33     80.34   410.00     89.33%
  Latency Distribution
     50%  966.07ms
     75%    1.17s{TRAILING}
     90%  850.00us
     99%    1.65s{TRAILING}
  751 requests in 14.03s, 25.59MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:     53.52
Transfer/sec:      1.82MB
""".replace("{TRAILING}", " ")  # wrk pads some lines


def _run(script: str, **env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script)],
        env={**os.environ, **TINY, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    figures: dict[str, Any] = json.loads(last)
    return figures


def test_wrk_output_is_parsed_with_units_and_failures() -> None:
    result = parse_wrk("http://x", WRK_OUTPUT)
    assert result.requests == 751
    assert result.requests_per_second == 53.52
    assert result.non_2xx == 4
    assert result.socket_errors == 5
    assert result.latency_ms == {"p50": 966.07, "p75": 1170.0, "p90": 0.85, "p99": 1650.0}


def test_load_figures_count_errors_per_kind_and_overall() -> None:
    result = LoadResult(seconds=2.0, latencies={"l0": [1.0, 2.0, 3.0], "match": [10.0]})
    result.fail("match", "HTTP 503")
    figures = result.figures()
    assert figures["all"]["requests"] == 5
    assert figures["all"]["errors"] == 1
    assert figures["all"]["rps"] == 2.5
    assert figures["match"]["errors"] == 1
    assert figures["l0"]["p50Ms"] == 2.0
    assert result.samples == ["match: HTTP 503"]


@pytest.mark.slow
def test_throughput_runs_and_reports_both_ratios() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    figures = _run("throughput.py", BENCH_SECONDS="1")
    assert figures["target"] == 0.6
    assert set(figures["endpoints"]) == {"vacancies", "candidates"}
    for row in figures["endpoints"].values():
        assert row["nodeRps"] > 0
        assert row["floorRps"] > 0
        assert row["ratio"] == pytest.approx(row["nodeRps"] / row["floorRps"], abs=0.002)
        assert row["node"]["non2xx"] == 0
        assert row["floor"]["non2xx"] == 0
    assert figures["uvicorn"]["workers"] == "1"


@pytest.mark.slow
def test_load_on_sqlite_has_no_errors() -> None:
    figures = _run("load.py", BENCH_LOAD_SECONDS="2", BENCH_BACKENDS="sqlite")
    sqlite = figures["backends"]["sqlite"]
    assert set(sqlite["kinds"]) == {"l0", "search", "match", "all"}
    assert sqlite["kinds"]["all"]["requests"] > 0
    assert sqlite["kinds"]["all"]["errors"] == 0, sqlite["errorSamples"]
    assert sqlite["kinds"]["all"]["p99Ms"] >= sqlite["kinds"]["all"]["p50Ms"]


@pytest.mark.slow
def test_load_on_postgresql_has_no_errors() -> None:
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    figures = _run(
        "load.py",
        BENCH_LOAD_SECONDS="2",
        BENCH_BACKENDS="postgresql",
        BENCH_POSTGRES_URL=POSTGRES_URL,
    )
    postgresql = figures["backends"]["postgresql"]
    assert postgresql["kinds"]["all"]["requests"] > 0
    assert postgresql["kinds"]["all"]["errors"] == 0, postgresql["errorSamples"]


@pytest.mark.slow
def test_fanout_caller_measures_both_transports_and_reuses_tokens_and_connections() -> None:
    figures = _run("fanout_caller.py", BENCH_NODES="3", BENCH_CALLS="5")
    assert figures["nodes"] == 3
    assert figures["baseline_ms"] > 0
    for transport in ("mock", "loopback"):
        row = figures[transport]
        assert row["cpu_ms_per_node"] > 0
        assert row["p95_ms"] >= row["p50_ms"] > 0
        assert row["best_card"][0] == "gemeente-00"
    assert figures["mock"]["token_requests"] == 3  # one per node for all the calls
    assert figures["loopback"]["connections_opened"] == 3  # one per node, kept alive


def test_view_build_bench_reports_both_builds_of_the_same_view() -> None:
    figures = _run("view_build.py", BENCH_ROUNDS="1")
    assert figures["candidates"] == 300
    assert figures["cards"] > 0
    assert figures["seconds"] >= figures["view_seconds"] >= 0
    assert figures["baseline_seconds"] > 0
    assert figures["ratio"] > 0  # timed figures: only their presence is checked here
