"""The JUnit XML report, for CI systems: one testsuite per conformance class.

FAIL is a ``<failure>``, ERROR an ``<error>``, SKIP ``<skipped>``; a WARN (a broken SHOULD)
passes with the warning in ``<system-out>``, since JUnit has no warning state and a SHOULD
must not fail a build.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from openwerk_conformance.results import CheckResult, RunResult, Status

__all__ = ["render_junit"]

# Characters XML 1.0 cannot carry at all (a node may answer with any bytes).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _details(result: CheckResult) -> str:
    lines = [
        f"Requirements: {', '.join(result.requirements)}",
        f"Level: {result.level}",
        "",
        result.message,
    ]
    for exchange in result.exchanges:
        lines += ["", exchange.summary()]
        if exchange.response_body:
            lines.append(exchange.response_body)
    return _clean("\n".join(lines))


def _testcase(result: CheckResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "name": _clean(f"{result.check_id} {result.title}"),
            "classname": f"openwerk.{result.conformance_class.value}",
            "time": f"{result.duration:.3f}",
        },
    )
    first_line = _clean(result.message.split("\n", 1)[0])[:500]
    if result.status is Status.FAIL:
        failure = ET.SubElement(
            case,
            "failure",
            {"message": f"[{', '.join(result.requirements)}] {first_line}", "type": "MUST"},
        )
        failure.text = _details(result)
    elif result.status is Status.ERROR:
        error = ET.SubElement(case, "error", {"message": first_line, "type": "SuiteError"})
        error.text = _details(result)
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", {"message": first_line})
    elif result.status is Status.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = "WARN (SHOULD) " + _details(result)
    return case


def render_junit(run: RunResult) -> str:
    """The JUnit XML text."""
    root = ET.Element("testsuites", {"name": f"openwerk-conformance {run.base_url}"})
    for cls, results in run.by_class().items():
        counts = {s: sum(1 for r in results if r.status is s) for s in Status}
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"openwerk.{cls.value}",
                "tests": str(len(results)),
                "failures": str(counts[Status.FAIL]),
                "errors": str(counts[Status.ERROR]),
                "skipped": str(counts[Status.SKIP]),
                "time": f"{sum(r.duration for r in results):.3f}",
                "timestamp": run.started.isoformat(timespec="seconds"),
            },
        )
        for result in results:
            suite.append(_testcase(result))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
