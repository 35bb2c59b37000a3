"""The candidates and statistics checks against the real reference node, whole and broken.

Each broken-server test replaces ONE function of the reference server with ``monkeypatch``
before the node starts, runs only the checks it needs, and shows that the check naming the
broken requirement FAILs with an exchange to prove it. The first test shows that every one
of these checks passes (or, for expiry, skips with its reason) against the unbroken node —
and that a second run against the same node finds the loaded dataset and passes again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reference_node import run_suite, sandbox_node

from openwerk_conformance.registry import Check, all_checks
from openwerk_conformance.results import CheckResult, RunResult, Status
from openwerk_server.privacy import consent, disclosure, kanon, views
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_server.routes import statistics as statistics_route
from openwerk_server.storage import candidates as candidate_store
from openwerk_server.storage.pool import bump_generation
from openwerk_spec.classes import ConformanceClass

pytestmark = pytest.mark.slow

_CLASSES = [ConformanceClass.CANDIDATES, ConformanceClass.STATISTICS, ConformanceClass.PUBLICATION]
#: cand-009's email (expected.json piiNeedles): what the broken node leaks.
_LEAKED_EMAIL = "f.zwaneveld-oosterhout@example.com"


def _checks(*ids: str) -> list[Check]:
    """The named checks, or (no names) every check of candidates.py and statistics.py."""
    mine = [c for c in all_checks() if c.id.startswith(("CAND-", "STAT-"))]
    chosen = [c for c in mine if c.id in ids] if ids else mine
    assert len(chosen) == (len(ids) or len(mine))
    return chosen


def _by_id(result: RunResult) -> dict[str, CheckResult]:
    return {r.check_id: r for r in result.results}


def _run(tmp_path: Path, *ids: str) -> dict[str, CheckResult]:
    with sandbox_node(tmp_path) as node:
        results = _by_id(run_suite(node, checks=_checks(*ids), classes=_CLASSES))
    assert results["SETUP-001"].status is Status.PASS, results["SETUP-001"].message
    return results


def _assert_fails(results: dict[str, CheckResult], check_id: str, requirement: str) -> None:
    result = results[check_id]
    assert result.status is Status.FAIL, f"{check_id}: {result.status} {result.message}"
    assert requirement in result.requirements
    assert result.exchanges, f"{check_id} failed without an exchange to show"


def test_every_privacy_check_passes_against_the_reference_node(tmp_path: Path) -> None:
    with sandbox_node(tmp_path) as node:
        first = _by_id(run_suite(node, checks=_checks(), classes=_CLASSES))
        second = _by_id(run_suite(node, checks=_checks(), classes=_CLASSES))
        preloaded = _by_id(run_suite(node, checks=_checks(), classes=_CLASSES, preloaded=True))
    for results in (first, second, preloaded):
        bad = {
            i: (r.status.value, r.message)
            for i, r in results.items()
            if r.status is not Status.PASS and i != "CAND-010"
        }
        assert not bad
        assert results["CAND-010"].status is Status.SKIP  # nothing has expired yet
    assert "72 created" in first["SETUP-001"].message
    assert "72 already present" in second["SETUP-001"].message
    assert "72 candidates found" in preloaded["SETUP-001"].message
    assert "fixture-only pool" in second["CAND-002"].message
    assert "expired yet" in preloaded["CAND-010"].message


def test_an_email_in_an_l2_card_fails_the_pii_hunt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = views._card

    def leaky(*args: Any) -> dict[str, Any]:
        card = real(*args)
        card["skills"] = [*card["skills"], {"label": _LEAKED_EMAIL}]
        return card

    monkeypatch.setattr(views, "_card", leaky)
    results = _run(tmp_path, "CAND-002", "CAND-012")
    _assert_fails(results, "CAND-012", "OW-TIER-003")
    assert _LEAKED_EMAIL in results["CAND-012"].message


def test_an_ignored_withdrawal_fails_the_withdrawal_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node records the withdrawal but keeps serving its cached views (no new generation)."""
    real = candidate_store.withdraw_consent
    withdrawing = [False]

    def bump(conn: Any) -> None:
        if not withdrawing[0]:
            bump_generation(conn)

    def stale(*args: Any, **kwargs: Any) -> Any:
        withdrawing[0] = True
        try:
            return real(*args, **kwargs)
        finally:
            withdrawing[0] = False

    monkeypatch.setattr(candidate_store, "bump_generation", bump)
    monkeypatch.setattr(candidate_store, "withdraw_consent", stale)
    results = _run(tmp_path, "CAND-009")
    _assert_fails(results, "CAND-009", "OW-CONSENT-006")
    assert "after one withdrawal 0 of" in results["CAND-009"].message


def test_one_pseudonym_for_two_consumers_fails_the_pseudonym_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        views, "pseudonym", lambda secret, _client, iid: pseudonym(secret, "all", iid)
    )
    results = _run(tmp_path, "CAND-005")
    _assert_fails(results, "CAND-005", "OW-PSEUDO-003")
    assert "for both consumers" in results["CAND-005"].message


def test_k_of_one_fails_the_k_anonymity_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = kanon.apply_gate
    monkeypatch.setattr(kanon, "validate_k", lambda k: k)
    monkeypatch.setattr(views, "apply_gate", lambda profiles, _k: real(profiles, 1))
    results = _run(tmp_path, "CAND-003")
    _assert_fails(results, "CAND-003", "OW-KANON-003")
    assert "fewer than k = 5" in results["CAND-003"].message


def test_a_statistics_cell_under_ten_shown_fails_the_threshold_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsuppressed(true_count: int) -> disclosure.Cell:
        return disclosure.Cell(count=(true_count + 2) // 5 * 5, suppressed=False)

    monkeypatch.setattr(statistics_route, "protect", unsuppressed)
    results = _run(tmp_path, "STAT-001")
    _assert_fails(results, "STAT-001", "OW-STAT-003")
    assert "below the threshold of 10" in results["STAT-001"].message


def test_support_needs_without_a_consent_for_them_fail_the_purpose_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = views._card

    def oversharing(candidate: Any, published: Any, purposes: frozenset[str], *rest: Any) -> Any:
        return real(candidate, published, purposes | {"share-support-needs"}, *rest)

    monkeypatch.setattr(views, "_card", oversharing)
    results = _run(tmp_path, "CAND-006")
    _assert_fails(results, "CAND-006", "OW-CAND-003")
    assert "shows supportNeeds without a consent" in results["CAND-006"].message


def test_ignoring_the_consent_recipients_fails_the_consented_only_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consent, "covers", lambda _recipients, _consumer: True)
    results = _run(tmp_path, "CAND-002")
    _assert_fails(results, "CAND-002", "OW-CAND-001")
    assert "recipients-exclude-consumer" in results["CAND-002"].message


def test_a_gateway_admitted_like_any_member_fails_the_gateway_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node forgets that a gateway is no ordinary member (OW-FED-014)."""
    covers = consent.covers

    def as_ordinary_member(recipients: Any, consumer: consent.Consumer) -> bool:
        plain = consent.Consumer(consumer.client_id, consumer.organisation_type)
        return covers(recipients, plain)

    monkeypatch.setattr(consent, "covers", as_ordinary_member)
    results = _run(tmp_path, "CAND-016")
    _assert_fails(results, "CAND-016", "OW-FED-014")
    assert "does not admit any member" in results["CAND-016"].message
