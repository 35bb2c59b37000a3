"""L0 reads over HTTP: every filter, paging, JSON-LD, close semantics and access rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
ESCO = "http://data.europa.eu/esco/occupation/6c999fc7-c6b7-4ef3-a4b9-af124a1783a2"  # office clerk


def _create(client: TestClient, path: str, document: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v1/publication/{path}", json=document, headers=PUBLISHER)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def node(module_client: TestClient) -> TestClient:
    """The shared, read-only node of this module."""
    return module_client


@pytest.fixture(scope="module")
def seeded(module_client: TestClient, docs: Any) -> dict[str, dict[str, Any]]:
    """Three vacancies, one task offer and two instruments with distinct filter values.

    Module-scoped: the tests that use it only read.
    """
    client = module_client
    garden = _create(client, "vacancies", docs.vacancy())
    office = _create(
        client,
        "vacancies",
        docs.vacancy(
            title="Administratief medewerker",
            kind="banenafspraak",
            occupation={"isco08": "4110", "escoUri": ESCO},
            skills=[{"label": "Archiveren", "importance": "essential"}],
            location={"gemeente": "GM0014", "arbeidsmarktregio": "AM01"},
            hoursPerWeek={"min": 36, "max": 40},
            instruments=["no-riskpolis"],
        ),
    )
    cleaner = _create(
        client,
        "vacancies",
        docs.vacancy(
            title="Schoonmaker",
            occupation={"isco08": "9112"},
            skills=[],
            hoursPerWeek={"min": 8, "max": 12},
            instruments=[],
        ),
    )
    task = _create(client, "task-offers", docs.task_offer())
    coach = _create(client, "instruments", docs.instrument())
    polis = _create(
        client, "instruments", docs.instrument(type="no-riskpolis", appliesIn=["GM0014"])
    )
    return {
        "garden": garden,
        "office": office,
        "cleaner": cleaner,
        "task": task,
        "coach": coach,
        "polis": polis,
    }


def _ids(client: TestClient, path: str, **params: Any) -> list[str]:
    response = client.get(f"/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    schema = {"vacancies": "VacancyPage", "task-offers": "TaskOfferPage"}.get(
        path, "InstrumentPage"
    )
    assert validation_errors(schema, page) == []
    return [item["id"] for item in page["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["cleaner", "office", "garden"]),
        ({"occupation": "9"}, ["cleaner", "garden"]),
        ({"occupation": "92"}, ["garden"]),
        ({"occupation": "4110"}, ["office"]),
        ({"occupation": ESCO}, ["office"]),
        ({"skill": "snoeien"}, ["garden"]),
        ({"skill": "ARCHIVEREN"}, ["office"]),
        (
            {"skill": "http://data.europa.eu/esco/skill/0e2f1a0e-0000-4000-8000-000000000001"},
            ["garden"],
        ),
        ({"gemeente": "GM0014"}, ["office"]),
        ({"arbeidsmarktregio": "AM13"}, ["cleaner", "garden"]),
        ({"kind": "banenafspraak"}, ["office"]),
        ({"hoursMin": 33}, ["office"]),
        ({"hoursMax": 10}, ["cleaner"]),
        ({"hoursMin": 20, "hoursMax": 24}, ["garden"]),
        ({"instrument": "no-riskpolis"}, ["office"]),
        ({"instrument": "loonkostensubsidie", "gemeente": "GM0344"}, ["garden"]),
        ({"status": "closed"}, []),
    ],
)
def test_vacancy_filters(
    node: TestClient,
    seeded: dict[str, dict[str, Any]],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert _ids(node, "vacancies", **params) == [seeded[name]["id"] for name in expected]


def test_updated_since(client: TestClient, docs: Any, clock: Any) -> None:
    old = _create(client, "vacancies", docs.vacancy())
    fresh = _create(client, "vacancies", docs.vacancy())
    clock.advance(seconds=5)
    replaced = client.put(
        f"/v1/publication/vacancies/{old['id']}", json=docs.vacancy(), headers=PUBLISHER
    )
    assert replaced.status_code == 200, replaced.text
    since = replaced.json()["updatedAt"]
    assert _ids(client, "vacancies", updatedSince=since) == [old["id"]]
    assert _ids(client, "vacancies", updatedSince=fresh["updatedAt"]) == [fresh["id"], old["id"]]
    # An unencoded "+" offset arrives as a space; it is read as "+".
    offset = since.replace("Z", "+00:00").replace("+", " ")
    response = client.get(f"/v1/vacancies?updatedSince={offset}")
    assert [item["id"] for item in response.json()["items"]] == [old["id"]]


def test_task_offers_and_instruments(node: TestClient, seeded: dict[str, dict[str, Any]]) -> None:
    client = node
    assert _ids(client, "task-offers") == [seeded["task"]["id"]]
    assert _ids(client, "task-offers", kind="neighbourhood-task-package") == [seeded["task"]["id"]]
    offer = client.get(f"/v1/task-offers/{seeded['task']['id']}")
    assert offer.status_code == 200
    assert validation_errors("TaskOffer", offer.json()) == []
    assert client.get(f"/v1/task-offers/{seeded['garden']['id']}").status_code == 404
    assert client.get(f"/v1/vacancies/{seeded['task']['id']}").status_code == 404

    assert _ids(client, "instruments") == [seeded["polis"]["id"], seeded["coach"]["id"]]
    assert _ids(client, "instruments", type="jobcoach") == [seeded["coach"]["id"]]
    assert _ids(client, "instruments", gemeente="GM0014") == [seeded["polis"]["id"]]
    one = client.get(f"/v1/instruments/{seeded['coach']['id']}")
    assert one.status_code == 200
    assert validation_errors("Instrument", one.json()) == []


def test_paging_follows_next_links_without_duplicates(client: TestClient, docs: Any) -> None:
    made = [_create(client, "vacancies", docs.vacancy(title=f"V{i}"))["id"] for i in range(7)]
    seen: list[str] = []
    url: str | None = "/v1/vacancies?limit=3&gemeente=GM0344"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()
        assert page["links"]["self"]["href"].startswith("http://testserver/v1/vacancies?")
        seen += [item["id"] for item in page["items"]]
        url = page["links"].get("next", {}).get("href")
        pages += 1
    assert seen == list(reversed(made))
    assert pages == 3


def test_limit_above_maximum_is_clamped(client: TestClient, docs: Any) -> None:
    for i in range(3):
        _create(client, "vacancies", docs.vacancy(title=f"V{i}"))
    response = client.get("/v1/vacancies", params={"limit": 1_000_000_000})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
    first = client.get("/v1/vacancies", params={"limit": 2}).json()
    assert "limit=2" in first["links"]["next"]["href"]


def test_close_semantics(client: TestClient, docs: Any) -> None:
    vacancy_id = _create(client, "vacancies", docs.vacancy())["id"]
    closed = client.post(f"/v1/publication/vacancies/{vacancy_id}/closure", headers=PUBLISHER)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert "closedAt" in closed.json()
    assert vacancy_id not in _ids(client, "vacancies")
    assert _ids(client, "vacancies", status="closed") == [vacancy_id]
    fetched = client.get(f"/v1/vacancies/{vacancy_id}")
    assert fetched.json()["status"] == "closed"

    again = client.post(f"/v1/publication/vacancies/{vacancy_id}/closure", headers=PUBLISHER)
    assert again.status_code == 409
    assert again.json()["code"] == "illegal-transition"
    replaced = client.put(
        f"/v1/publication/vacancies/{vacancy_id}", json=docs.vacancy(), headers=PUBLISHER
    )
    assert replaced.status_code == 409
    assert replaced.json()["code"] == "conflict"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/ld+json", "application/ld+json"),
        ("application/json;q=0.5, application/ld+json", "application/ld+json"),
        ("text/html, application/*;q=0.1", "application/json"),
    ],
)
def test_vacancy_content_negotiation(
    node: TestClient, seeded: dict[str, dict[str, Any]], accept: str | None, media: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = node.get(f"/v1/vacancies/{seeded['office']['id']}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    if media == "application/ld+json":
        posting = response.json()
        assert validation_errors("JobPosting", posting) == []
        assert posting["@type"] == "JobPosting"
        assert posting["identifier"]["value"] == seeded["office"]["id"]
        assert posting["occupationalCategory"] == "4110"
        assert posting["employmentType"] == ["FULL_TIME"]
        assert posting["jobLocation"]["address"]["addressLocality"] == "Groningen"
    else:
        assert validation_errors("Vacancy", response.json()) == []


def test_unsupported_accept_is_406(node: TestClient, seeded: dict[str, dict[str, Any]]) -> None:
    response = node.get(f"/v1/vacancies/{seeded['office']['id']}", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not-acceptable"


def test_private_node_requires_opportunities_read(node_factory: Callable[..., TestClient]) -> None:
    client = node_factory(public_opportunities=False)
    anonymous = client.get("/v1/vacancies")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert (
        client.get("/v1/vacancies", headers={"Authorization": "Bearer reader-token"}).status_code
        == 200
    )
    no_scope = client.get("/v1/vacancies", headers={"Authorization": "Bearer consumer-token"})
    assert no_scope.status_code == 403
    assert no_scope.json()["code"] == "insufficient-scope"
    assert 'scope="opportunities:read"' in no_scope.headers["www-authenticate"]
    bad = client.get("/v1/vacancies", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    landing = client.get("/v1").json()
    assert landing["publicOpportunities"] is False


def test_public_node_still_rejects_bad_tokens(client: TestClient) -> None:
    assert client.get("/v1/vacancies").status_code == 200
    bad = client.get("/v1/vacancies", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    malformed = client.get("/v1/vacancies", headers={"Authorization": "Basic abc"})
    assert malformed.status_code == 401
