"""The custodian's write API over HTTP: auth, writes, candidates, consents, erasure, batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from openwerk_server.storage import EventQuery, Store
from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
CONSUMER = {"Authorization": "Bearer consumer-token"}


def _post(client: TestClient, path: str, body: Any = None, status: int = 201) -> dict[str, Any]:
    response = client.post(f"/v1{path}", json=body, headers=PUBLISHER)
    assert response.status_code == status, response.text
    document: dict[str, Any] = response.json()
    return document


def _event_types(store: Store) -> list[str]:
    return [e.type for e in store.list_events(EventQuery()).items]


# ---------------------------------------------------------------------------- access
def test_publication_needs_the_publication_scope(client: TestClient, docs: Any) -> None:
    anonymous = client.post("/v1/publication/vacancies", json=docs.vacancy())
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthorized"
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="openwerk"'

    consumer = client.get("/v1/publication/candidates", headers=CONSUMER)
    assert consumer.status_code == 403
    assert consumer.json()["code"] == "insufficient-scope"
    assert 'error="insufficient_scope"' in consumer.headers["www-authenticate"]
    assert 'scope="publication:write"' in consumer.headers["www-authenticate"]


def test_auth_comes_before_input_validation(client: TestClient) -> None:
    response = client.post("/v1/publication/vacancies", content=b"{not json")
    assert response.status_code == 401


def test_without_an_authenticator_protected_routes_stay_closed(
    node_factory: Callable[..., TestClient], docs: Any
) -> None:
    closed = node_factory(authenticated=False)
    response = closed.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid-token"
    assert closed.get("/v1/publication/candidates").status_code == 401
    assert closed.get("/v1/vacancies").status_code == 200  # open data stays open


# ---------------------------------------------------------------------------- opportunities
def test_create_replace_close_vacancy(client: TestClient, store: Store, docs: Any) -> None:
    response = client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
    assert response.status_code == 201
    created = response.json()
    assert validation_errors("Vacancy", created) == []
    assert response.headers["location"] == f"http://testserver/v1/vacancies/{created['id']}"
    assert created["publisher"] == "test-node"
    assert created["status"] == "open"

    replaced = client.put(
        f"/v1/publication/vacancies/{created['id']}",
        json=docs.vacancy(title="Nieuwe titel"),
        headers=PUBLISHER,
    )
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "Nieuwe titel"
    assert replaced.json()["createdAt"] == created["createdAt"]
    closed = _post(client, f"/publication/vacancies/{created['id']}/closure", status=200)
    assert closed["status"] == "closed"
    assert _event_types(store) == [
        "nl.openwerk.vacancy.published",
        "nl.openwerk.vacancy.updated",
        "nl.openwerk.vacancy.closed",
    ]
    missing = client.put("/v1/publication/vacancies/nope", json=docs.vacancy(), headers=PUBLISHER)
    assert missing.status_code == 404


def test_task_offer_and_instrument_writes(client: TestClient, docs: Any) -> None:
    offer = _post(client, "/publication/task-offers", docs.task_offer())
    assert validation_errors("TaskOffer", offer) == []
    replaced = client.put(
        f"/v1/publication/task-offers/{offer['id']}",
        json=docs.task_offer(title="Andere klus"),
        headers=PUBLISHER,
    )
    assert replaced.json()["title"] == "Andere klus"
    assert (
        _post(client, f"/publication/task-offers/{offer['id']}/closure", status=200)["status"]
        == "closed"
    )

    instrument = _post(client, "/publication/instruments", docs.instrument())
    assert validation_errors("Instrument", instrument) == []
    assert instrument["status"] == "active"
    closed = _post(client, f"/publication/instruments/{instrument['id']}/closure", status=200)
    assert closed["status"] == "closed"
    again = client.post(
        f"/v1/publication/instruments/{instrument['id']}/closure", headers=PUBLISHER
    )
    assert again.status_code == 409


def test_vacancy_kind_must_be_a_vacancy_kind(client: TestClient, docs: Any) -> None:
    response = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(kind="carved-tasks"), headers=PUBLISHER
    )
    assert response.status_code == 400
    assert [p["name"] for p in response.json()["invalidParams"]] == ["body.kind"]


@pytest.mark.parametrize(
    ("change", "name", "code"),
    [
        ({"hoursPerWeek": {"min": 30, "max": 20}}, "body.hoursPerWeek.min", "range"),
        (
            {"location": {"gemeente": "GM9999", "arbeidsmarktregio": "AM13"}},
            "body.location.gemeente",
            "code-list",
        ),
        (
            {"location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM01"}},
            "body.location.arbeidsmarktregio",
            "mismatch",
        ),
        ({"occupation": {"isco08": "9999"}}, "body.occupation.isco08", "code-list"),
        ({"applicationUrl": "mailto:jobs@example.nl"}, "body.applicationUrl", "format"),
    ],
)
def test_semantic_rules_on_opportunities(
    client: TestClient, docs: Any, change: dict[str, Any], name: str, code: str
) -> None:
    response = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(**change), headers=PUBLISHER
    )
    assert response.status_code == 400, response.text
    params = response.json()["invalidParams"]
    assert {"name": name, "code": code} in [{"name": p["name"], "code": p["code"]} for p in params]


# ---------------------------------------------------------------------------- candidates
def test_candidate_record_lifecycle_and_erasure(
    client: TestClient, store: Store, docs: Any
) -> None:
    response = client.post("/v1/publication/candidates", json=docs.candidate(), headers=PUBLISHER)
    assert response.status_code == 201, response.text
    record = response.json()
    assert validation_errors("CandidateRecord", record) == []
    assert record["arbeidsmarktregio"] == "AM13"
    assert record["person"]["bsn"] == "111222333"
    assert response.headers["location"].endswith(f"/publication/candidates/{record['id']}")
    assert _event_types(store) == []  # not published before consent

    listed = client.get(
        "/v1/publication/candidates", params={"externalReference": "KL-001"}, headers=PUBLISHER
    )
    assert [item["id"] for item in listed.json()["items"]] == [record["id"]]
    assert validation_errors("CandidateRecordPage", listed.json()) == []
    fetched = client.get(f"/v1/publication/candidates/{record['id']}", headers=PUBLISHER)
    assert fetched.json() == record

    replaced = client.put(
        f"/v1/publication/candidates/{record['id']}",
        json=docs.candidate(gemeente="GM0014"),
        headers=PUBLISHER,
    )
    assert replaced.status_code == 200
    assert replaced.json()["arbeidsmarktregio"] == "AM01"

    _post(client, f"/publication/candidates/{record['id']}/consents", docs.consent())
    erased = client.delete(f"/v1/publication/candidates/{record['id']}", headers=PUBLISHER)
    assert erased.status_code == 204
    assert erased.content == b""
    assert (
        client.get(f"/v1/publication/candidates/{record['id']}", headers=PUBLISHER).status_code
        == 404
    )
    consents = client.get(f"/v1/publication/candidates/{record['id']}/consents", headers=PUBLISHER)
    assert consents.status_code == 404
    assert _event_types(store)[-1] == "nl.openwerk.candidate.tombstone"
    assert (
        client.delete(f"/v1/publication/candidates/{record['id']}", headers=PUBLISHER).status_code
        == 404
    )


def test_bsn_must_pass_the_elfproef(client: TestClient, docs: Any) -> None:
    person = {**docs.candidate()["person"], "bsn": "123456789"}
    response = client.post(
        "/v1/publication/candidates", json=docs.candidate(person=person), headers=PUBLISHER
    )
    assert response.status_code == 400
    assert response.json()["invalidParams"][0]["name"] == "body.person.bsn"
    assert "123456789" not in response.text  # refused values are not echoed


# ---------------------------------------------------------------------------- consents
@pytest.fixture
def candidate_id(client: TestClient, docs: Any) -> str:
    return str(_post(client, "/publication/candidates", docs.candidate())["id"])


def test_consent_state_machine(
    client: TestClient, candidate_id: str, docs: Any, clock: Any
) -> None:
    base = f"/publication/candidates/{candidate_id}/consents"
    first = _post(client, base, docs.consent())
    assert validation_errors("Consent", first) == []
    assert first["status"] == "given"
    assert first["lastConfirmedAt"] == first["givenAt"]
    second = _post(client, base, docs.consent(purposes=["matching", "statistics"]))
    listed = client.get(f"/v1{base}", headers=PUBLISHER).json()
    assert [c["id"] for c in listed["items"]] == [second["id"], first["id"]]
    assert validation_errors("ConsentPage", listed) == []

    until = (date.today() + timedelta(days=300)).isoformat()
    reconfirmed = _post(client, f"{base}/{first['id']}/reconfirmation", {"validUntil": until}, 200)
    assert reconfirmed["validUntil"] == until
    assert reconfirmed["status"] == "given"

    withdrawn = _post(client, f"{base}/{first['id']}/withdrawal", None, 200)
    assert withdrawn["status"] == "withdrawn"
    assert "withdrawnAt" in withdrawn
    for step, body in (("withdrawal", None), ("reconfirmation", {"validUntil": until})):
        refused = client.post(f"/v1{base}/{first['id']}/{step}", json=body, headers=PUBLISHER)
        assert refused.status_code == 409
        assert refused.json()["code"] == "illegal-transition"

    clock.advance(days=200)  # the second consent (six months) has run out
    expired = client.get(f"/v1{base}/{second['id']}", headers=PUBLISHER).json()
    assert expired["status"] == "expired"
    refused = client.post(f"/v1{base}/{second['id']}/withdrawal", headers=PUBLISHER)
    assert refused.status_code == 409


def test_withdrawal_accepts_evidence(client: TestClient, candidate_id: str, docs: Any) -> None:
    base = f"/publication/candidates/{candidate_id}/consents"
    consent = _post(client, base, docs.consent())
    evidence = {"evidence": {"kind": "recorded-verbal", "reference": "CALL-7"}}
    assert (
        _post(client, f"{base}/{consent['id']}/withdrawal", evidence, 200)["status"] == "withdrawn"
    )


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"validUntil": (date.today() + timedelta(days=400)).isoformat()}, "body.validUntil"),
        ({"validUntil": (date.today() - timedelta(days=1)).isoformat()}, "body.validUntil"),
        ({"givenAt": "2999-01-01T00:00:00Z"}, "body.givenAt"),
    ],
)
def test_consent_dates(
    client: TestClient, candidate_id: str, docs: Any, change: dict[str, Any], name: str
) -> None:
    response = client.post(
        f"/v1/publication/candidates/{candidate_id}/consents",
        json=docs.consent(**change),
        headers=PUBLISHER,
    )
    assert response.status_code == 400
    assert name in [p["name"] for p in response.json()["invalidParams"]]


def test_reconfirmation_is_limited_to_twelve_months(
    client: TestClient, candidate_id: str, docs: Any
) -> None:
    base = f"/publication/candidates/{candidate_id}/consents"
    consent = _post(client, base, docs.consent())
    too_far = (date.today() + timedelta(days=370)).isoformat()
    response = client.post(
        f"/v1{base}/{consent['id']}/reconfirmation",
        json={"validUntil": too_far},
        headers=PUBLISHER,
    )
    assert response.status_code == 400


def test_consent_for_unknown_candidate_is_404(client: TestClient, docs: Any) -> None:
    response = client.post(
        "/v1/publication/candidates/nobody/consents", json=docs.consent(), headers=PUBLISHER
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------------- batches
def test_batch_stores_everything_in_order(client: TestClient, store: Store, docs: Any) -> None:
    items = [
        {"candidate": docs.candidate(externalReference=f"B{i}"), "consents": [docs.consent()]}
        for i in range(3)
    ]
    items.append({"candidate": docs.candidate(externalReference="B3")})
    result = _post(client, "/publication/candidate-batches", {"items": items})
    assert validation_errors("CandidateBatchResult", result) == []
    assert [r["externalReference"] for r in result["items"]] == ["B0", "B1", "B2", "B3"]
    assert [len(r["consentIds"]) for r in result["items"]] == [1, 1, 1, 0]
    assert _event_types(store).count("nl.openwerk.candidate.updated") == 3


def test_batch_refuses_whole_and_names_every_item(
    client: TestClient, docs: Any, row_counts: Callable[[], dict[str, int]]
) -> None:
    before = row_counts()
    bad_place = docs.candidate(gemeente="GM9999")
    bad_hours = docs.candidate(hoursPerWeek={"min": 40, "max": 10})
    items = [
        {"candidate": docs.candidate()},
        {"candidate": bad_place},
        {"candidate": bad_hours, "consents": [docs.consent(validUntil="2000-01-01")]},
    ]
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    )
    assert response.status_code == 400
    names = {p["name"] for p in response.json()["invalidParams"]}
    assert names == {
        "body.items[1].candidate.gemeente",
        "body.items[2].candidate.hoursPerWeek.min",
        "body.items[2].consents[0].validUntil",
    }
    assert row_counts() == before


def test_batch_over_1000_items_is_refused(
    client: TestClient, docs: Any, row_counts: Callable[[], dict[str, int]]
) -> None:
    item = {"candidate": docs.candidate()}
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": [item] * 1001}, headers=PUBLISHER
    )
    assert response.status_code == 400
    assert response.json()["invalidParams"][0] == {
        "name": "body.items",
        "reason": "must have at most 1000 item(s)",
        "code": "max-items",
    }
    assert sum(row_counts().values()) == 0
