"""The JSON report: the whole run as data, for tools and for the attestation's evidence."""

from __future__ import annotations

import json
from typing import Any

from openwerk_conformance.results import RunResult

__all__ = ["REPORT_FORMAT", "render_json", "run_to_json"]

#: Version of this report's layout; bump it when a member changes meaning or disappears.
REPORT_FORMAT = "openwerk-conformance-report/1"


def run_to_json(run: RunResult) -> dict[str, Any]:
    """The run as a JSON-serialisable mapping."""
    return {
        "format": REPORT_FORMAT,
        "baseUrl": run.base_url,
        "nodeId": run.node_id,
        "suiteVersion": run.suite_version,
        "specVersion": run.spec_version,
        "nodeSpecVersion": run.node_spec_version,
        "declaredClasses": [c.uri for c in run.declared_classes],
        "selectedClasses": [c.uri for c in run.selected_classes],
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat(),
        "passed": run.passed,
        "counts": run.counts(),
        "results": [r.to_json() for r in run.results],
    }


def render_json(run: RunResult) -> str:
    """The JSON report text."""
    return json.dumps(run_to_json(run), indent=2, ensure_ascii=False) + "\n"
