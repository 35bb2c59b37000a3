"""Introductions (L3) and placement outcomes: the state machine, who sees what, expiry,
consent ends, the processing log and placement statistics.

Five identical candidates make one k-anonymity class (k = 5), so their cards are published
to ``consumer-a`` (platform) and ``consumer-b`` (werkgever); the tests introduce one of them.
The store's clock is the fixture clock, so expiry is tested by moving it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from openwerk_server.storage import Store
from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
MEMBER_A = {"Authorization": "Bearer member-a-token"}  # consumer-a, platform
MEMBER_B = {"Authorization": "Bearer member-b-token"}  # consumer-b, werkgever
READ_ONLY = {"Authorization": "Bearer consumer-a-token"}  # consumer-a without L3
Documents = Any  # conftest.Documents

CONSENT_CAPTURE = {
    "collectionMethod": "with-jobcoach",
    "noticeVersion": "intro-2025-01",
    "evidence": {"kind": "signed-form", "reference": "DMS-42"},
}
CONTACT = {"channel": "via-custodian", "value": "Jobcoach M. Jansen, 030 123 4567"}


# ---------------------------------------------------------------------------- helpers
def seed(
    client: TestClient, docs: Documents, count: int = 5, **consent: Any
) -> list[tuple[str, str]]:
    """``count`` identical candidates (one k-class) with one consent each:
    [(candidate id, consent id)]."""
    items = [
        {
            "candidate": docs.candidate(externalReference=f"KL-{n:03d}"),
            "consents": [docs.consent(**consent)],
        }
        for n in range(count)
    ]
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    )
    assert response.status_code == 201, response.text
    return [(e["candidateId"], e["consentIds"][0]) for e in response.json()["items"]]


def pseudonyms(client: TestClient, headers: dict[str, str]) -> list[str]:
    response = client.get("/v1/candidates", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return [card["id"] for card in response.json()["items"]]


def vacancy(client: TestClient, docs: Documents) -> str:
    response = client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
    assert response.status_code == 201
    return str(response.json()["id"])


def ask(
    client: TestClient,
    candidate: str,
    opportunity: dict[str, Any],
    headers: dict[str, str] = MEMBER_A,
    **changes: Any,
) -> Any:
    body = {
        "opportunity": opportunity,
        "candidate": candidate,
        "requesterRole": "employer",
        "contactPerson": {"name": "J. de Vries", "email": "jdevries@bakkerij.example.nl"},
        "message": "We would like to invite you for a trial day.",
        **changes,
    }
    return client.post("/v1/introductions", json=body, headers=headers)


def decide(client: TestClient, introduction_id: str, decision: str = "accepted") -> Any:
    body: dict[str, Any] = {"decision": decision, "consent": CONSENT_CAPTURE}
    if decision == "accepted":
        body["contact"] = CONTACT
    return client.post(
        f"/v1/publication/introductions/{introduction_id}/decision", json=body, headers=PUBLISHER
    )


def get(client: TestClient, introduction_id: str, headers: dict[str, str] = MEMBER_A) -> Any:
    return client.get(f"/v1/introductions/{introduction_id}", headers=headers)


def cancel(client: TestClient, introduction_id: str, headers: dict[str, str] = MEMBER_A) -> Any:
    return client.post(f"/v1/introductions/{introduction_id}/cancellation", headers=headers)


def outcome(
    client: TestClient, introduction_id: str, checkpoint: str = "start", **more: Any
) -> Any:
    body = {"outcome": "trial-placement", "checkpoint": checkpoint, **more}
    return client.post(
        f"/v1/publication/introductions/{introduction_id}/outcomes", json=body, headers=PUBLISHER
    )


def access_log(client: TestClient, candidate_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/v1/publication/candidates/{candidate_id}/access-log",
        params={"limit": 100},
        headers=PUBLISHER,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def candidate_of(client: TestClient, introduction_id: str) -> str:
    response = client.get(f"/v1/publication/introductions/{introduction_id}", headers=PUBLISHER)
    assert response.status_code == 200, response.text
    return str(response.json()["candidateId"])


def assert_409(response: Any) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "illegal-transition"


@pytest.fixture
def world(client: TestClient, docs: Documents) -> dict[str, Any]:
    """Five published candidates, a vacancy, and consumer-a's pseudonyms."""
    people = seed(client, docs)
    return {
        "people": people,
        "vacancy": {"type": "vacancy", "id": vacancy(client, docs)},
        "a": pseudonyms(client, MEMBER_A),
        "b": pseudonyms(client, MEMBER_B),
    }


# ---------------------------------------------------------------------------- happy path
def test_request_decide_reveal(client: TestClient, world: dict[str, Any]) -> None:
    created = ask(client, world["a"][0], world["vacancy"])
    assert created.status_code == 201, created.text
    intro = created.json()
    assert validation_errors("Introduction", intro) == []
    assert created.headers["Location"] == f"http://testserver/v1/introductions/{intro['id']}"
    assert intro["status"] == "pending"
    assert intro["requester"]["member"] == "consumer-a"  # from the token (OW-INTRO-001)
    assert intro["candidate"] == world["a"][0]
    assert intro["opportunity"] == world["vacancy"]
    created_at = datetime.fromisoformat(intro["createdAt"].replace("Z", "+00:00"))
    expires_at = datetime.fromisoformat(intro["expiresAt"].replace("Z", "+00:00"))
    assert expires_at - created_at == timedelta(days=14)
    assert "identity" not in intro
    assert "decidedAt" not in intro

    # The custodian sees the request with the internal id, and no identity.
    record = client.get(f"/v1/publication/introductions/{intro['id']}", headers=PUBLISHER).json()
    assert validation_errors("IntroductionRecord", record) == []
    assert record["candidateId"] in {cid for cid, _ in world["people"]}
    listed = client.get("/v1/publication/introductions", headers=PUBLISHER).json()["items"]
    assert [r["id"] for r in listed] == [intro["id"]]

    # Before the decision: no identity.
    assert "identity" not in get(client, intro["id"]).json()

    decided = decide(client, intro["id"])
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "accepted"
    assert decided.json()["contact"] == CONTACT
    assert validation_errors("IntroductionRecord", decided.json()) == []

    revealed = get(client, intro["id"]).json()
    assert validation_errors("Introduction", revealed) == []
    assert revealed["status"] == "accepted"
    assert "decidedAt" in revealed
    assert revealed["identity"] == {
        "givenName": "Sanne",
        "familyName": "de Vries",
        "contact": CONTACT,
    }
    listed_a = client.get("/v1/introductions", headers=MEMBER_A).json()
    assert listed_a["items"] == [revealed]
    # Nothing beyond name and the chosen contact: no BSN, email, birth date, address.
    text = get(client, intro["id"]).text
    for needle in ("111222333", "sanne@example.nl", "1990-04-12"):
        assert needle not in text


def test_a_decline_carries_no_reason(client: TestClient, world: dict[str, Any]) -> None:
    intro = ask(client, world["a"][0], world["vacancy"]).json()
    refused = client.post(
        f"/v1/publication/introductions/{intro['id']}/decision",
        json={"decision": "declined", "consent": CONSENT_CAPTURE, "reason": "health"},
        headers=PUBLISHER,
    )
    assert refused.status_code == 400  # no member for a reason (OW-INTRO-005)
    with_contact = client.post(
        f"/v1/publication/introductions/{intro['id']}/decision",
        json={"decision": "declined", "consent": CONSENT_CAPTURE, "contact": CONTACT},
        headers=PUBLISHER,
    )
    assert with_contact.status_code == 400
    assert decide(client, intro["id"], "declined").status_code == 200
    seen = get(client, intro["id"]).json()
    assert seen["status"] == "declined"
    assert set(seen) == {
        "id",
        "status",
        "requester",
        "opportunity",
        "candidate",
        "message",
        "createdAt",
        "expiresAt",
        "decidedAt",
    }


def test_an_acceptance_needs_the_contact_choice(client: TestClient, world: dict[str, Any]) -> None:
    intro = ask(client, world["a"][0], world["vacancy"]).json()
    response = client.post(
        f"/v1/publication/introductions/{intro['id']}/decision",
        json={"decision": "accepted", "consent": CONSENT_CAPTURE},
        headers=PUBLISHER,
    )
    assert response.status_code == 400
    assert get(client, intro["id"]).json()["status"] == "pending"


# ---------------------------------------------------------------------------- who may ask
def test_only_pseudonyms_published_to_the_caller(client: TestClient, world: dict[str, Any]) -> None:
    # consumer-b's pseudonym means nothing to consumer-a: the same 404 as an unknown one.
    foreign = ask(client, world["b"][0], world["vacancy"])
    unknown = ask(client, "A" * 22, world["vacancy"])
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"] == unknown.json()["detail"]
    # An unknown opportunity here is 404; one at another node is stored as given.
    missing = ask(client, world["a"][0], {"type": "vacancy", "id": "no-such-vacancy"})
    assert missing.status_code == 404
    remote = {"type": "task-offer", "id": "tof-9", "node": "gemeente-zeist"}
    created = ask(client, world["a"][0], remote)
    assert created.status_code == 201
    assert created.json()["opportunity"] == remote
    # The requester cannot be named in the body.
    impostor = ask(client, world["a"][0], world["vacancy"], requester={"member": "consumer-b"})
    assert impostor.status_code == 400
    # L3 needs its own scope.
    assert ask(client, world["a"][0], world["vacancy"], READ_ONLY).status_code == 403
    assert client.get("/v1/introductions", headers=READ_ONLY).status_code == 403


def test_a_requester_sees_only_its_own_introductions(
    client: TestClient, world: dict[str, Any]
) -> None:
    mine = ask(client, world["a"][0], world["vacancy"]).json()
    theirs = ask(client, world["b"][0], world["vacancy"], MEMBER_B).json()
    assert decide(client, mine["id"]).status_code == 200
    assert decide(client, theirs["id"]).status_code == 200
    # Another member's introduction is 404 on every path, identity above all.
    assert get(client, mine["id"], MEMBER_B).status_code == 404
    assert cancel(client, mine["id"], MEMBER_B).status_code == 404
    assert [i["id"] for i in client.get("/v1/introductions", headers=MEMBER_B).json()["items"]] == [
        theirs["id"]
    ]
    assert [i["id"] for i in client.get("/v1/introductions", headers=MEMBER_A).json()["items"]] == [
        mine["id"]
    ]
    # Each requester sees the identity of its own accepted introduction, under its pseudonym.
    assert get(client, theirs["id"], MEMBER_B).json()["candidate"] == world["b"][0]
    assert "identity" in get(client, theirs["id"], MEMBER_B).json()
    # The custodian sees both.
    assert len(client.get("/v1/publication/introductions", headers=PUBLISHER).json()["items"]) == 2


def test_listing_pages_and_filters_on_status(client: TestClient, world: dict[str, Any]) -> None:
    made = [ask(client, alias, world["vacancy"]).json()["id"] for alias in world["a"][:5]]
    assert decide(client, made[1]).status_code == 200
    assert cancel(client, made[2]).status_code == 200
    seen: list[str] = []
    params: dict[str, Any] | None
    url, params = "/v1/introductions", {"limit": 2}
    while True:
        page = client.get(url, params=params, headers=MEMBER_A).json()
        assert validation_errors("IntroductionPage", page) == []
        seen += [i["id"] for i in page["items"]]
        if "next" not in page["links"]:
            break
        url, params = page["links"]["next"]["href"], None
    assert seen == list(reversed(made))  # newest first
    by_status = {
        status: [
            i["id"]
            for i in client.get(
                "/v1/introductions", params={"status": status}, headers=MEMBER_A
            ).json()["items"]
        ]
        for status in ("pending", "accepted", "cancelled", "declined", "expired")
    }
    assert by_status == {
        "pending": [made[4], made[3], made[0]],
        "accepted": [made[1]],
        "cancelled": [made[2]],
        "declined": [],
        "expired": [],
    }


# ---------------------------------------------------------------------------- transitions
def test_every_illegal_transition_is_409(
    client: TestClient, world: dict[str, Any], clock: Any
) -> None:
    alias = world["a"][0]
    accepted = ask(client, alias, world["vacancy"]).json()["id"]
    declined = ask(client, alias, world["vacancy"]).json()["id"]
    cancelled = ask(client, alias, world["vacancy"]).json()["id"]
    assert decide(client, accepted).status_code == 200
    assert decide(client, declined, "declined").status_code == 200
    assert cancel(client, cancelled).status_code == 200

    for done in (accepted, declined, cancelled):
        assert_409(decide(client, done))  # a second decision / a decision after cancel
        assert_409(decide(client, done, "declined"))
        assert_409(cancel(client, done))  # cancellation after a decision or twice
    # Outcomes: only after an acceptance, one per checkpoint.
    for other in (declined, cancelled):
        assert_409(outcome(client, other))
    pending = ask(client, alias, world["vacancy"]).json()["id"]
    assert_409(outcome(client, pending))
    first = outcome(client, accepted)
    assert first.status_code == 201, first.text
    duplicate = outcome(client, accepted)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] in ("conflict", "illegal-transition")

    # Expired: from expiresAt on, a pending introduction is expired on every path.
    clock.advance(days=14, seconds=1)
    assert get(client, pending).json()["status"] == "expired"
    assert_409(decide(client, pending))
    assert_409(cancel(client, pending))
    assert_409(outcome(client, pending))
    # The accepted one is unaffected by time.
    assert get(client, accepted).json()["status"] == "accepted"


def test_unknown_introductions_are_404(client: TestClient) -> None:
    for response in (
        client.get("/v1/introductions/nope", headers=MEMBER_A),
        client.post("/v1/introductions/nope/cancellation", headers=MEMBER_A),
        client.get("/v1/publication/introductions/nope", headers=PUBLISHER),
        decide(client, "nope"),
        outcome(client, "nope"),
        client.get("/v1/publication/introductions/nope/outcomes", headers=PUBLISHER),
    ):
        assert response.status_code == 404, response.text


# ---------------------------------------------------------------------------- expiry
def test_expiry_is_read_time_and_persisted_once(
    client: TestClient, world: dict[str, Any], clock: Any, store: Store
) -> None:
    intro = ask(client, world["a"][0], world["vacancy"]).json()
    clock.advance(days=13, hours=23)
    assert get(client, intro["id"]).json()["status"] == "pending"
    clock.advance(hours=1, seconds=1)
    # Every read path says expired.
    assert get(client, intro["id"]).json()["status"] == "expired"
    assert get(client, intro["id"]).json()["closedAt"] == intro["expiresAt"]
    record = client.get(f"/v1/publication/introductions/{intro['id']}", headers=PUBLISHER).json()
    assert record["status"] == "expired"
    expired = client.get("/v1/introductions", params={"status": "expired"}, headers=MEMBER_A)
    assert [i["id"] for i in expired.json()["items"]] == [intro["id"]]
    pending = client.get("/v1/introductions", params={"status": "pending"}, headers=MEMBER_A)
    assert pending.json()["items"] == []
    # Persisted once: one event and one log record for the expiry.
    assert store.settle_introductions() == 0
    events = client.get(
        "/v1/events", params={"types": "nl.openwerk.introduction.updated"}, headers=MEMBER_A
    ).json()["items"]
    assert [(e["subject"], e["data"]["status"]) for e in events] == [(intro["id"], "expired")]
    log = access_log(client, record["candidateId"])
    assert [e["operation"] for e in log].count("expireIntroduction") == 1


def test_the_expiry_period_is_configurable(node_factory: Any, world: dict[str, Any]) -> None:
    short = node_factory(introduction_ttl_days=3)
    intro = ask(short, world["a"][0], world["vacancy"]).json()
    created = datetime.fromisoformat(intro["createdAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(intro["expiresAt"].replace("Z", "+00:00"))
    assert expires - created == timedelta(days=3)


# ---------------------------------------------------------------------------- consent ends
def test_withdrawal_cancels_pending_and_hides_identity(
    client: TestClient, world: dict[str, Any]
) -> None:
    alias = world["a"][0]
    pending = ask(client, alias, world["vacancy"]).json()["id"]
    accepted = ask(client, alias, world["vacancy"]).json()["id"]
    assert decide(client, accepted).status_code == 200
    assert "identity" in get(client, accepted).json()
    candidate_id = candidate_of(client, pending)
    consent_id = dict(world["people"])[candidate_id]
    withdrawn = client.post(
        f"/v1/publication/candidates/{candidate_id}/consents/{consent_id}/withdrawal",
        headers=PUBLISHER,
    )
    assert withdrawn.status_code == 200
    # OW-CONSENT-009: the pending one is cancelled, in the same transaction.
    assert get(client, pending).json()["status"] == "cancelled"
    # The accepted one stays accepted, but the identity is no longer shown.
    after = get(client, accepted).json()
    assert after["status"] == "accepted"
    assert "identity" not in after
    # The requester learns of the cancellation through its feed.
    events = client.get(
        "/v1/events", params={"types": "nl.openwerk.introduction.updated"}, headers=MEMBER_A
    ).json()["items"]
    assert (pending, "cancelled") in [(e["subject"], e["data"]["status"]) for e in events]
    assert "withdrawConsent" in [e["operation"] for e in access_log(client, candidate_id)]


def test_a_consent_that_still_covers_the_requester_keeps_the_introduction(
    client: TestClient, docs: Documents
) -> None:
    # Two consents: any-member and one naming consumer-a. Withdrawing the first keeps a.
    items = [
        {
            "candidate": docs.candidate(externalReference=f"KL-{n}"),
            "consents": [
                docs.consent(),
                docs.consent(recipients={"scope": "members", "members": ["consumer-a"]}),
            ],
        }
        for n in range(5)
    ]
    created = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    ).json()["items"]
    target = {"type": "vacancy", "id": vacancy(client, docs)}
    kept = ask(client, pseudonyms(client, MEMBER_A)[0], target).json()["id"]
    lost = ask(client, pseudonyms(client, MEMBER_B)[0], target, MEMBER_B).json()["id"]
    for entry in created:
        url = (
            f"/v1/publication/candidates/{entry['candidateId']}/consents/"
            f"{entry['consentIds'][0]}/withdrawal"
        )
        assert client.post(url, headers=PUBLISHER).status_code == 200
    assert get(client, kept).json()["status"] == "pending"
    assert get(client, lost, MEMBER_B).json()["status"] == "cancelled"


def test_erasure_cancels_pending_and_erases_the_contact(
    client: TestClient, world: dict[str, Any]
) -> None:
    alias = world["a"][0]
    pending = ask(client, alias, world["vacancy"]).json()["id"]
    accepted = ask(client, alias, world["vacancy"]).json()["id"]
    assert decide(client, accepted).status_code == 200
    candidate_id = candidate_of(client, pending)
    assert (
        client.delete(f"/v1/publication/candidates/{candidate_id}", headers=PUBLISHER).status_code
        == 204
    )
    assert get(client, pending).json()["status"] == "cancelled"
    after = get(client, accepted).json()
    assert after["status"] == "accepted"
    assert "identity" not in after
    record = client.get(f"/v1/publication/introductions/{accepted}", headers=PUBLISHER).json()
    assert "contact" not in record
    # The log outlives the record (OW-LOG-005) and shows the cancellation.
    assert "deleteCandidateRecord" in [e["operation"] for e in access_log(client, candidate_id)]


def test_consent_expiry_cancels_pending_introductions(
    client: TestClient, docs: Documents, clock: Any
) -> None:
    short = (clock.current.date() + timedelta(days=3)).isoformat()
    seed(client, docs, validUntil=short)
    target = {"type": "vacancy", "id": vacancy(client, docs)}
    intro = ask(client, pseudonyms(client, MEMBER_A)[0], target).json()["id"]
    clock.advance(days=5)
    assert get(client, intro).json()["status"] == "cancelled"
    assert pseudonyms(client, MEMBER_A) == []


# ---------------------------------------------------------------------------- the log
def test_every_step_is_logged_for_the_candidate(client: TestClient, world: dict[str, Any]) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    intro = ask(client, world["a"][0], world["vacancy"]).json()["id"]
    second = ask(client, world["a"][0], world["vacancy"]).json()["id"]
    cancelled = client.post(
        f"/v1/introductions/{second}/cancellation",
        headers={**MEMBER_A, "traceparent": traceparent},
    )
    assert cancelled.status_code == 200
    assert decide(client, intro).status_code == 200
    assert get(client, intro).status_code == 200  # a read of the revealed identity
    candidate_id = candidate_of(client, intro)
    log = access_log(client, candidate_id)
    operations = [e["operation"] for e in log]
    for operation in (
        "createIntroduction",
        "cancelIntroduction",
        "recordIntroductionDecision",
        "getIntroduction",
    ):
        assert operation in operations
    steps = [e for e in log if e["purpose"] == "introduction"]
    assert {e["consumer"] for e in steps} == {"consumer-a"}
    assert [e["traceId"] for e in steps if e["operation"] == "cancelIntroduction"] == [
        "0af7651916cd43dd8448eb211c80319c"
    ]
    for entry in log:
        assert validation_errors("AccessLogEntry", entry) == []
    # A read without identity (pending, declined) logs nothing beyond the request.
    before = len(access_log(client, candidate_id))
    other = ask(client, world["a"][0], world["vacancy"]).json()["id"]
    get(client, other)
    assert len(access_log(client, candidate_id)) == before + 1  # only createIntroduction


# ---------------------------------------------------------------------------- outcomes
def test_outcomes_are_listed_oldest_first(client: TestClient, world: dict[str, Any]) -> None:
    intro = ask(client, world["a"][0], world["vacancy"]).json()["id"]
    assert decide(client, intro).status_code == 200
    first = outcome(client, intro, "start", instruments=["jobcoach"])
    contract = {"type": "fixed-term", "hoursPerWeek": 24, "startDate": "2026-02-01"}
    second = outcome(
        client, intro, "6-months", outcome="contract", contract=contract, stillWorking=True
    )
    assert first.status_code == second.status_code == 201
    assert validation_errors("PlacementOutcome", second.json()) == []
    page = client.get(f"/v1/publication/introductions/{intro}/outcomes", headers=PUBLISHER).json()
    assert validation_errors("PlacementOutcomePage", page) == []
    assert [o["checkpoint"] for o in page["items"]] == ["start", "6-months"]
    assert page["items"][1]["contract"] == contract
    assert page["items"][0]["introductionId"] == intro
    missing_contract = outcome(client, intro, "12-months", outcome="contract")
    assert missing_contract.status_code == 400


def test_placement_statistics_count_only_consenting_candidates(
    client: TestClient, docs: Documents
) -> None:
    counted = seed(client, docs, 12, purposes=["matching", "statistics"])
    silent = seed(client, docs, 5, purposes=["matching"])
    assert len(counted) + len(silent) == 17
    target = {"type": "vacancy", "id": vacancy(client, docs)}
    for alias in pseudonyms(client, MEMBER_A):
        intro = ask(client, alias, target).json()["id"]
        assert decide(client, intro).status_code == 200
        assert outcome(client, intro, instruments=["jobcoach", "no-riskpolis"]).status_code == 201
    response = client.get(
        "/v1/statistics/placements",
        params={"groupBy": "outcome,opportunityKind,instrument"},
        headers=MEMBER_A,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert validation_errors("Statistics", body) == []
    assert body["population"] == "placements"
    assert body["total"] == {"values": {}, "count": 10, "suppressed": False}  # 12 → 10
    assert body["cells"] == [
        {
            "values": {
                "outcome": "trial-placement",
                "opportunityKind": "regular",
                "instrument": instrument,
            },
            "count": 10,
            "suppressed": False,
        }
        for instrument in ("jobcoach", "no-riskpolis")
    ]
    by_region = client.get(
        "/v1/statistics/placements", params={"arbeidsmarktregio": "AM01"}, headers=MEMBER_A
    ).json()
    assert by_region["total"] == {"values": {}, "suppressed": True}
