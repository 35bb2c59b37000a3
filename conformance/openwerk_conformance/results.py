"""What a run produces: one result record per check, never an exception.

The split follows the OPTIMADE validator: a MUST that the node breaks is a FAIL, a SHOULD is a
WARN, a check that does not apply (class not declared, credentials not given, fixtures not
loaded) is a SKIP with its reason, and a bug in the suite itself is an ERROR — kept apart so
that a vendor is never blamed for the suite's own mistakes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from openwerk_spec.classes import ConformanceClass

__all__ = [
    "CheckResult",
    "Excerpt",
    "Level",
    "RunResult",
    "Status",
]

Level = Literal["MUST", "SHOULD"]


class Status(StrEnum):
    """Outcome of one check."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A request and its response, shortened and with secrets redacted, for reports."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable mapping."""
        return {
            "method": self.method,
            "url": self.url,
            "requestHeaders": dict(self.request_headers),
            "requestBody": self.request_body,
            "status": self.status,
            "responseHeaders": dict(self.response_headers),
            "responseBody": self.response_body,
            "error": self.error,
        }

    def summary(self) -> str:
        """One line: ``GET https://…/v1/vacancies → 200``."""
        outcome = str(self.status) if self.status is not None else (self.error or "no response")
        return f"{self.method} {self.url} → {outcome}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check against one node."""

    check_id: str
    title: str
    conformance_class: ConformanceClass
    level: Level
    requirements: tuple[str, ...]
    status: Status
    message: str = ""
    exchanges: tuple[Excerpt, ...] = ()
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable mapping (camelCase, like the API)."""
        return {
            "id": self.check_id,
            "title": self.title,
            "class": self.conformance_class.value,
            "level": self.level,
            "requirements": list(self.requirements),
            "status": self.status.value,
            "message": self.message,
            "durationSeconds": round(self.duration, 4),
            "exchanges": [e.to_json() for e in self.exchanges],
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything a run found, with what is needed to report and attest it."""

    base_url: str
    suite_version: str
    spec_version: str
    node_spec_version: str | None
    node_id: str | None
    declared_classes: tuple[ConformanceClass, ...]
    selected_classes: tuple[ConformanceClass, ...]
    started: datetime
    finished: datetime
    results: tuple[CheckResult, ...]

    def counts(self) -> dict[str, int]:
        """How many results have each status (every status present, zero or not)."""
        found = Counter(r.status for r in self.results)
        return {status.value: found.get(status, 0) for status in Status}

    @property
    def must_failures(self) -> tuple[CheckResult, ...]:
        """FAIL results (only MUST checks can FAIL; a broken SHOULD is a WARN)."""
        return tuple(r for r in self.results if r.status is Status.FAIL)

    @property
    def errors(self) -> tuple[CheckResult, ...]:
        """Suite bugs."""
        return tuple(r for r in self.results if r.status is Status.ERROR)

    @property
    def passed(self) -> bool:
        """No MUST failure. Warnings and skips do not fail a run; suite errors do not either."""
        return not self.must_failures

    @property
    def attestable(self) -> bool:
        """A run that may be attested: no FAIL and no ERROR (an ERROR leaves a check unproven)."""
        return self.passed and not self.errors

    def by_class(self) -> dict[ConformanceClass, list[CheckResult]]:
        """Results grouped by conformance class, in enum order."""
        grouped: dict[ConformanceClass, list[CheckResult]] = {}
        for cls in ConformanceClass:
            members = [r for r in self.results if r.conformance_class is cls]
            if members:
                grouped[cls] = members
        return grouped
