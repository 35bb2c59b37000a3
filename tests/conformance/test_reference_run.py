"""The whole suite against the reference node as a newcomer starts it (``openwerk sandbox``).

Issue #7's acceptance: every check of every class the node declares passes, schemathesis
phase included, and a second run against the same node (the fixtures already loaded) passes
too, so vendors can rerun the suite without resetting their node. The time of each run is
printed (``-s`` shows it); no timing is asserted, the figure goes in the closing note.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from reference_node import run_suite, sandbox_node

from openwerk_conformance.registry import all_checks
from openwerk_conformance.results import Status

pytestmark = pytest.mark.slow


def test_every_check_passes_against_the_reference_node_twice(tmp_path: Path) -> None:
    with sandbox_node(tmp_path) as node:
        for attempt in ("first", "second"):
            started = time.perf_counter()
            result = run_suite(node, schemathesis=True)
            seconds = time.perf_counter() - started
            counts = {s.value: sum(r.status is s for r in result.results) for s in Status}
            print(f"\n{attempt} run against the reference node: {counts} in {seconds:.1f} s")
            problems = [
                f"{r.check_id} {r.status.value}: {r.message}"
                for r in result.results
                if r.status in (Status.FAIL, Status.ERROR, Status.WARN)
            ]
            assert problems == [], attempt
            assert result.passed
            ran = {r.check_id for r in result.results}
            expected = {
                c.id for c in all_checks() if c.conformance_class in result.selected_classes
            }
            assert expected <= ran
