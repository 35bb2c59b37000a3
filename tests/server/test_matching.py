"""Matching class: ``POST /matches`` ranks exactly as the score-v1 reference does.

The conformance fixture dataset (spec/v1/fixtures, dates shifted to today as its README
prescribes) is loaded through the publication API. For every vacancy and task offer and
both fixture consumers, the node's answer must equal ``openwerk_spec.score.rank`` computed
independently over the cards that consumer gets from ``searchCandidates``: the same cards,
in the same order, with the same score and components. Then filters, limits, references to
another member's opportunity (a second app behind a mock transport) and errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from openwerk.directory import Directory, Member
from openwerk_conformance.fixtures import shift_dates
from openwerk_server.app import create_app
from openwerk_server.routes.matching import criteria_of
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_spec.openapi import validation_errors
from openwerk_spec.paths import spec_v1_dir
from openwerk_spec.score import rank

PUBLISHER = {"Authorization": "Bearer publisher-token"}
MEMBER_A = {"Authorization": "Bearer member-a-token"}  # consumer-a, platform
MEMBER_B = {"Authorization": "Bearer member-b-token"}  # consumer-b, werkgever
READER = {"Authorization": "Bearer reader-token"}  # no candidates:read
FIXTURES = spec_v1_dir() / "fixtures"


# ---------------------------------------------------------------------------- dataset
def _fixture(name: str) -> Any:
    reference = date.fromisoformat(
        json.loads((FIXTURES / "lifecycle.json").read_text())["referenceDate"]
    )
    return shift_dates(json.loads((FIXTURES / name).read_text()), date.today(), reference)


def load_fixture_dataset(client: TestClient) -> dict[str, str]:
    """Candidates (with the lifecycle's withdrawals), vacancies and task offers; key → id."""
    entries = _fixture("candidates.json")
    response = client.post(
        "/v1/publication/candidate-batches",
        json={"items": [{"candidate": e["candidate"], "consents": e["consents"]} for e in entries]},
        headers=PUBLISHER,
    )
    assert response.status_code == 201, response.text
    ids: dict[str, str] = {}
    consents: dict[str, list[str]] = {}
    for entry, created in zip(entries, response.json()["items"], strict=True):
        ids[entry["key"]] = created["candidateId"]
        consents[entry["key"]] = created["consentIds"]
    for withdrawal in _fixture("lifecycle.json")["withdrawals"]:
        key = withdrawal["candidate"]
        consent_id = consents[key][withdrawal["consent"]]
        url = f"/v1/publication/candidates/{ids[key]}/consents/{consent_id}/withdrawal"
        assert client.post(url, headers=PUBLISHER).status_code == 200
    for name, member, path in (
        ("vacancies.json", "vacancy", "vacancies"),
        ("task-offers.json", "taskOffer", "task-offers"),
    ):
        for entry in _fixture(name):
            created = client.post(f"/v1/publication/{path}", json=entry[member], headers=PUBLISHER)
            assert created.status_code == 201, created.text
            ids[entry["key"]] = created.json()["id"]
    return ids


def search_all(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every card the caller may see, following ``links.next``."""
    cards: list[dict[str, Any]] = []
    query: dict[str, Any] | None
    url, query = "/v1/candidates", {"limit": 100}
    # Following ``next``: no params at all (httpx replaces the URL's query with ``{}``).
    while True:
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        cards += body["items"]
        following = body["links"].get("next")
        if following is None:
            return cards
        url, query = following["href"], None


@pytest.fixture(scope="module")
def dataset(module_client: TestClient) -> dict[str, str]:
    return load_fixture_dataset(module_client)


@pytest.fixture(scope="module")
def cards(module_client: TestClient, dataset: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {"a": search_all(module_client, MEMBER_A), "b": search_all(module_client, MEMBER_B)}


def match(client: TestClient, body: dict[str, Any], headers: dict[str, str] = MEMBER_A) -> Any:
    response = client.post("/v1/matches", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert validation_errors("MatchResult", result) == []
    return result


def expected_items(
    cards: list[dict[str, Any]], criteria: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    return [
        {"candidate": card, **result.as_json()} for card, result in rank(cards, criteria, limit)
    ]


# ---------------------------------------------------------------------------- ranking
def test_fixture_dataset_is_visible_to_both_consumers(cards: dict[str, list[Any]]) -> None:
    # Enough cards for a meaningful comparison, and the two views differ (scopes, the gate).
    assert len(cards["a"]) >= 30
    assert len(cards["b"]) >= 30
    assert {c["id"] for c in cards["a"]}.isdisjoint({c["id"] for c in cards["b"]})


@pytest.mark.parametrize("who", ["a", "b"])
def test_every_opportunity_ranks_exactly_as_the_reference(
    module_client: TestClient,
    dataset: dict[str, str],
    cards: dict[str, list[dict[str, Any]]],
    who: str,
) -> None:
    headers = MEMBER_A if who == "a" else MEMBER_B
    checked = 0
    for key, opportunity_id in sorted(dataset.items()):
        if not key.startswith(("vac-", "task-")):
            continue
        kind = "vacancy" if key.startswith("vac-") else "task-offer"
        document = module_client.get(
            f"/v1/{'vacancies' if kind == 'vacancy' else 'task-offers'}/{opportunity_id}"
        ).json()
        result = match(
            module_client,
            {"opportunity": {"ref": {"type": kind, "id": opportunity_id}}, "limit": 100},
            headers,
        )
        criteria = criteria_of(document)
        assert result["scoreVersion"] == "score-v1"
        assert result["node"] == "test-node"
        assert result["opportunity"] == criteria
        assert result["items"] == expected_items(cards[who], criteria, 100)
        checked += 1
    assert checked == 36


def test_default_limit_is_20_and_larger_limits_are_clamped_to_100(
    module_client: TestClient, dataset: dict[str, str], cards: dict[str, list[Any]]
) -> None:
    ref = {"ref": {"type": "vacancy", "id": dataset["vac-001"]}}
    assert len(match(module_client, {"opportunity": ref})["items"]) == min(20, len(cards["a"]))
    clamped = match(module_client, {"opportunity": ref, "limit": 5000})["items"]
    assert len(clamped) == min(100, len(cards["a"]))
    top3 = match(module_client, {"opportunity": ref, "limit": 3})["items"]
    assert top3 == clamped[:3]


def _inline(**changes: Any) -> dict[str, Any]:
    criteria: dict[str, Any] = {
        "occupation": {"isco08": "9333"},
        "skills": [
            {"label": "stack goods", "importance": "essential"},
            {"label": "pick orders for dispatching", "importance": "optional"},
        ],
        "hoursPerWeek": {"min": 24, "max": 32},
        "location": {"gemeente": "GM0356", "arbeidsmarktregio": "AM13"},
        "startDate": date.today().replace(day=1).isoformat(),
        "supportOffered": ["jobcoach", "adapted-pace"],
    }
    criteria.update(changes)
    return criteria


def _card_filter(card: dict[str, Any], filters: dict[str, Any], criteria: dict[str, Any]) -> bool:
    if filters.get("hoursOverlap"):
        hours, wanted = card["hoursPerWeek"], criteria["hoursPerWeek"]
        if hours["min"] > wanted["max"] or hours["max"] < wanted["min"]:
            return False
    regions = filters.get("arbeidsmarktregios")
    if regions and card["location"]["arbeidsmarktregio"] not in regions:
        return False
    gemeenten = filters.get("gemeenten")
    return not gemeenten or card["location"].get("gemeente") in gemeenten


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"hoursOverlap": True},
        {"hoursOverlap": False},
        {"arbeidsmarktregios": ["AM13"]},
        {"arbeidsmarktregios": ["AM01"]},
        {"gemeenten": ["GM0344", "GM0355"]},
        {"gemeenten": ["GM0014"]},
        {"hoursOverlap": True, "gemeenten": ["GM0344"], "arbeidsmarktregios": ["AM13"]},
    ],
)
def test_filters_apply_to_the_card_before_ranking(
    module_client: TestClient, cards: dict[str, list[Any]], filters: dict[str, Any]
) -> None:
    criteria = _inline()
    result = match(
        module_client, {"opportunity": {"inline": criteria}, "filters": filters, "limit": 100}
    )
    kept = [card for card in cards["a"] if _card_filter(card, filters, criteria)]
    assert result["opportunity"] == criteria
    assert result["items"] == expected_items(kept, criteria, 100)


def test_inline_criteria_without_optional_members(
    module_client: TestClient, cards: dict[str, list[Any]]
) -> None:
    criteria = {
        "occupation": {"isco08": "9112"},
        "skills": [],
        "hoursPerWeek": {"min": 0, "max": 60},
        "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
    }
    result = match(module_client, {"opportunity": {"inline": criteria}, "limit": 50}, MEMBER_B)
    assert result["items"] == expected_items(cards["b"], criteria, 50)


def test_a_closed_opportunity_can_still_be_matched(
    module_client: TestClient, dataset: dict[str, str]
) -> None:
    created = module_client.post(
        "/v1/publication/vacancies",
        json=_fixture("vacancies.json")[0]["vacancy"],
        headers=PUBLISHER,
    ).json()
    closed = module_client.post(
        f"/v1/publication/vacancies/{created['id']}/closure", headers=PUBLISHER
    )
    assert closed.json()["status"] == "closed"
    by_ref = match(
        module_client, {"opportunity": {"ref": {"type": "vacancy", "id": created["id"]}}}
    )
    original = match(
        module_client, {"opportunity": {"ref": {"type": "vacancy", "id": dataset["vac-001"]}}}
    )
    assert by_ref["items"] == original["items"]


def test_match_cards_are_logged_for_matching(module_client: TestClient) -> None:
    app: Any = module_client.app
    result = match(module_client, {"opportunity": {"inline": _inline()}, "limit": 3})
    view = app.state.pool.view(_consumer("consumer-a", "platform")).view
    for item in result["items"]:
        internal_id = view.internal_ids[view.index[item["candidate"]["id"]]]
        log = module_client.get(
            f"/v1/publication/candidates/{internal_id}/access-log", headers=PUBLISHER
        ).json()["items"]
        assert any(
            e["operation"] == "createMatch"
            and e["consumer"] == "consumer-a"
            and e["purpose"] == "matching"
            for e in log
        )


def _consumer(client_id: str, organisation_type: str) -> Any:
    from openwerk_server.privacy.consent import Consumer

    return Consumer(client_id, organisation_type)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"opportunity": {"ref": {"type": "vacancy", "id": "no-such-vacancy"}}}, 404, []),
        ({"opportunity": {"ref": {"type": "task-offer", "id": "no-such-offer"}}}, 404, []),
        (
            {"opportunity": {"ref": {"type": "vacancy", "id": "x", "node": "not-a-member"}}},
            400,
            ["body.opportunity.ref.node"],
        ),
        ({"opportunity": {"inline": {"occupation": {"isco08": "9112"}}}}, 400, None),
        (
            {"opportunity": {"inline": _inline(hoursPerWeek={"min": 30, "max": 20})}},
            400,
            ["body.opportunity.inline.hoursPerWeek.min"],
        ),
        ({"opportunity": {"inline": _inline()}, "limit": 0}, 400, ["body.limit"]),
        ({"opportunity": {"inline": _inline()}, "filters": {"ageBand": ["25-29"]}}, 400, None),
    ],
)
def test_bad_requests(
    module_client: TestClient, body: dict[str, Any], status: int, names: list[str] | None
) -> None:
    response = module_client.post("/v1/matches", json=body, headers=MEMBER_A)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if names:
        assert [p["name"] for p in response.json()["invalidParams"]] == names


def test_matching_needs_the_candidates_scope(module_client: TestClient) -> None:
    body = {"opportunity": {"inline": _inline()}}
    assert module_client.post("/v1/matches", json=body).status_code == 401
    assert module_client.post("/v1/matches", json=body, headers=READER).status_code == 403


# ---------------------------------------------------------------------------- remote references
class _Directory:
    """Stands in for ``DirectoryCache``: ``get()`` and ``fresh()`` return a fixed directory."""

    def __init__(self, members: list[Member]) -> None:
        self._directory = Directory(iss="test-operator", iat=0, exp=2**40, members=tuple(members))

    def get(self) -> Directory:
        return self._directory

    fresh = get


def _member(
    member_id: str, roles: tuple[str, ...], base_url: str | None, kind: str = "gemeente"
) -> Member:
    return Member.model_validate(
        {
            "id": member_id,
            "name": member_id,
            "organisationType": kind,
            "baseUrl": base_url,
            "roles": list(roles),
            "jwks": {"keys": []},
        }
    )


@pytest.fixture
def provider(tmp_path: Path, migrated_database: Path) -> Iterator[TestClient]:
    """A second node, ``provider-node``, serving one vacancy on its L0 API."""
    path = tmp_path / "provider"
    path.mkdir()
    (path / "node.db").write_bytes(migrated_database.read_bytes())
    store = Store.from_url(f"sqlite:///{path / 'node.db'}")
    settings = NodeSettings(
        environment="development",
        node_id="provider-node",
        node_name="Provider",
        organisation_type="gemeente",
        organisation_name="Gemeente Zeist",
        base_url="http://provider.test/v1",
        database_url=f"sqlite:///{path / 'node.db'}",
        pseudonym_secret="provider-secret-" + "y" * 32,
        migrate_on_start=False,
        webhook_worker=False,
    )
    app = create_app(settings, store, None)
    with TestClient(app, base_url="http://provider.test") as client:
        yield client
    store.dispose()


def _forwarding(target: TestClient, calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        answer = target.get(str(request.url), headers=dict(request.headers))
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    return httpx.MockTransport(handler)


def test_a_reference_to_another_member_is_fetched_from_its_directory_base_url(
    module_client: TestClient,
    cards: dict[str, list[Any]],
    provider: TestClient,
) -> None:
    # The provider's vacancy: the fixture's first, published there (not here).
    document = _fixture("vacancies.json")[3]["vacancy"]
    # The provider has no publisher token configured: write through its store.
    from openwerk_server.storage import OpportunityInput

    provider_app: Any = provider.app
    stored = provider_app.state.store.create_opportunity(
        OpportunityInput.from_document("vacancy", document), publisher="provider-node"
    )
    app: Any = module_client.app
    calls: list[str] = []
    app.state.directory = _Directory(
        [
            _member("provider-node", ("provider",), "http://provider.test/v1"),
            _member("consumer-only", ("consumer",), None),
            _member("consumer-a", ("consumer",), None, "platform"),
        ]
    )
    app.state.upstream_transport = _forwarding(provider, calls)
    try:
        ref = {"type": "vacancy", "id": stored.id, "node": "provider-node"}
        result = match(module_client, {"opportunity": {"ref": ref}, "limit": 100})
        assert calls == [f"http://provider.test/v1/vacancies/{stored.id}"]
        criteria = criteria_of(stored.as_document())
        assert result["opportunity"] == criteria
        assert result["items"] == expected_items(cards["a"], criteria, 100)

        missing = module_client.post(
            "/v1/matches",
            json={"opportunity": {"ref": {**ref, "id": "gone"}}},
            headers=MEMBER_A,
        )
        assert missing.status_code == 404
        not_provider = module_client.post(
            "/v1/matches",
            json={"opportunity": {"ref": {**ref, "node": "consumer-only"}}},
            headers=MEMBER_A,
        )
        assert not_provider.status_code == 400

        def broken(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        for transport in (
            httpx.MockTransport(broken),
            httpx.MockTransport(lambda request: httpx.Response(500)),
            httpx.MockTransport(
                lambda request: httpx.Response(302, headers={"Location": "http://x/"})
            ),
            httpx.MockTransport(lambda request: httpx.Response(200, json={"not": "a vacancy"})),
        ):
            app.state.upstream_transport = transport
            failed = module_client.post(
                "/v1/matches", json={"opportunity": {"ref": ref}}, headers=MEMBER_A
            )
            assert failed.status_code == 502, failed.text
            assert failed.json()["code"] == "upstream-unavailable"
    finally:
        app.state.directory = None
        app.state.upstream_transport = None


def test_a_reference_naming_this_node_is_local(
    module_client: TestClient, dataset: dict[str, str]
) -> None:
    local = {"type": "vacancy", "id": dataset["vac-002"]}
    named = match(module_client, {"opportunity": {"ref": {**local, "node": "test-node"}}})
    assert named == match(module_client, {"opportunity": {"ref": local}})


def test_matching_app_fixture_is_a_plain_node(app: FastAPI) -> None:
    # The node serves createMatch itself (not a gateway): no partial/nodes members.
    assert app.state.upstream_transport is None
