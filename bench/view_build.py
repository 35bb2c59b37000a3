"""A consumer's first view after a pool change, at 100,000 candidates, with and without the
collector pause.

The first L2 search or match of a consumer after any candidate or consent write waits for its
view: ``Store.load_pool`` decodes every given consent and every profile, ``build_view`` runs
the coverage and k-anonymity gate and renders the cards, ``CardColumns`` builds the scoring
columns (``privacy/pool.py``). This times that path through the node's own ``PoolCache`` over
a SQLite pool written by ``Store.create_candidate_batch``; the baseline, in the same run, is
the same build with Python's cyclic collector left running (``collector_paused`` replaced by
a no-op), which is how the node built views before.

``BENCH_CANDIDATES`` shrinks a run, ``BENCH_ROUNDS`` (default 2) sets the builds per mode
(the best is reported). The last line printed is one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from openwerk.synthetic import Generator
from openwerk_server.privacy import pool as pool_module
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.pool import PoolCache
from openwerk_server.storage import BatchItem, Store

CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
NODE_ID = "bench-node"


def _seed(store: Store) -> None:
    generator = Generator(2026, node_id=NODE_ID, arbeidsmarktregio="AM13", today=date.today())
    items = [BatchItem.from_document(i) for i in generator.candidate_batch_items(CANDIDATES)]
    for start in range(0, len(items), 1000):
        store.create_candidate_batch(items[start : start + 1000])


def _build(store: Store) -> dict[str, float]:
    """One cold build: a fresh cache, so the pool is loaded and the view and columns built."""
    cache = PoolCache(
        store, node_id=NODE_ID, secret=b"bench-secret" * 3, k=5, clock=lambda: datetime.now(UTC)
    )
    consumer = Consumer("bench-platform", "platform")
    start = time.perf_counter()
    view = cache.view(consumer)
    built = time.perf_counter()
    columns = view.columns
    done = time.perf_counter()
    assert len(view.view.cards) > 0
    assert columns is not None
    return {"view_seconds": built - start, "columns_seconds": done - built,
            "seconds": done - start, "cards": len(view.view.cards)}  # fmt: skip


def _best(store: Store, pause: Callable[[], Any]) -> dict[str, float]:
    original = pool_module.collector_paused
    pool_module.collector_paused = pause  # type: ignore[assignment]
    try:
        runs = [_build(store) for _ in range(ROUNDS)]
    finally:
        pool_module.collector_paused = original
    return min(runs, key=lambda run: run["seconds"])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-view-") as tmp:
        store = Store.from_url(f"sqlite:///{Path(tmp) / 'pool.db'}")
        try:
            store.migrate()
            start = time.perf_counter()
            _seed(store)
            print(f"seeded {CANDIDATES:,} candidates in {time.perf_counter() - start:.1f} s")
            baseline = _best(store, contextlib.nullcontext)
            paused = _best(store, pool_module.collector_paused)
        finally:
            store.dispose()
    for name, run in (("collector running (before)", baseline), ("collector paused", paused)):
        print(
            f"{name}: {run['seconds']:.2f} s to the first match "
            f"(view {run['view_seconds']:.2f} s, columns {run['columns_seconds']:.2f} s, "
            f"{run['cards']:,} cards)"
        )
    ratio = paused["seconds"] / baseline["seconds"]
    print(f"ratio paused / running: {ratio:.2f}")
    figures = {
        "candidates": CANDIDATES,
        "cards": paused["cards"],
        "seconds": round(paused["seconds"], 2),
        "view_seconds": round(paused["view_seconds"], 2),
        "columns_seconds": round(paused["columns_seconds"], 2),
        "baseline_seconds": round(baseline["seconds"], 2),
        "ratio": round(ratio, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
