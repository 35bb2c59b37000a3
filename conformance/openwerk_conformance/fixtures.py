"""The deterministic fixture dataset: load it through the publication API, or find it.

The checks that compare a node's answers with known data (filters, later matching and
privacy) need the dataset in ``spec/v1/fixtures/``. Before those checks run, the suite
either publishes it with the publisher's token (``POST /publication/vacancies`` ...), or —
with ``--preloaded``, when the vendor loaded it another way — finds each item in the L0
lists by its ``externalReference``. Either way the context ends up with a map
fixture key → id at the node. The outcome is recorded as the result ``SETUP-001``.

Dates are shifted to the day of the run first, as the dataset's README prescribes (its files
are written for 2026-11-01; a consent or vacancy cannot be posted in the past). Loading is
idempotent: an item whose ``externalReference`` the node already serves is reused, not
published twice, so the suite can run again against the same node.

When the candidates or statistics class is selected, the same step also loads the 72 fixture
candidates with their consents and withdrawals (``candidate_fixtures.py``); its outcome is
part of ``SETUP-001``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from openwerk_conformance.context import Fixture, RunContext, TokenUnavailable
from openwerk_conformance.listing import walk
from openwerk_conformance.results import CheckResult, Status
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.paths import spec_v1_dir

__all__ = ["KINDS", "SETUP_ID", "FixtureItem", "fixture_items", "setup_fixtures"]

SETUP_ID: Final = "SETUP-001"


@dataclass(frozen=True)
class Kind:
    """One kind of fixture item: its file, the member holding each document, where it goes."""

    name: str
    file: str
    member: str
    publish_path: str
    read_path: str


#: The kinds the L0 checks use, in the order they are loaded (instruments first: opportunities
#: name instrument types the publisher's catalogue should hold).
KINDS: Final[tuple[Kind, ...]] = (
    Kind(
        "instrument", "instruments.json", "instrument", "/publication/instruments", "/instruments"
    ),
    Kind("vacancy", "vacancies.json", "vacancy", "/publication/vacancies", "/vacancies"),
    Kind("task-offer", "task-offers.json", "taskOffer", "/publication/task-offers", "/task-offers"),
)
_STATUSES: Final = {
    "instrument": ("active", "closed"),
    "vacancy": ("open", "closed"),
    "task-offer": ("open", "closed"),
}


@dataclass(frozen=True)
class FixtureItem:
    """One item of the dataset: its key, kind and input document."""

    key: str
    kind: str
    document: dict[str, Any]

    @property
    def reference(self) -> str | None:
        """The item's ``externalReference``, by which ``--preloaded`` finds it."""
        value = self.document.get("externalReference")
        return value if isinstance(value, str) else None


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z")
_MONTH: Final = re.compile(r"[0-9]{4}-[0-9]{2}")


def shift_dates(document: Any, today: date, reference: date) -> Any:
    """A copy of a fixture document as if generated on ``today`` (fixtures/README.md, "Loading
    on another day"): every string that is entirely a date or a UTC date-time moves by
    (today − reference) days, every year-month by the calendar months between the two."""
    days = (today - reference).days
    months = (today.year - reference.year) * 12 + today.month - reference.month

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        if not isinstance(value, str):
            return value
        if _DATE.fullmatch(value):
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
        if _DATE_TIME.fullmatch(value):
            moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(days=days)
            return moved.isoformat().replace("+00:00", "Z")
        if _MONTH.fullmatch(value):
            index = int(value[:4]) * 12 + int(value[5:]) - 1 + months
            return f"{index // 12:04d}-{index % 12 + 1:02d}"
        return value

    return move(document)


def _entries(kind: Kind, raw: Any, path: Path) -> Iterator[dict[str, Any]]:
    """The ``{"key", <member>}`` entries of a file.

    instruments.json groups instruments by the catalogue they come from (the custodian's and a
    gemeente's); both are posted through the node under test, which fills in ``publisher``.
    """
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON array")
    if kind.name == "instrument":
        raw = [
            entry
            for group in raw
            if isinstance(group, dict) and isinstance(group.get("instruments"), list)
            for entry in group["instruments"]
        ]
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get(kind.member), dict):
            raise ValueError(f"{path}: entry {index} has no {kind.member!r} object")
        yield entry


def fixture_items(directory: Path | None = None, today: date | None = None) -> list[FixtureItem]:
    """The L0 part of the dataset (spec/v1/fixtures/README.md), in load order, with its dates
    shifted to ``today`` when given (from the dataset's ``referenceDate``).

    ``ValueError`` for a file that does not have the documented shape; a missing file gives
    no items of its kind.
    """
    root = directory or spec_v1_dir() / "fixtures"
    expected = root / "expected.json"
    stated = _read(expected).get("referenceDate") if expected.is_file() else None
    reference = date.fromisoformat(stated) if isinstance(stated, str) else None
    items: list[FixtureItem] = []
    for kind in KINDS:
        path = root / kind.file
        if not path.is_file():
            continue
        for entry in _entries(kind, _read(path), path):
            key = str(entry.get("key") or f"{kind.name}-{len(items)}")
            document = dict(entry[kind.member])
            if today is not None and reference is not None:
                document = shift_dates(document, today, reference)
            items.append(FixtureItem(key=key, kind=kind.name, document=document))
    return items


class _Served:
    """The node's items of one kind (open and closed), to match fixture items against.

    The dataset's two instrument catalogues reuse externalReferences (INS-001 in both), so a
    reference alone is not enough: among the served items with the fixture's reference, the
    one that agrees with the fixture document on the most members wins, and each served item
    matches at most one fixture item.
    """

    def __init__(self, ctx: RunContext, kind: Kind) -> None:
        self._by_reference: dict[str, list[dict[str, Any]]] = {}
        for status in _STATUSES[kind.name]:
            for item in walk(ctx, kind.read_path, {"limit": 100, "status": status}).items:
                reference = item.get("externalReference")
                if isinstance(reference, str) and isinstance(item.get("id"), str):
                    self._by_reference.setdefault(reference, []).append(item)

    def take(self, fixture: FixtureItem) -> dict[str, Any] | None:
        """The served item for a fixture item (removed from further matching), or ``None``."""
        candidates = self._by_reference.get(str(fixture.reference), [])
        if fixture.reference is None or not candidates:
            return None
        document = fixture.document
        best = max(candidates, key=lambda c: sum(c.get(k) == v for k, v in document.items()))
        candidates.remove(best)
        return best


def _with_candidates(ctx: RunContext, status: Status, message: str) -> tuple[Status, str]:
    """Load the fixture candidates too when a selected class needs them, and say how it went.

    Only the candidates and statistics checks use them, and loading 72 identified records is
    not something to do to a node for an opportunities-only run.
    """
    # Imported here: candidate_fixtures builds on this module's shift_dates.
    from openwerk_conformance.candidate_fixtures import CANDIDATE_CLASSES, setup_candidates

    if not any(c in ctx.selected_classes for c in CANDIDATE_CLASSES):
        ctx.candidate_problem = "no selected check needs the fixture candidates"
        return status, message
    ok, summary = setup_candidates(ctx, datetime.now(UTC).date())
    if not ok and status in (Status.PASS, Status.SKIP):
        status = Status.FAIL
    return status, f"{message}\ncandidates: {summary}"


def _setup_result(
    ctx: RunContext, status: Status, message: str, t0: float, *, preloaded: bool
) -> CheckResult:
    status, message = _with_candidates(ctx, status, message)
    exchanges = ctx.take_exchanges()
    return CheckResult(
        check_id=SETUP_ID,
        title=(
            "The preloaded fixture dataset is served (found by externalReference)"
            if preloaded
            else "The fixture dataset loads through the publication API and is readable at once"
        ),
        conformance_class=(
            ConformanceClass.OPPORTUNITIES if preloaded else ConformanceClass.PUBLICATION
        ),
        level="MUST",
        requirements=() if preloaded else ("OW-PUB-001", "OW-PUB-006"),
        status=status,
        message=message,
        exchanges=tuple(e.excerpt() for e in exchanges[-12:]) if status is Status.FAIL else (),
        duration=time.perf_counter() - t0,
    )


def setup_fixtures(ctx: RunContext) -> CheckResult:
    """Load or find the dataset; fill ``ctx.fixtures`` or set ``ctx.fixture_problem``."""
    t0 = time.perf_counter()
    try:
        items = fixture_items(ctx.fixtures_dir, today=datetime.now(UTC).date())
    except (OSError, ValueError) as exc:
        ctx.fixture_problem = f"the dataset cannot be read: {exc}"
        return _setup_result(ctx, Status.ERROR, ctx.fixture_problem, t0, preloaded=ctx.preloaded)
    if not items:
        ctx.fixture_problem = "spec/v1/fixtures holds no vacancies, task offers or instruments"
        return _setup_result(ctx, Status.SKIP, ctx.fixture_problem, t0, preloaded=ctx.preloaded)
    if ctx.preloaded:
        return _find(ctx, items, t0)
    if ConformanceClass.PUBLICATION not in ctx.declared_classes:
        ctx.fixture_problem = (
            "the node does not declare publication; load the dataset another way and run "
            "with --preloaded"
        )
        return _setup_result(ctx, Status.SKIP, ctx.fixture_problem, t0, preloaded=False)
    if not ctx.has_credentials("publisher"):
        ctx.fixture_problem = "no publisher credentials to load it with (or use --preloaded)"
        return _setup_result(ctx, Status.SKIP, ctx.fixture_problem, t0, preloaded=False)
    try:
        return _load(ctx, items, t0)
    except TokenUnavailable as exc:
        ctx.fixture_problem = str(exc)
        return _setup_result(ctx, Status.FAIL, str(exc), t0, preloaded=False)


def _find(ctx: RunContext, items: list[FixtureItem], t0: float) -> CheckResult:
    missing: list[str] = []
    unreferenced = [i.key for i in items if i.reference is None]
    for kind in KINDS:
        wanted = [i for i in items if i.kind == kind.name and i.reference is not None]
        if not wanted:
            continue
        served = _Served(ctx, kind)
        for item in wanted:
            match = served.take(item)
            if match is None:
                missing.append(f"{kind.name} {item.reference}")
            else:
                ctx.fixtures[item.key] = Fixture(item.key, item.kind, item.document, match["id"])
    problems = []
    if unreferenced:
        problems.append(
            f"the dataset gives no externalReference for {len(unreferenced)} items "
            f"({', '.join(unreferenced[:5])}), so --preloaded cannot find them"
        )
    if missing:
        problems.append(
            f"{len(missing)} fixture items are not served by the node, e.g. "
            f"{', '.join(missing[:5])}; load the dataset or run without --preloaded"
        )
    if problems:
        ctx.fixture_problem = "; ".join(problems)
        return _setup_result(ctx, Status.FAIL, "\n".join(problems), t0, preloaded=True)
    return _setup_result(
        ctx, Status.PASS, f"{len(ctx.fixtures)} fixture items found", t0, preloaded=True
    )


def _load(ctx: RunContext, items: list[FixtureItem], t0: float) -> CheckResult:
    problems: list[str] = []
    created = reused = 0
    for kind in KINDS:
        wanted = [i for i in items if i.kind == kind.name]
        if not wanted:
            continue
        served = _Served(ctx, kind)
        for item in wanted:
            existing = served.take(item)
            if existing is not None:
                ctx.fixtures[item.key] = Fixture(item.key, item.kind, item.document, existing["id"])
                reused += 1
                continue
            exchange = ctx.fetch(
                "POST",
                kind.publish_path,
                client="publisher",
                scope="publication:write",
                json_body=item.document,
            )
            body = exchange.json()
            if exchange.status != 201 or not isinstance(body, dict) or "id" not in body:
                problems.append(f"{item.key}: {exchange.describe()} for a valid {kind.name}")
                continue
            node_id = str(body["id"])
            read = (
                ctx.fetch("GET", f"{kind.read_path}/{node_id}")
                if ctx.public_opportunities
                else ctx.fetch(
                    "GET",
                    f"{kind.read_path}/{node_id}",
                    client="consumer-a",
                    scope="opportunities:read",
                )
            )
            if read.status != 200:
                problems.append(f"{item.key}: published as {node_id}, but {read.describe()}")
            ctx.fixtures[item.key] = Fixture(item.key, item.kind, item.document, node_id)
            created += 1
    if problems:
        ctx.fixture_problem = f"{len(problems)} fixture items could not be loaded"
        return _setup_result(ctx, Status.FAIL, "\n".join(problems), t0, preloaded=False)
    return _setup_result(
        ctx,
        Status.PASS,
        f"{created} items published, {reused} already present",
        t0,
        preloaded=False,
    )
