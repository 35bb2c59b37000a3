"""The 72 fixture candidates: load them through the publication API, or find them.

The privacy checks compare what each consumer is shown with what the dataset says it must
(and must not) be shown (``expected.json``), so the candidates and their consents have to be
at the node first. With the publisher's token the suite posts them in one
``createCandidateBatch`` (falling back to ``createCandidateRecord`` + ``createConsent`` when the
node refuses the batch as a whole), then withdraws the consents ``lifecycle.json`` lists.
Dates are shifted to the day of the run exactly as for the L0 items.

Loading is idempotent: a record whose ``externalReference`` the node already holds
(``listCandidateRecords``) is reused with its consents, and only what is missing is added, so
a second run against the same node finds the same state. With ``--preloaded`` the records
are only looked up. Either way ``ctx.candidates`` ends up with key → record id and consent
ids, or ``ctx.candidate_problem`` says why not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from openwerk_conformance.context import CandidateFixture, RunContext, TokenUnavailable
from openwerk_conformance.fixtures import shift_dates
from openwerk_conformance.privacy_reads import WRITE_SCOPE, walk_as
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.paths import spec_v1_dir

__all__ = [
    "CANDIDATE_CLASSES",
    "CandidateItem",
    "Lifecycle",
    "candidate_items",
    "setup_candidates",
]

#: The classes whose checks need the fixture candidates at the node.
CANDIDATE_CLASSES: Final = (ConformanceClass.CANDIDATES, ConformanceClass.STATISTICS)
_PUBLISHER: Final = "publisher"
_RECORDS: Final = "/publication/candidates"
_BATCH_LIMIT: Final = 1000


@dataclass(frozen=True)
class CandidateItem:
    """One fixture candidate: its key, record input and consent inputs (dates shifted)."""

    key: str
    document: dict[str, Any]
    consents: tuple[dict[str, Any], ...]

    @property
    def reference(self) -> str:
        """The record's ``externalReference`` (every fixture candidate has one)."""
        return str(self.document.get("externalReference", ""))


@dataclass(frozen=True)
class Lifecycle:
    """``lifecycle.json`` after the shift: what to withdraw, and what expires when."""

    withdrawals: tuple[tuple[str, int], ...] = ()
    expiring: tuple[tuple[str, int], ...] = ()
    valid_until: date | None = None


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _pairs(raw: Any) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("candidate"), str):
            out.append((entry["candidate"], int(entry.get("consent", 0))))
    return tuple(out)


def candidate_items(
    directory: Path | None = None, today: date | None = None
) -> tuple[list[CandidateItem], Lifecycle]:
    """The candidates and the lifecycle of the dataset, shifted to ``today`` when given.

    ``ValueError`` for a file without the documented shape; no candidates.json gives none.
    """
    root = directory or spec_v1_dir() / "fixtures"
    expected = root / "expected.json"
    stated = _read(expected).get("referenceDate") if expected.is_file() else None
    reference = date.fromisoformat(stated) if isinstance(stated, str) else None

    def shifted(value: Any) -> Any:
        if today is None or reference is None:
            return value
        return shift_dates(value, today, reference)

    items: list[CandidateItem] = []
    path = root / "candidates.json"
    raw = _read(path) if path.is_file() else []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON array")
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("candidate"), dict):
            raise ValueError(f"{path}: entry {index} has no 'candidate' object")
        consents = entry.get("consents") or []
        items.append(
            CandidateItem(
                key=str(entry.get("key") or f"candidate-{index}"),
                document=shifted(dict(entry["candidate"])),
                consents=tuple(shifted(dict(c)) for c in consents if isinstance(c, dict)),
            )
        )
    lifecycle = Lifecycle()
    life_path = root / "lifecycle.json"
    if life_path.is_file():
        life = shifted(_read(life_path))
        expiring = life.get("expiring") if isinstance(life, dict) else None
        expiring = expiring if isinstance(expiring, dict) else {}
        until = expiring.get("validUntil")
        lifecycle = Lifecycle(
            withdrawals=_pairs(life.get("withdrawals") if isinstance(life, dict) else None),
            expiring=_pairs(expiring.get("consents")),
            valid_until=date.fromisoformat(until) if isinstance(until, str) else None,
        )
    return items, lifecycle


@dataclass
class _Tally:
    created: int = 0
    reused: int = 0
    withdrawn: int = 0
    problems: list[str] = field(default_factory=list)


def setup_candidates(ctx: RunContext, today: date) -> tuple[bool, str]:
    """Load (or, with ``--preloaded``, find) the candidates; ``(ok, summary)``.

    Fills ``ctx.candidates``; on failure sets ``ctx.candidate_problem``.
    """
    try:
        items, lifecycle = candidate_items(ctx.fixtures_dir, today)
    except (OSError, ValueError) as exc:
        ctx.candidate_problem = f"the candidate fixtures cannot be read: {exc}"
        return False, ctx.candidate_problem
    if not items:
        ctx.candidate_problem = "spec/v1/fixtures holds no candidates"
        return True, ctx.candidate_problem
    if not ctx.has_credentials(_PUBLISHER):
        ctx.candidate_problem = (
            "no publisher credentials: the suite cannot load (or, with --preloaded, look up) "
            "the fixture candidates"
        )
        return True, ctx.candidate_problem
    if not ctx.preloaded and ConformanceClass.PUBLICATION not in ctx.declared_classes:
        ctx.candidate_problem = (
            "the node does not declare publication; load the candidates another way and run "
            "with --preloaded"
        )
        return True, ctx.candidate_problem
    tally = _Tally()
    try:
        served = _served_records(ctx, tally)
        missing = [i for i in items if i.reference not in served]
        for item in items:
            if item.reference in served:
                _reuse(ctx, item, served[item.reference], tally)
        if missing and ctx.preloaded:
            tally.problems.append(
                f"{len(missing)} fixture candidates are not at the node, e.g. "
                f"{', '.join(i.key for i in missing[:5])}; load them or run without --preloaded"
            )
        elif missing:
            _create(ctx, missing, tally)
        if not ctx.preloaded:
            _withdraw(ctx, lifecycle, tally)
    except TokenUnavailable as exc:
        tally.problems.append(str(exc))
    if tally.problems:
        ctx.candidate_problem = f"the fixture candidates could not be loaded: {tally.problems[0]}"
        return False, "\n".join(tally.problems)
    verb = "found" if ctx.preloaded else "loaded"
    return True, (
        f"{len(ctx.candidates)} candidates {verb} ({tally.created} created, "
        f"{tally.reused} already present, {tally.withdrawn} consents withdrawn)"
    )


def _served_records(ctx: RunContext, tally: _Tally) -> dict[str, str]:
    """externalReference → record id of every candidate record the node holds."""
    listing = walk_as(ctx, _RECORDS, _PUBLISHER, WRITE_SCOPE, {"limit": 100})
    if not listing.complete:
        tally.problems += listing.problems or ["listCandidateRecords did not finish"]
    return {
        str(r["externalReference"]): str(r["id"])
        for r in listing.items
        if isinstance(r.get("externalReference"), str) and isinstance(r.get("id"), str)
    }


def _consent_key(consent: dict[str, Any]) -> str:
    purposes = consent.get("purposes")
    return json.dumps(
        [
            sorted(purposes) if isinstance(purposes, list) else None,
            consent.get("recipients"),
            consent.get("givenAt"),
        ],
        sort_keys=True,
    )


def _reuse(ctx: RunContext, item: CandidateItem, record_id: str, tally: _Tally) -> None:
    """Take over a record the node holds; add the consents a broken earlier load left out.

    A served consent is matched to a dataset consent by purposes, recipients and ``givenAt``
    (the same on the same load day); what is left is matched oldest first.
    """
    listing = walk_as(
        ctx, f"{_RECORDS}/{record_id}/consents", _PUBLISHER, WRITE_SCOPE, {"limit": 100}
    )
    served = list(reversed(listing.items))  # the list is newest first
    ids: list[str | None] = [None] * len(item.consents)
    for index, consent in enumerate(item.consents):
        for candidate in served:
            if _consent_key(candidate) == _consent_key(consent):
                ids[index] = str(candidate.get("id"))
                served.remove(candidate)
                break
    for index, consent in enumerate(item.consents):
        if ids[index] is None and served:
            ids[index] = str(served.pop(0).get("id"))
        elif ids[index] is None and not ctx.preloaded:
            ids[index] = _post_consent(ctx, item.key, record_id, consent, tally)
    ctx.candidates[item.key] = CandidateFixture(
        item.key, item.document, record_id, tuple(i or "" for i in ids)
    )
    tally.reused += 1


def _post_consent(
    ctx: RunContext, key: str, record_id: str, consent: dict[str, Any], tally: _Tally
) -> str | None:
    exchange = ctx.fetch(
        "POST",
        f"{_RECORDS}/{record_id}/consents",
        client=_PUBLISHER,
        scope=WRITE_SCOPE,
        json_body=consent,
    )
    body = exchange.json()
    if exchange.status != 201 or not isinstance(body, dict) or "id" not in body:
        tally.problems.append(f"{key}: {exchange.describe()} for a valid consent")
        return None
    return str(body["id"])


def _create(ctx: RunContext, items: list[CandidateItem], tally: _Tally) -> None:
    """One createCandidateBatch per 1,000; per record when the node refuses the batch."""
    for start in range(0, len(items), _BATCH_LIMIT):
        chunk = items[start : start + _BATCH_LIMIT]
        exchange = ctx.fetch(
            "POST",
            "/publication/candidate-batches",
            client=_PUBLISHER,
            scope=WRITE_SCOPE,
            json_body={
                "items": [{"candidate": i.document, "consents": list(i.consents)} for i in chunk]
            },
        )
        body = exchange.json()
        results = body.get("items") if isinstance(body, dict) else None
        if exchange.status == 201 and isinstance(results, list) and len(results) == len(chunk):
            for item, result in zip(chunk, results, strict=True):
                consent_ids = result.get("consentIds") if isinstance(result, dict) else None
                ctx.candidates[item.key] = CandidateFixture(
                    item.key,
                    item.document,
                    str(result.get("candidateId")) if isinstance(result, dict) else "",
                    tuple(str(c) for c in consent_ids) if isinstance(consent_ids, list) else (),
                )
                tally.created += 1
            continue
        for item in chunk:
            _create_one(ctx, item, tally)


def _create_one(ctx: RunContext, item: CandidateItem, tally: _Tally) -> None:
    exchange = ctx.fetch(
        "POST", _RECORDS, client=_PUBLISHER, scope=WRITE_SCOPE, json_body=item.document
    )
    body = exchange.json()
    if exchange.status != 201 or not isinstance(body, dict) or "id" not in body:
        tally.problems.append(f"{item.key}: {exchange.describe()} for a valid candidate record")
        return
    record_id = str(body["id"])
    ids = [_post_consent(ctx, item.key, record_id, c, tally) for c in item.consents]
    ctx.candidates[item.key] = CandidateFixture(
        item.key, item.document, record_id, tuple(i or "" for i in ids)
    )
    tally.created += 1


def _withdraw(ctx: RunContext, lifecycle: Lifecycle, tally: _Tally) -> None:
    """Withdraw the consents lifecycle.json lists (a second run finds them withdrawn: 409)."""
    for key, index in lifecycle.withdrawals:
        fixture = ctx.candidates.get(key)
        if fixture is None or index >= len(fixture.consent_ids):
            continue
        path = f"{_RECORDS}/{fixture.node_id}/consents/{fixture.consent_ids[index]}"
        exchange = ctx.fetch("POST", f"{path}/withdrawal", client=_PUBLISHER, scope=WRITE_SCOPE)
        if exchange.status == 200:
            tally.withdrawn += 1
            continue
        current = ctx.fetch("GET", path, client=_PUBLISHER, scope=WRITE_SCOPE).json()
        if not (isinstance(current, dict) and current.get("status") == "withdrawn"):
            tally.problems.append(f"{key}: withdrawing consent {index}: {exchange.describe()}")
