"""The HTML report: one self-contained page a vendor's developer can read from top to bottom.

By class; every FAIL, WARN and ERROR shows the requirement (ID and statement), what was
wrong, and the request and response that showed it. Every piece of text from a node or a
check passes through :func:`html.escape` — a node's answer is untrusted input.
"""

from __future__ import annotations

from html import escape

from openwerk_conformance.results import CheckResult, Excerpt, RunResult, Status
from openwerk_spec.requirements import requirement

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;
vertical-align:top;border-bottom:1px solid #eee}
.PASS{color:#176b2c}.FAIL{color:#b00020;font-weight:bold}.WARN{color:#8a5a00;font-weight:bold}
.SKIP{color:#666}.ERROR{color:#6a1b9a;font-weight:bold}
.verdict{font-size:1.2rem;padding:.5rem 1rem;display:inline-block;border-radius:.3rem}
.ok{background:#e3f4e6}.bad{background:#fde7ea}
pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.req{font-size:.9rem;color:#333}
.finding{border-left:4px solid #b00020;padding-left:1rem;margin:1rem 0}
.finding.WARN{border-color:#8a5a00}.finding.ERROR{border-color:#6a1b9a}
"""


def _requirement_text(req_id: str) -> str:
    try:
        return requirement(req_id).statement
    except KeyError:
        return "(not in the requirement catalogue)"


def _exchange(excerpt: Excerpt) -> str:
    request_headers = "\n".join(f"{k}: {v}" for k, v in excerpt.request_headers.items())
    response_headers = "\n".join(f"{k}: {v}" for k, v in excerpt.response_headers.items())
    request = f"{excerpt.method} {excerpt.url}\n{request_headers}"
    if excerpt.request_body:
        request += f"\n\n{excerpt.request_body}"
    response = f"{excerpt.status}\n{response_headers}"
    if excerpt.response_body:
        response += f"\n\n{excerpt.response_body}"
    return (
        f"<details><summary>{escape(excerpt.summary())}</summary>"
        f"<p>Request</p><pre>{escape(request)}</pre>"
        f"<p>Response</p><pre>{escape(response)}</pre></details>"
    )


def _finding(result: CheckResult) -> str:
    requirements = "".join(
        f"<li><strong>{escape(r)}</strong> {escape(_requirement_text(r))}</li>"
        for r in result.requirements
    )
    exchanges = "".join(_exchange(e) for e in result.exchanges)
    return (
        f'<div class="finding {result.status.value}" id="{escape(result.check_id)}">'
        f'<h3><span class="{result.status.value}">{result.status.value}</span> '
        f"{escape(result.check_id)} — {escape(result.title)}</h3>"
        f'<ul class="req">{requirements}</ul>'
        f"<pre>{escape(result.message)}</pre>{exchanges}</div>"
    )


def _row(result: CheckResult) -> str:
    first = result.message.split("\n", 1)[0]
    anchor = (
        f'<a href="#{escape(result.check_id)}">{escape(result.check_id)}</a>'
        if result.status in (Status.FAIL, Status.WARN, Status.ERROR)
        else escape(result.check_id)
    )
    return (
        f"<tr><td>{anchor}</td>"
        f'<td class="{result.status.value}">{result.status.value}</td>'
        f"<td>{escape(result.level)}</td>"
        f"<td>{escape(', '.join(result.requirements))}</td>"
        f"<td>{escape(result.title)}<br><small>{escape(first)}</small></td></tr>"
    )


def render_html(run: RunResult) -> str:
    """The HTML report text."""
    counts = run.counts()
    verdict = (
        '<span class="verdict ok">PASSED: no MUST requirement failed</span>'
        if run.passed
        else f'<span class="verdict bad">FAILED: {counts["FAIL"]} MUST checks failed</span>'
    )
    sections: list[str] = []
    for cls, results in run.by_class().items():
        rows = "".join(_row(r) for r in results)
        findings = "".join(
            _finding(r) for r in results if r.status in (Status.FAIL, Status.WARN, Status.ERROR)
        )
        sections.append(
            f"<h2>{escape(cls.value)} <small>{escape(cls.uri)}</small></h2>"
            "<table><tr><th>check</th><th>status</th><th>level</th><th>requirements</th>"
            f"<th>what</th></tr>{rows}</table>{findings}"
        )
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    declared = ", ".join(c.value for c in run.declared_classes) or "none"
    selected = ", ".join(c.value for c in run.selected_classes)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>Open Werk conformance: {escape(run.base_url)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Open Werk conformance report: {escape(run.node_id or run.base_url)}</h1>"
        f"<p>{verdict}</p>"
        "<table>"
        f"<tr><th>node</th><td>{escape(run.base_url)}</td></tr>"
        f"<tr><th>suite</th><td>openwerk-conformance {escape(run.suite_version)}, "
        f"spec {escape(run.spec_version)}</td></tr>"
        "<tr><th>node's spec version</th>"
        f"<td>{escape(run.node_spec_version or 'unknown')}</td></tr>"
        f"<tr><th>declared classes</th><td>{escape(declared)}</td></tr>"
        f"<tr><th>checked classes</th><td>{escape(selected)}</td></tr>"
        f"<tr><th>run</th><td>{escape(run.started.isoformat(timespec='seconds'))} – "
        f"{escape(run.finished.isoformat(timespec='seconds'))}</td></tr>"
        f"<tr><th>results</th><td>{escape(summary)}</td></tr>"
        "</table>" + "".join(sections) + "</body></html>\n"
    )
