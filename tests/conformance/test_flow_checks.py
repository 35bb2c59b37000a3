"""The matching, introductions and events checks against the real reference node, whole and broken.

Each broken-server test replaces ONE piece of the reference server with ``monkeypatch``
before the node starts, runs only the checks it needs, and shows that the check naming the
broken requirement FAILs with an exchange to prove it. The first test shows that every one of
these checks passes against the unbroken node (configured for testing, so its webhooks may
reach the suite's loopback receiver), and that nothing of the scenario cohorts is left.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from reference_node import run_suite, sandbox_node
from sqlalchemy import select

from openwerk_conformance.context import RunContext
from openwerk_conformance.privacy_reads import WRITE_SCOPE, walk_as
from openwerk_conformance.registry import Check, all_checks
from openwerk_conformance.results import CheckResult, Status
from openwerk_conformance.scenario import COHORT_PREFIX
from openwerk_conformance.webhook_receiver import Delivery, new_secret, signature
from openwerk_server import webhooks
from openwerk_server.matching.engine import CardColumns, Filters
from openwerk_server.storage import introductions as intro_sql
from openwerk_server.storage.store import Store
from openwerk_server.storage.tables import candidates
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.score import ScoreResult

pytestmark = pytest.mark.slow

_PREFIXES = ("MATCH-", "INTRO-", "EVT-")
_CLASSES = [
    ConformanceClass.MATCHING,
    ConformanceClass.INTRODUCTIONS,
    ConformanceClass.EVENTS,
    ConformanceClass.PUBLICATION,
    ConformanceClass.OPPORTUNITIES,
    ConformanceClass.CANDIDATES,
]


def _checks(*ids: str) -> list[Check]:
    """The named checks, or (no names) every check of matching, introductions and events."""
    mine = [c for c in all_checks() if c.id.startswith(_PREFIXES)]
    chosen = [c for c in mine if c.id in ids] if ids else mine
    assert len(chosen) == (len(ids) or len(mine))
    return chosen


def _run(tmp_path: Path, *ids: str) -> dict[str, CheckResult]:
    with sandbox_node(tmp_path, webhook_allow_loopback=True) as node:
        result = run_suite(node, checks=_checks(*ids), classes=_CLASSES)
    return {r.check_id: r for r in result.results}


def _assert_fails(results: dict[str, CheckResult], check_id: str, requirement: str) -> None:
    result = results[check_id]
    assert result.status is Status.FAIL, f"{check_id}: {result.status} {result.message}"
    assert requirement in result.requirements
    assert result.exchanges, f"{check_id} failed without an exchange to show"


def test_every_flow_check_passes_against_the_reference_node(tmp_path: Path) -> None:
    with sandbox_node(tmp_path, webhook_allow_loopback=True) as node:
        result = run_suite(node, checks=_checks(), classes=_CLASSES)
        leftovers = _leftover_records(node.base_url, node.credentials)
    results = {r.check_id: r for r in result.results if r.check_id.startswith(_PREFIXES)}
    assert len(results) == len(_checks())
    failed = {
        i: f"{r.status} {r.message}" for i, r in results.items() if r.status is not Status.PASS
    }
    assert not failed
    assert leftovers == []


def _leftover_records(base_url: str, credentials: Mapping[str, Any]) -> list[str]:
    """externalReferences of cohort records still at the node (there must be none)."""
    with httpx.Client(timeout=30) as http:
        ctx = RunContext(base_url=base_url, http=http, credentials=credentials)
        listing = walk_as(ctx, "/publication/candidates", "publisher", WRITE_SCOPE)
    refs = [str(r.get("externalReference")) for r in listing.items]
    return [r for r in refs if r.startswith(COHORT_PREFIX)]


def test_a_score_off_by_a_rounding_step_fails_match_001(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CardColumns.top

    def off_by_one(
        self: CardColumns, opportunity: Mapping[str, Any], limit: int, filters: Filters = Filters()
    ) -> list[tuple[int, ScoreResult]]:
        return [
            (i, ScoreResult(score=r.score + Decimal("0.001"), components=r.components))
            for i, r in original(self, opportunity, limit, filters)
        ]

    monkeypatch.setattr(CardColumns, "top", off_by_one)
    results = _run(tmp_path, "MATCH-001")
    _assert_fails(results, "MATCH-001", "OW-MATCH-001")
    assert "score-v1 gives" in results["MATCH-001"].message


def test_ties_not_broken_by_pseudonym_fail_match_002(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CardColumns.top

    def reverse_ties(
        self: CardColumns, opportunity: Mapping[str, Any], limit: int, filters: Filters = Filters()
    ) -> list[tuple[int, ScoreResult]]:
        ranked = original(self, opportunity, limit, filters)
        by_pseudonym_desc = sorted(ranked, key=lambda t: str(self.cards[t[0]]["id"]), reverse=True)
        return sorted(by_pseudonym_desc, key=lambda t: -t[1].score)

    monkeypatch.setattr(CardColumns, "top", reverse_ties)
    results = _run(tmp_path, "MATCH-002")
    _assert_fails(results, "MATCH-002", "OW-MATCH-003")
    assert "out of order" in results["MATCH-002"].message


def test_identity_shown_before_acceptance_fails_intro_002(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reveal_always(
        self: Store, intro: intro_sql.StoredIntroduction, *, trace: Any, operation: str
    ) -> dict[str, Any] | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                select(candidates.c.person).where(candidates.c.id == intro.candidate_id)
            ).first()
        if row is None:
            return None
        person = row._mapping["person"]
        contact = dict(intro.contact or {"channel": "via-custodian", "value": "the jobcoach"})
        return {
            "givenName": person["givenName"],
            "familyName": person["familyName"],
            "contact": contact,
        }

    monkeypatch.setattr(Store, "reveal_identity", reveal_always)
    results = _run(tmp_path, "INTRO-002", "INTRO-001")
    _assert_fails(results, "INTRO-002", "OW-INTRO-006")
    assert "identity shown in a pending introduction" in results["INTRO-002"].message


def test_a_decline_with_a_reason_fails_intro_003(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = intro_sql.StoredIntroduction.as_introduction

    def with_reason(
        self: intro_sql.StoredIntroduction, now: Any, identity: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        document = original(self, now, identity)
        if document.get("status") == "declined":
            document["declineReason"] = "not interested in this employer"
        return document

    monkeypatch.setattr(intro_sql.StoredIntroduction, "as_introduction", with_reason)
    results = _run(tmp_path, "INTRO-003")
    _assert_fails(results, "INTRO-003", "OW-INTRO-005")
    assert "declineReason" in results["INTRO-003"].message


def test_another_members_introduction_visible_fails_intro_004(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.get_introduction

    def anyones(
        self: Store, introduction_id: str, *, requester: str | None = None
    ) -> intro_sql.StoredIntroduction:
        return original(self, introduction_id)

    monkeypatch.setattr(Store, "get_introduction", anyones)
    results = _run(tmp_path, "INTRO-004")
    _assert_fails(results, "INTRO-004", "OW-INTRO-007")
    assert "expected 404" in results["INTRO-004"].message, results["INTRO-004"].message


def test_a_signature_keyed_with_the_undecoded_secret_fails_evt_003(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def raw_key(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{msg_id}.{timestamp}.".encode() + body
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    monkeypatch.setattr(webhooks, "sign", raw_key)
    results = _run(tmp_path, "EVT-003")
    _assert_fails(results, "EVT-003", "OW-EVT-004")
    assert "does not verify" in results["EVT-003"].message


def test_the_receiver_verifies_the_spec_worked_example() -> None:
    body = (
        b'{"specversion":"1.0","id":"01JD2V8Q4M3T7X9K2B5N6P8R0S","source":'
        b'"https://werk.groningen.example.nl/v1","type":"nl.openwerk.candidate.tombstone",'
        b'"subject":"kX3v9QeR2mTz7LwP0aBcDe","time":"2025-11-22T10:15:00Z",'
        b'"datacontenttype":"application/json","data":{"pseudonym":"kX3v9QeR2mTz7LwP0aBcDe"}}'
    )
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    expected = "v1,cOvp0JJiSLJDXv/e+KRCjTBPCjRvHVVO7Nvt9Ql/2Rc="
    assert signature(secret, "01JD2V8Q4M3T7X9K2B5N6P8R0S", "1763806500", body) == expected
    headers = {
        "webhook-id": "01JD2V8Q4M3T7X9K2B5N6P8R0S",
        "webhook-timestamp": "1763806500",
        "webhook-signature": f"v1,bm90IGl0 {expected}",
    }
    delivery = Delivery("/hook", headers, body, 0.0, 204)
    assert delivery.signed_by(secret)
    assert not delivery.signed_by(new_secret())


def test_webhook_checks_skip_with_the_reason_when_loopback_is_refused(tmp_path: Path) -> None:
    with sandbox_node(tmp_path, webhook_allow_loopback=False) as node:
        result = run_suite(node, checks=_checks("EVT-003", "EVT-004"), classes=_CLASSES)
    results = {r.check_id: r for r in result.results}
    assert results["EVT-003"].status is Status.SKIP
    assert "loopback" in results["EVT-003"].message
    assert results["EVT-004"].status is Status.PASS
