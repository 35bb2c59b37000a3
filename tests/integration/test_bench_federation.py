"""``bench/federation.py`` at toy size: it runs end to end and ends with its JSON figures.

The figures themselves are not asserted (a timing on a shared 2-core machine proves
nothing); what is asserted is that the script seeds, serves and asks every node, that the
timed fan-outs were complete, and that the hung-node run came back partial, with the hung
node as ``timeout``, near its deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "federation.py"
NODES = 3


def test_federation_bench_smoke_run_ends_with_its_figures() -> None:
    env = {
        **os.environ,
        "BENCH_NODES": str(NODES),
        "BENCH_CANDIDATES": "150",
        "BENCH_REQUESTS": "3",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["nodes"] == NODES
    assert figures["candidates_per_node"] == 50
    assert figures["central_candidates"] == 150
    timings = ("central_p95_ms", "federated_p95_ms", "gateway_p95_ms", "dedicated_p95_ms")
    for key in (*timings, "dedicated_estimate_ms", "federated_caller_cpu_ms"):
        assert figures[key] > 0, key
    assert figures["ratio"] == round(figures["federated_p95_ms"] / figures["central_p95_ms"], 2)
    assert figures["target_ratio"] == 1.5
    assert figures["federated"]["cards"] == 20  # the merge kept the limit
    hung = figures["hung"]
    assert hung["partial"] is True
    assert hung["hung_status"] == "timeout"
    assert hung["statuses"] == {"ok": NODES - 1, "timeout": 1}
    assert hung["deadline_s"] <= figures["hung_elapsed_s"] < hung["deadline_s"] * 1.5
    assert figures["cores"] == os.cpu_count()
