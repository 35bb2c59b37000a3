"""Events class: the per-consumer CloudEvents feed.

Opportunity events reach every consumer; candidate events only the consumers that could see
the card, under their own pseudonym and with an event id of their own; introduction events
only their requester. ``links.next`` is always present and resumes without loss or repeat.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
MEMBER_A = {"Authorization": "Bearer member-a-token"}  # consumer-a, platform
MEMBER_B = {"Authorization": "Bearer member-b-token"}  # consumer-b, werkgever
NO_EVENTS = {"Authorization": "Bearer consumer-a-token"}  # consumer-a without events:read
SECRET = ("test-secret-" + "x" * 32).encode()
Documents = Any  # conftest.Documents
TOMBSTONE = "nl.openwerk.candidate.tombstone"
UPDATED = "nl.openwerk.candidate.updated"


def feed(
    client: TestClient, headers: dict[str, str], **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """All events now in the caller's feed (following ``next`` until a page is empty) and
    the last ``next`` href."""
    found: list[dict[str, Any]] = []
    url: str = "/v1/events"
    query: dict[str, Any] | None = {"limit": 100, **params}
    while True:
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert validation_errors("EventPage", page) == []
        found += page["items"]
        url, query = page["links"]["next"]["href"], None
        if not page["items"]:
            return found, url


def batch(client: TestClient, docs: Documents, count: int = 5, **consent: Any) -> list[Any]:
    items = [
        {
            "candidate": docs.candidate(externalReference=f"EV-{n}"),
            "consents": [docs.consent(**consent)],
        }
        for n in range(count)
    ]
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    )
    assert response.status_code == 201, response.text
    return list(response.json()["items"])


def withdraw(client: TestClient, entry: dict[str, Any], index: int = 0) -> None:
    url = (
        f"/v1/publication/candidates/{entry['candidateId']}/consents/"
        f"{entry['consentIds'][index]}/withdrawal"
    )
    assert client.post(url, headers=PUBLISHER).status_code == 200


def test_opportunity_events_reach_every_consumer(client: TestClient, docs: Documents) -> None:
    created = client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
    vacancy_id = created.json()["id"]
    client.post(f"/v1/publication/vacancies/{vacancy_id}/closure", headers=PUBLISHER)
    for headers in (MEMBER_A, MEMBER_B):
        events, _ = feed(client, headers)
        assert [(e["type"], e["subject"], e["data"]) for e in events] == [
            ("nl.openwerk.vacancy.published", vacancy_id, {"id": vacancy_id, "status": "open"}),
            ("nl.openwerk.vacancy.closed", vacancy_id, {"id": vacancy_id, "status": "closed"}),
        ]
        for event in events:
            assert event["specversion"] == "1.0"
            assert event["source"] == "http://testserver/v1"
            assert event["datacontenttype"] == "application/json"
            assert validation_errors("CloudEvent", event) == []
    # The same event has the same id in every feed.
    assert [e["id"] for e in feed(client, MEMBER_A)[0]] == [
        e["id"] for e in feed(client, MEMBER_B)[0]
    ]


def test_a_tombstone_is_in_each_consumers_own_pseudonym(
    client: TestClient, docs: Documents
) -> None:
    entries = batch(client, docs)
    _, mark_a = feed(client, MEMBER_A)
    _, mark_b = feed(client, MEMBER_B)
    withdraw(client, entries[0])
    internal = entries[0]["candidateId"]
    new_a = client.get(mark_a, headers=MEMBER_A).json()["items"]
    new_b = client.get(mark_b, headers=MEMBER_B).json()["items"]
    for events, member in ((new_a, "consumer-a"), (new_b, "consumer-b")):
        assert [e["type"] for e in events] == [TOMBSTONE]
        alias = pseudonym(SECRET, member, internal)
        assert events[0]["subject"] == alias
        assert events[0]["data"] == {"pseudonym": alias}  # no reason (OW-EVT-003)
        assert internal not in str(events)
    # Unlinkable: the two consumers' copies share neither subject nor id.
    assert new_a[0]["subject"] != new_b[0]["subject"]
    assert new_a[0]["id"] != new_b[0]["id"]
    # Stable: the same event keeps its id in a consumer's feed.
    assert client.get(mark_a, headers=MEMBER_A).json()["items"][0]["id"] == new_a[0]["id"]


def test_candidate_events_only_for_consumers_that_could_see_the_card(
    client: TestClient, docs: Documents
) -> None:
    only_a = batch(client, docs, recipients={"scope": "members", "members": ["consumer-a"]})
    events_b, _ = feed(client, MEMBER_B, types=f"{UPDATED},{TOMBSTONE}")
    assert events_b == []
    events_a, _ = feed(client, MEMBER_A, types=UPDATED)
    assert {e["subject"] for e in events_a} == {
        pseudonym(SECRET, "consumer-a", e["candidateId"]) for e in only_a
    }
    _, mark_a = feed(client, MEMBER_A)
    _, mark_b = feed(client, MEMBER_B)
    withdraw(client, only_a[0])
    assert [e["type"] for e in client.get(mark_a, headers=MEMBER_A).json()["items"]] == [TOMBSTONE]
    assert client.get(mark_b, headers=MEMBER_B).json()["items"] == []


def test_losing_one_consent_while_another_covers_is_an_update(
    client: TestClient, docs: Documents
) -> None:
    items = [
        {
            "candidate": docs.candidate(externalReference=f"EV-{n}"),
            "consents": [
                docs.consent(purposes=["matching", "share-support-needs"]),
                docs.consent(recipients={"scope": "members", "members": ["consumer-a"]}),
            ],
        }
        for n in range(5)
    ]
    entries = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    ).json()["items"]
    _, mark_a = feed(client, MEMBER_A)
    _, mark_b = feed(client, MEMBER_B)
    withdraw(client, entries[0], 0)
    # consumer-a still sees the card (without support needs): an update, not a tombstone.
    assert [e["type"] for e in client.get(mark_a, headers=MEMBER_A).json()["items"]] == [UPDATED]
    assert [e["type"] for e in client.get(mark_b, headers=MEMBER_B).json()["items"]] == [TOMBSTONE]
    # Filtering on the type the consumer sees, not the stored one.
    assert client.get(mark_a, params=None, headers=MEMBER_A).status_code == 200
    only_tombstones, _ = feed(client, MEMBER_A, types=TOMBSTONE)
    assert only_tombstones == []


def test_erasure_tombstones_reach_every_consumer(client: TestClient, docs: Documents) -> None:
    entries = batch(client, docs)
    _, mark_a = feed(client, MEMBER_A)
    internal = entries[0]["candidateId"]
    assert (
        client.delete(f"/v1/publication/candidates/{internal}", headers=PUBLISHER).status_code
        == 204
    )
    events = client.get(mark_a, headers=MEMBER_A).json()["items"]
    assert [(e["type"], e["subject"]) for e in events] == [
        (TOMBSTONE, pseudonym(SECRET, "consumer-a", internal))
    ]


def test_updates_disappear_once_the_consent_ends(client: TestClient, docs: Documents) -> None:
    entries = batch(client, docs, recipients={"scope": "members", "members": ["consumer-a"]})
    before, _ = feed(client, MEMBER_A, types=UPDATED)
    assert len(before) == 5
    withdraw(client, entries[0])
    after, _ = feed(client, MEMBER_A, types=UPDATED)
    gone = pseudonym(SECRET, "consumer-a", entries[0]["candidateId"])
    assert gone not in {e["subject"] for e in after}
    assert len(after) == 4


def test_introduction_events_only_for_the_requester(client: TestClient, docs: Documents) -> None:
    batch(client, docs)
    vacancy_id = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER
    ).json()["id"]
    alias = client.get("/v1/candidates", headers=MEMBER_A).json()["items"][0]["id"]
    intro = client.post(
        "/v1/introductions",
        json={
            "opportunity": {"type": "vacancy", "id": vacancy_id},
            "candidate": alias,
            "requesterRole": "intermediary",
            "contactPerson": {"name": "A. Accountmanager"},
            "message": "Kennismaking?",
        },
        headers=MEMBER_A,
    ).json()
    client.post(
        f"/v1/publication/introductions/{intro['id']}/decision",
        json={
            "decision": "declined",
            "consent": {"collectionMethod": "self-service", "noticeVersion": "v1"},
        },
        headers=PUBLISHER,
    )
    kind = "nl.openwerk.introduction.updated"
    mine, _ = feed(client, MEMBER_A, types=kind)
    assert [(e["subject"], e["data"]) for e in mine] == [
        (intro["id"], {"id": intro["id"], "status": "declined"})
    ]
    theirs, _ = feed(client, MEMBER_B, types=kind)
    assert theirs == []


def test_next_is_always_present_and_resumes_without_loss_or_repeat(
    client: TestClient, docs: Documents
) -> None:
    empty = client.get("/v1/events", headers=MEMBER_A).json()
    assert empty["items"] == []
    assert "next" in empty["links"]
    # With nothing new, next stays where it is.
    again = client.get(empty["links"]["next"]["href"], headers=MEMBER_A).json()
    assert again["items"] == []
    assert again["links"]["next"] == empty["links"]["next"]
    ids = []
    for n in range(7):
        created = client.post(
            "/v1/publication/vacancies", json=docs.vacancy(title=f"V{n}"), headers=PUBLISHER
        )
        ids.append(created.json()["id"])
    seen: list[str] = []
    url = empty["links"]["next"]["href"].replace("limit=20", "limit=3")
    while True:
        page = client.get(url, headers=MEMBER_A).json()
        if not page["items"]:
            break
        assert len(page["items"]) <= 3
        seen += [e["subject"] for e in page["items"]]
        url = page["links"]["next"]["href"]
    assert seen == ids
    # A filter on types skips the rest; an unknown type and a foreign cursor are 400.
    assert feed(client, MEMBER_A, types="nl.openwerk.instrument.published")[0] == []
    bad_type = client.get("/v1/events", params={"types": "nl.openwerk.x"}, headers=MEMBER_A)
    assert bad_type.status_code == 400
    bad_cursor = client.get("/v1/events", params={"cursor": "abc.def"}, headers=MEMBER_A)
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["invalidParams"][0]["name"] == "cursor"


def test_the_feed_needs_the_events_scope(client: TestClient) -> None:
    assert client.get("/v1/events").status_code == 401
    assert client.get("/v1/events", headers=NO_EVENTS).status_code == 403
