"""Pages spliced from kept renderings answer exactly what decoding and re-encoding would.

The list and search routes no longer encode their items per request (``storage.rendered``,
``PublishedView.rendered``); these tests pin that the bytes are the same as before and that a
changed record is never served from a stale rendering.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from openwerk_server.jsontext import json_bytes
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.views import PublishedView
from openwerk_server.routes.responses import fragment_page_response, json_response

PUBLISHER = {"Authorization": "Bearer publisher-token"}


def test_spliced_page_is_byte_for_byte_the_encoded_page() -> None:
    items: list[dict[str, Any]] = [
        {"title": "Medewerker groenvoorziening — ’s-Hertogenbosch", "n": 1, "x": [1.5, None]},
        {"title": "Café-medewerker", "nested": {"ë": "ï"}},
    ]
    links = {"self": {"href": "https://node.example/v1/vacancies?limit=2&q=é"}}
    spliced = fragment_page_response([json_bytes(item) for item in items], links)
    encoded = json_response({"items": items, "links": links})
    assert spliced.body == encoded.body
    assert spliced.headers["content-type"] == encoded.headers["content-type"]
    assert bytes(fragment_page_response([], links).body) == json_bytes(
        {"items": [], "links": links}
    )


def test_listed_vacancies_are_the_documents_the_node_serves_one_by_one(
    client: TestClient, docs: Any
) -> None:
    for title in ("Groenvoorziening", "Schoonmaak — Zaandam", "Logistiek"):
        created = client.post(
            "/v1/publication/vacancies", json=docs.vacancy(title=title), headers=PUBLISHER
        )
        assert created.status_code == 201, created.text
    listed = client.get("/v1/vacancies?limit=10")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [item["title"] for item in items] == [
        "Logistiek",
        "Schoonmaak — Zaandam",
        "Groenvoorziening",
    ]
    for item in items:
        assert client.get(f"/v1/vacancies/{item['id']}").json() == item
    # Non-ASCII stays unescaped, as everywhere else on the node.
    assert "Schoonmaak — Zaandam".encode() in listed.content


def test_a_replaced_or_closed_vacancy_is_listed_as_it_is_now(client: TestClient, docs: Any) -> None:
    """The test clock does not move: only the content (or status) tells the versions apart,
    so a rendering kept by id or timestamp alone would serve the old title here."""
    vacancy_id = client.post(
        "/v1/publication/vacancies", json=docs.vacancy(title="Oud"), headers=PUBLISHER
    ).json()["id"]
    assert client.get("/v1/vacancies").json()["items"][0]["title"] == "Oud"
    replaced = client.put(
        f"/v1/publication/vacancies/{vacancy_id}",
        json=docs.vacancy(title="Nieuw"),
        headers=PUBLISHER,
    )
    assert replaced.status_code == 200, replaced.text
    assert client.get("/v1/vacancies").json()["items"][0]["title"] == "Nieuw"
    client.post(f"/v1/publication/vacancies/{vacancy_id}/closure", headers=PUBLISHER)
    assert client.get("/v1/vacancies").json()["items"] == []
    closed = client.get("/v1/vacancies?status=closed").json()["items"]
    assert [(item["title"], item["status"]) for item in closed] == [("Nieuw", "closed")]
    assert "closedAt" in closed[0]


def test_a_view_renders_each_card_as_the_node_encodes_it() -> None:
    cards = [{"id": "p-1", "name": "Zoë"}, {"id": "p-2", "hours": {"min": 8, "max": 16}}]
    view = PublishedView(consumer=Consumer("c", "platform", gateway=False), cards=cards)
    for position, card in enumerate(cards):
        assert view.rendered(position) == json_bytes(card)
        assert view.rendered(position) is view.rendered(position)  # kept, not re-encoded
    assert json.loads(view.rendered(1)) == cards[1]
