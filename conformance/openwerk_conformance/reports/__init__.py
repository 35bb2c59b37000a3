"""Run reports: JSON (machine), JUnit XML (CI), HTML (people). Standard library only."""

from __future__ import annotations

from pathlib import Path

from openwerk_conformance.reports.html import render_html
from openwerk_conformance.reports.json_report import render_json
from openwerk_conformance.reports.junit import render_junit
from openwerk_conformance.results import RunResult

__all__ = ["render_html", "render_json", "render_junit", "write_reports"]


def write_reports(run: RunResult, directory: Path) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into ``directory``; their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "report.json",
        "junit": directory / "junit.xml",
        "html": directory / "report.html",
    }
    paths["json"].write_text(render_json(run), encoding="utf-8")
    paths["junit"].write_text(render_junit(run), encoding="utf-8")
    paths["html"].write_text(render_html(run), encoding="utf-8")
    return paths
