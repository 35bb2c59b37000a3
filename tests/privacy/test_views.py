"""The L2 view: consent scoping, expiry, purpose-gated fields, schema validity, no PII."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from openwerk_server.privacy.consent import ConsentRecord, Consumer
from openwerk_server.privacy.views import PoolCandidate, build_view
from openwerk_spec.openapi import validation_errors

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
A = Consumer("consumer-a", "platform")
B = Consumer("consumer-b", "werkgever")
SECRET = b"test-secret-test-secret-test-sec"

PROFILE: dict[str, Any] = {
    "educationLevel": "nlqf-2",
    "desiredOccupations": [{"isco08": "9112", "label": "schoonmaker"}],
    "skills": [{"label": "clean surfaces"}],
    "languages": [{"code": "nl", "level": "B1"}],
    "hoursPerWeek": {"min": 16, "max": 24},
    "availableFrom": "2026-12",
    "travel": {"maxMinutes": "15-30", "modes": ["bicycle"]},
    "wantedKinds": ["regular", "werkervaringsplek"],
    "supportNeeds": ["jobcoach", "quiet-workspace"],
    "eligibility": [{"type": "banenafspraak", "issuerType": "uwv"}],
    # Identified data that a faulty builder might copy through:
    "person": {"givenName": "Zwaantje", "familyName": "Oosterhout-Kwakkel"},
    "externalReference": "KLANT-000123",
}


def consent(
    purposes: set[str],
    recipients: dict[str, Any] | None = None,
    *,
    status: str = "given",
    valid_until: date | None = None,
) -> ConsentRecord:
    given = NOW - timedelta(days=30)
    return ConsentRecord(
        purposes=frozenset(purposes),
        recipients=recipients or {"scope": "any-member"},
        status=status,
        given_at=given,
        valid_until=valid_until or date(2027, 6, 30),
        last_confirmed_at=given,
    )


def pool(consents_for: dict[str, list[ConsentRecord]], size: int = 6) -> list[PoolCandidate]:
    """``size`` candidates per consent pattern, all in one quasi-identifier class."""
    out = []
    for name, consents in consents_for.items():
        for i in range(size):
            out.append(
                PoolCandidate(
                    internal_id=f"{name}-{i}",
                    gemeente="GM0344",
                    arbeidsmarktregio="AM22",
                    birth_date=date(1999, 5, 17),
                    profile=PROFILE,
                    consents=consents,
                )
            )
    return out


def view_ids(candidates: list[PoolCandidate], consumer: Consumer) -> set[str]:
    view = build_view(candidates, consumer, node_id="gemeente-utrecht", secret=SECRET, k=5, now=NOW)
    return {i.rsplit("-", 1)[0] for i in view.internal_ids}


def test_only_matching_consents_that_cover_the_consumer_publish() -> None:
    candidates = pool(
        {
            "any": [consent({"matching"})],
            "stats-only": [consent({"statistics"})],
            "none": [],
            "withdrawn": [consent({"matching"}, status="withdrawn")],
            "expired": [consent({"matching"}, valid_until=date(2026, 10, 31))],
            "last-day": [consent({"matching"}, valid_until=date(2026, 11, 1))],
            "platforms": [
                consent(
                    {"matching"}, {"scope": "organisation-types", "organisationTypes": ["platform"]}
                )
            ],
            "only-b": [consent({"matching"}, {"scope": "members", "members": ["consumer-b"]})],
        }
    )
    assert view_ids(candidates, A) == {"any", "last-day", "platforms"}
    assert view_ids(candidates, B) == {"any", "last-day", "only-b"}
    gateway = Consumer("gateway-utrecht", "platform", gateway=True)
    assert view_ids(candidates, gateway) == {"any", "last-day"}


def test_support_needs_and_eligibility_only_under_their_purposes() -> None:
    plain = build_view(
        pool({"p": [consent({"matching"})]}), A, node_id="n1", secret=SECRET, k=5, now=NOW
    )
    assert all("supportNeeds" not in c and "eligibility" not in c for c in plain.cards)
    full = build_view(
        pool({"f": [consent({"matching", "share-support-needs", "share-eligibility"})]}),
        A,
        node_id="n1",
        secret=SECRET,
        k=5,
        now=NOW,
    )
    assert all(c["supportNeeds"] == ["jobcoach", "quiet-workspace"] for c in full.cards)
    assert all(c["eligibility"][0]["type"] == "banenafspraak" for c in full.cards)


def test_cards_validate_and_carry_no_identifying_data() -> None:
    view = build_view(
        pool({"f": [consent({"matching", "share-support-needs"})]}),
        A,
        node_id="n1",
        secret=SECRET,
        k=5,
        now=NOW,
    )
    assert len(view.cards) == 6
    for card in view.cards:
        assert validation_errors("CandidateProfile", card) == []
        text = json.dumps(card)
        for forbidden in ("Zwaantje", "Oosterhout", "KLANT-000123", "1999-05-17", "f-0"):
            assert forbidden not in text
        assert card["ageBand"] == "25-29"
        assert card["location"] == {"arbeidsmarktregio": "AM22", "gemeente": "GM0344"}


def test_small_pool_is_withheld_and_pseudonyms_resolve_per_consumer() -> None:
    small = pool({"s": [consent({"matching"})]}, size=4)
    view = build_view(small, A, node_id="n1", secret=SECRET, k=5, now=NOW)
    assert view.cards == []
    assert view.gate is not None
    assert len(view.gate.withheld) == 4
    big = pool({"b": [consent({"matching"})]})
    va = build_view(big, A, node_id="n1", secret=SECRET, k=5, now=NOW)
    vb = build_view(big, B, node_id="n1", secret=SECRET, k=5, now=NOW)
    assert set(va.index).isdisjoint(vb.index)
    first = va.cards[0]["id"]
    assert va.card(first) is not None
    assert vb.card(first) is None


def test_candidates_outside_every_age_band_are_withheld_not_dropped() -> None:
    old = [
        PoolCandidate(
            internal_id=f"old-{i}",
            gemeente="GM0344",
            arbeidsmarktregio="AM22",
            birth_date=date(1940, 1, 1),
            profile=PROFILE,
            consents=[consent({"matching"})],
        )
        for i in range(6)
    ]
    view = build_view(old, A, node_id="n1", secret=SECRET, k=5, now=NOW)
    assert view.cards == []
    assert view.gate is not None
    assert {key: w.class_size for key, w in view.gate.withheld.items()} == dict.fromkeys(
        (c.internal_id for c in old), 0
    )
