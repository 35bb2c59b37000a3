"""Candidates class (L2): search and fetch through the HTTP API, with consent at every turn.

Candidates enter through the publication API (batch or record + consent) and are read as the
consumers ``consumer-a`` (platform) and ``consumer-b`` (werkgever) of conftest's static
authenticator. With k = 5, every test keeps the classes it looks at at five or more.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from openwerk_server.errors import InvalidInput
from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.kanon import class_sizes
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_server.routes.candidates import CardFilter
from openwerk_server.routes.deps import RequestParams, consumer_for
from openwerk_server.security import InvalidToken, Principal
from openwerk_spec.openapi import validation_errors

# conftest's StaticTokenAuthenticator and node_settings (conftest is not importable under
# --import-mode=importlib, so the values are repeated here).
PUBLISHER = {"Authorization": "Bearer publisher-token"}
READER = {"Authorization": "Bearer reader-token"}
CONSUMER_A = {"Authorization": "Bearer consumer-a-token"}  # consumer-a, platform
CONSUMER_B = {"Authorization": "Bearer consumer-b-token"}  # consumer-b, werkgever
NODE_ID = "test-node"
SECRET = ("test-secret-" + "x" * 32).encode()
Documents = Any  # conftest.Documents
ESCO_CLERK = "http://data.europa.eu/esco/occupation/6c999fc7-c6b7-4ef3-a4b9-af124a1783a2"
SKILL_URI = "http://data.europa.eu/esco/skill/0e2f1a0e-0000-4000-8000-000000000001"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


# ---------------------------------------------------------------------------- helpers
def batch(client: TestClient, items: list[dict[str, Any]]) -> list[str]:
    """Register candidates with their consents; their internal ids, in order."""
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    )
    assert response.status_code == 201, response.text
    return [entry["candidateId"] for entry in response.json()["items"]]


def item(
    docs: Documents, consents: list[dict[str, Any]] | None = None, **candidate: Any
) -> dict[str, Any]:
    return {
        "candidate": docs.candidate(**candidate),
        "consents": [docs.consent()] if consents is None else consents,
    }


def search_all(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every card of a search, following ``links.next``."""
    cards: list[dict[str, Any]] = []
    url = "/v1/candidates"
    query: dict[str, Any] | None = {**params, "limit": params.get("limit", 100)}
    while True:
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        cards += body["items"]
        following = body["links"].get("next")
        if following is None:
            return cards
        url, query = following["href"], None  # the href carries the query


def ids(cards: list[dict[str, Any]]) -> list[str]:
    return [card["id"] for card in cards]


def tag(card: dict[str, Any]) -> str:
    """The ``tag-*`` skill label the tests use to recognise a card."""
    return next(s["label"] for s in card["skills"] if s["label"].startswith("tag-"))


def tagged(docs: Documents, name: str, **overrides: Any) -> dict[str, Any]:
    skills = [{"label": f"tag-{name}"}, *overrides.pop("skills", [])]
    return item(docs, skills=skills, **overrides)


def withdraw_all(client: TestClient, candidate_id: str) -> None:
    listed = client.get(f"/v1/publication/candidates/{candidate_id}/consents", headers=PUBLISHER)
    for consent in listed.json()["items"]:
        if consent["status"] == "given":
            response = client.post(
                f"/v1/publication/candidates/{candidate_id}/consents/{consent['id']}/withdrawal",
                headers=PUBLISHER,
            )
            assert response.status_code == 200, response.text


def problem_shape(response: Any) -> dict[str, Any]:
    """A problem without what differs per request (trace id, instance)."""
    body = dict(response.json())
    body.pop("traceId", None)
    body.pop("instance", None)
    return body


# ---------------------------------------------------------------------------- search and fetch
def test_search_pages_by_pseudonym_and_fetch_returns_the_same_card(
    client: TestClient, docs: Documents
) -> None:
    internal = batch(client, [tagged(docs, str(i)) for i in range(12)])
    first = client.get("/v1/candidates", params={"limit": 5}, headers=CONSUMER_A)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    cards = search_all(client, CONSUMER_A, limit=5)
    assert len(cards) == 12
    assert ids(cards) == sorted(ids(cards))
    assert len(set(ids(cards))) == 12
    expected = sorted(pseudonym(SECRET, "consumer-a", cid) for cid in internal)
    assert ids(cards) == expected
    for card in cards:
        assert validation_errors("CandidateProfile", card) == []
        assert card["node"] == NODE_ID
        assert card["generalised"] == []
        assert card["location"] == {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"}
        fetched = client.get(f"/v1/candidates/{card['id']}", headers=CONSUMER_A)
        assert fetched.status_code == 200
        assert fetched.json() == card
    # No internal id anywhere, not even inside the cursor (OW-PSEUDO-005).
    following = first.json()["links"]["next"]["href"]
    cursor = following.split("cursor=")[1].split("&")[0]
    payload = base64.urlsafe_b64decode(cursor.split(".")[0] + "==").decode()
    text = first.text + payload
    assert not any(cid in text for cid in internal)
    assert json.loads(payload)["k"] == [first.json()["items"][-1]["id"]]


def test_limit_is_clamped_and_bad_cursors_are_400(client: TestClient, docs: Documents) -> None:
    batch(client, [tagged(docs, str(i)) for i in range(5)])
    assert len(client.get("/v1/candidates?limit=1000", headers=CONSUMER_A).json()["items"]) == 5
    page = client.get("/v1/candidates?limit=2", headers=CONSUMER_A).json()
    cursor_of_a = page["links"]["next"]["href"].split("cursor=")[1].split("&")[0]
    # A cursor pages only the view it was issued for (OW-PSEUDO-005).
    foreign = client.get(f"/v1/candidates?cursor={cursor_of_a}", headers=CONSUMER_B)
    assert foreign.status_code == 400
    assert foreign.json()["invalidParams"][0]["name"] == "cursor"
    assert client.get("/v1/candidates?cursor=abc.def", headers=CONSUMER_A).status_code == 400


def test_unknown_and_foreign_pseudonyms_are_the_same_404(
    client: TestClient, docs: Documents
) -> None:
    batch(client, [tagged(docs, str(i)) for i in range(6)])
    cards_a = search_all(client, CONSUMER_A)
    cards_b = search_all(client, CONSUMER_B)
    assert len(cards_a) == len(cards_b) == 6
    # Unlinkable: no pseudonym in common (OW-PSEUDO-003); the same cards otherwise.
    assert not set(ids(cards_a)) & set(ids(cards_b))
    assert sorted(map(tag, cards_a)) == sorted(map(tag, cards_b))
    never = client.get("/v1/candidates/AAAAAAAAAAAAAAAAAAAAAA", headers=CONSUMER_A)
    assert never.status_code == 404
    assert never.headers["content-type"] == "application/problem+json"
    for card in cards_b:
        foreign = client.get(f"/v1/candidates/{card['id']}", headers=CONSUMER_A)
        assert foreign.status_code == 404
        assert problem_shape(foreign) == problem_shape(never)
    assert client.get("/v1/candidates/not-a-pseudonym", headers=CONSUMER_A).status_code == 400


def test_l2_needs_the_candidates_scope(client: TestClient) -> None:
    assert client.get("/v1/candidates").status_code == 401
    assert client.get("/v1/candidates", headers=PUBLISHER).status_code == 403
    assert client.get("/v1/candidates", headers=READER).status_code == 403
    assert client.get("/v1/candidates/AAAAAAAAAAAAAAAAAAAAAA", headers=READER).status_code == 403


# ---------------------------------------------------------------------------- filters
def _filter_pool(docs: Documents) -> list[dict[str, Any]]:
    """Six candidates in one class (GM0344, 35-39, nlqf-2), told apart by their tag."""
    full = [docs.consent(purposes=["matching", "share-support-needs"])]
    return [
        tagged(
            docs,
            "a",
            desiredOccupations=[{"isco08": "9214", "label": "hovenier"}],
            skills=[{"label": "Snoeien"}],
            hoursPerWeek={"min": 20, "max": 32},
            availableFrom="2025-01",
            wantedKinds=["regular", "banenafspraak"],
            languages=[{"code": "nl", "level": "B1"}],
            supportNeeds=["jobcoach"],
            consents=full,
        ),
        tagged(
            docs,
            "b",
            desiredOccupations=[
                {"isco08": "4110", "escoUri": ESCO_CLERK},
                {"isco08": "9112"},
            ],
            skills=[{"uri": SKILL_URI, "label": "Grasmaaien"}],
            hoursPerWeek={"min": 8, "max": 12},
            availableFrom="2030-06",
            wantedKinds=["beschut-werk"],
            languages=[{"code": "en", "level": "C1"}],
            supportNeeds=["quiet-workspace", "jobcoach"],
            consents=full,
        ),
        tagged(
            docs,
            "c",
            desiredOccupations=[{"isco08": "5223"}],
            hoursPerWeek={"min": 36, "max": 40},
            availableFrom="2026-01",
            wantedKinds=["regular"],
            languages=[{"code": "nl", "level": "A2"}, {"code": "ar", "level": "C2"}],
            supportNeeds=[],
            consents=full,
        ),
        # Needs support but shares only the card: filters must not see the needs.
        tagged(
            docs,
            "d",
            desiredOccupations=[{"isco08": "9214"}],
            hoursPerWeek={"min": 12, "max": 20},
            availableFrom="2026-02",
            wantedKinds=["werkervaringsplek"],
            languages=[{"code": "nl", "level": "C2"}],
            supportNeeds=["close-supervision"],
            consents=[docs.consent()],
        ),
        tagged(
            docs,
            "e",
            desiredOccupations=[{"isco08": "9112"}],
            hoursPerWeek={"min": 24, "max": 24},
            availableFrom="2026-03",
            wantedKinds=["regular"],
            languages=[],
            supportNeeds=["jobcoach", "adapted-pace"],
            consents=full,
        ),
        tagged(
            docs,
            "f",
            desiredOccupations=[{"isco08": "7126"}],
            hoursPerWeek={"min": 0, "max": 8},
            availableFrom="2024-12",
            wantedKinds=["vrijwilligerswerk"],
            languages=[{"code": "nl", "level": "pre-A1"}],
            supportNeeds=[],
            consents=full,
        ),
    ]


@pytest.fixture(scope="module")
def filter_client(module_client: TestClient, docs: Documents) -> TestClient:
    batch(module_client, _filter_pool(docs))
    return module_client


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "abcdef"),
        ({"occupation": "9"}, "abde"),
        ({"occupation": "92"}, "ad"),
        ({"occupation": "9214"}, "ad"),
        ({"occupation": "9112"}, "be"),  # any desired occupation counts
        ({"occupation": ESCO_CLERK}, "b"),
        ({"occupation": "1"}, ""),
        ({"skill": "snoeien"}, "a"),
        ({"skill": "SNOEIEN"}, "a"),
        ({"skill": SKILL_URI}, "b"),
        ({"skill": "grasmaaien"}, "b"),
        ({"skill": "Snoei"}, ""),
        ({"gemeente": "GM0344"}, "abcdef"),
        ({"gemeente": "GM0014"}, ""),
        ({"arbeidsmarktregio": "AM13"}, "abcdef"),
        ({"arbeidsmarktregio": "AM01"}, ""),
        ({"hoursMin": 33}, "c"),  # alone: max >= hoursMin
        ({"hoursMax": 8}, "bf"),  # alone: min <= hoursMax
        ({"hoursMin": 21, "hoursMax": 23}, "a"),  # overlap
        ({"hoursMin": 12, "hoursMax": 12}, "bd"),
        ({"hoursMin": 0, "hoursMax": 60}, "abcdef"),
        ({"availableBy": "2025-01-01"}, "af"),  # the month counts, not the day
        ({"availableBy": "2026-02-28"}, "acdf"),
        ({"availableBy": "2031-01-01"}, "abcdef"),
        ({"wantedKind": "regular"}, "ace"),
        ({"wantedKind": "beschut-werk"}, "b"),
        ({"language": "nl"}, "acdf"),
        ({"language": "nl", "languageLevel": "B1"}, "ad"),
        ({"language": "nl", "languageLevel": "A2"}, "acd"),
        ({"language": "ar", "languageLevel": "C2"}, "c"),
        ({"language": "en", "languageLevel": "C2"}, ""),
        # Only visible needs count: d's close-supervision is not shared (OW-CAND-005).
        ({"supportOffered": "jobcoach"}, "acdf"),
        ({"supportOffered": "jobcoach,quiet-workspace"}, "abcdf"),
        ({"supportOffered": "close-supervision"}, "cdf"),
        ({"supportOffered": "jobcoach,adapted-pace,quiet-workspace"}, "abcdef"),
        ({"occupation": "9", "wantedKind": "regular", "hoursMin": 20}, "ae"),
    ],
)
def test_filters_see_only_the_card(
    filter_client: TestClient, params: dict[str, Any], expected: str
) -> None:
    cards = search_all(filter_client, CONSUMER_A, **params)
    assert sorted(tag(card).removeprefix("tag-") for card in cards) == list(expected)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"hoursMin": 30, "hoursMax": 20}, {"hoursMin"}),
        ({"languageLevel": "B1"}, {"languageLevel"}),
        ({"supportOffered": "jobcoach,telepathy"}, {"supportOffered"}),
        ({"availableBy": "2026-02-30"}, {"availableBy"}),
        ({"occupation": "12345"}, {"occupation"}),
        ({"wantedKind": "anything", "language": "dutch"}, {"wantedKind", "language"}),
    ],
)
def test_invalid_filters_are_400_naming_them(
    filter_client: TestClient, params: dict[str, Any], names: set[str]
) -> None:
    response = filter_client.get("/v1/candidates", params=params, headers=CONSUMER_A)
    assert response.status_code == 400
    assert {p["name"] for p in response.json()["invalidParams"]} == names


def test_gemeente_filter_skips_cards_that_do_not_show_it(
    client: TestClient, docs: Documents
) -> None:
    # 3 + 3 in two gemeenten of AM13: no class of 5 at level 0, one of 6 at level 1.
    batch(
        client,
        [tagged(docs, f"u{i}") for i in range(3)]
        + [tagged(docs, f"z{i}", gemeente="GM0355") for i in range(3)],
    )
    cards = search_all(client, CONSUMER_A)
    assert len(cards) == 6
    assert all(card["location"] == {"arbeidsmarktregio": "AM13"} for card in cards)
    assert all(card["generalised"] == ["location"] for card in cards)
    assert search_all(client, CONSUMER_A, gemeente="GM0344") == []
    assert search_all(client, CONSUMER_A, gemeente="GM0355") == []
    assert len(search_all(client, CONSUMER_A, arbeidsmarktregio="AM13")) == 6


def test_card_filter_unit() -> None:
    card = {
        "location": {"arbeidsmarktregio": "AM13"},
        "hoursPerWeek": {"min": 10, "max": 20},
        "availableFrom": "2026-05",
        "wantedKinds": ["regular"],
        "desiredOccupations": [{"isco08": "9112"}],
        "skills": [{"label": "Dweilen"}],
        "languages": [{"code": "nl", "level": "B2"}],
    }
    assert CardFilter().admits(card)
    assert not CardFilter(gemeente="GM0344").admits(card)
    assert CardFilter(hours_min=20).admits(card)
    assert not CardFilter(hours_min=21).admits(card)
    assert CardFilter(hours_max=10).admits(card)
    assert not CardFilter(hours_max=9).admits(card)
    assert CardFilter(available_by="2026-05").admits(card)
    assert not CardFilter(available_by="2026-04").admits(card)
    assert CardFilter(support_offered=frozenset()).admits(card)
    assert CardFilter(language="nl", language_level="B2").admits(card)
    assert not CardFilter(language="nl", language_level="C1").admits(card)
    with pytest.raises(InvalidInput):
        CardFilter.from_params(RequestParams({"languageLevel": "B1"}, 20, None))


# ---------------------------------------------------------------------------- consent
def test_only_consented_candidates_in_force_are_served(
    client: TestClient, docs: Documents, clock: Any
) -> None:
    short = docs.consent(validUntil=(date.today() + timedelta(days=1)).isoformat())
    internal = batch(
        client,
        [tagged(docs, f"ok{i}") for i in range(6)]
        + [tagged(docs, "never", consents=[])]
        + [tagged(docs, "withdrawn")]
        + [tagged(docs, "expiring", consents=[short])]
        + [tagged(docs, "stats-only", consents=[docs.consent(purposes=["statistics"])])],
    )
    by_tag = dict(
        zip(
            [*(f"ok{i}" for i in range(6)), "never", "withdrawn", "expiring", "stats-only"],
            internal,
            strict=True,
        )
    )
    before = {tag(card) for card in search_all(client, CONSUMER_A)}
    assert before == {f"tag-ok{i}" for i in range(6)} | {"tag-withdrawn", "tag-expiring"}

    withdrawn_pseudonym = pseudonym(SECRET, "consumer-a", by_tag["withdrawn"])
    assert (
        client.get(f"/v1/candidates/{withdrawn_pseudonym}", headers=CONSUMER_A).status_code == 200
    )
    withdraw_all(client, by_tag["withdrawn"])
    # At once: the very next request (OW-CONSENT-006).
    after = client.get(f"/v1/candidates/{withdrawn_pseudonym}", headers=CONSUMER_A)
    assert after.status_code == 404
    assert "tag-withdrawn" not in {tag(card) for card in search_all(client, CONSUMER_A)}

    # Valid through its validUntil day (Europe/Amsterdam), expired the day after.
    clock.advance(days=2)
    remaining = {tag(card) for card in search_all(client, CONSUMER_A)}
    assert remaining == {f"tag-ok{i}" for i in range(6)}
    expiring = pseudonym(SECRET, "consumer-a", by_tag["expiring"])
    assert client.get(f"/v1/candidates/{expiring}", headers=CONSUMER_A).status_code == 404
    for name in ("never", "stats-only"):
        hidden = pseudonym(SECRET, "consumer-a", by_tag[name])
        assert client.get(f"/v1/candidates/{hidden}", headers=CONSUMER_A).status_code == 404

    # Erasure removes the card at once too.
    gone = by_tag["ok0"]
    assert client.delete(f"/v1/publication/candidates/{gone}", headers=PUBLISHER).status_code == 204
    assert len(search_all(client, CONSUMER_A)) == 5
    erased = pseudonym(SECRET, "consumer-a", gone)
    assert client.get(f"/v1/candidates/{erased}", headers=CONSUMER_A).status_code == 404


def test_recipients_decide_who_sees_a_card(client: TestClient, docs: Documents) -> None:
    only_a = docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})
    platforms = docs.consent(
        recipients={"scope": "organisation-types", "organisationTypes": ["platform", "uwv"]}
    )
    employers = docs.consent(
        recipients={"scope": "organisation-types", "organisationTypes": ["werkgever"]}
    )
    batch(
        client,
        [tagged(docs, f"member{i}", consents=[only_a]) for i in range(5)]
        + [tagged(docs, f"platform{i}", consents=[platforms]) for i in range(5)]
        + [tagged(docs, f"employer{i}", consents=[employers]) for i in range(5)],
    )
    seen_a = {tag(card).rstrip("0123456789") for card in search_all(client, CONSUMER_A)}
    seen_b = {tag(card).rstrip("0123456789") for card in search_all(client, CONSUMER_B)}
    assert seen_a == {"tag-member", "tag-platform"}
    assert seen_b == {"tag-employer"}


def test_gateways_see_only_any_member_cards(
    app: FastAPI, client: TestClient, docs: Documents
) -> None:
    platforms = docs.consent(
        recipients={"scope": "organisation-types", "organisationTypes": ["platform"]}
    )
    named = docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})
    batch(
        client,
        [tagged(docs, f"any{i}") for i in range(5)]
        + [tagged(docs, f"types{i}", consents=[platforms]) for i in range(5)]
        + [tagged(docs, f"named{i}", consents=[named]) for i in range(5)],
    )
    assert len(search_all(client, CONSUMER_A)) == 15
    # The directory now says consumer-a is a gateway (OW-FED-014).
    app.state.directory = FakeDirectory(
        FakeMember("consumer-a", "platform", ("gateway",)),
        FakeMember("consumer-b", "werkgever", ("consumer",)),
    )
    assert {tag(c).rstrip("0123456789") for c in search_all(client, CONSUMER_A)} == {"tag-any"}
    # The same when the directory is due for a refresh (read in a worker thread).
    app.state.directory.due = True
    assert {tag(c).rstrip("0123456789") for c in search_all(client, CONSUMER_A)} == {"tag-any"}
    # A member that left the directory is refused, whatever its token says.
    for due in (False, True):
        app.state.directory = FakeDirectory(
            FakeMember("consumer-b", "werkgever", ("consumer",)), due=due
        )
        assert client.get("/v1/candidates", headers=CONSUMER_A).status_code == 401


@dataclass(frozen=True)
class FakeMember:
    id: str
    organisation_type: str
    roles: tuple[str, ...]

    def has_role(self, role: str) -> bool:
        return role in self.roles


class FakeDirectory:
    """Stands in for ``openwerk.directory.DirectoryCache``: ``get()`` → the directory;
    ``fresh()`` → the same, or None while ``due`` (the route then refreshes in a thread)."""

    def __init__(self, *members: FakeMember, due: bool = False) -> None:
        self.members = members
        self.due = due

    def get(self) -> Any:
        by_id = {m.id: m for m in self.members}
        return SimpleNamespace(members=self.members, member=by_id.get)

    def fresh(self) -> Any:
        return None if self.due else self.get()


def test_consumer_mapping_follows_the_directory() -> None:
    principal = Principal("consumer-a", "gemeente", frozenset({"candidates:read"}))

    def request(directory: Any) -> Any:
        state = SimpleNamespace(directory=directory, seen_consumers={})
        return SimpleNamespace(app=SimpleNamespace(state=state))

    assert consumer_for(request(None), principal) == Consumer("consumer-a", "gemeente")
    gateway = FakeDirectory(FakeMember("consumer-a", "platform", ("gateway", "provider")))
    assert consumer_for(request(gateway), principal) == Consumer(
        "consumer-a", "platform", gateway=True
    )
    plain = FakeDirectory(FakeMember("consumer-a", "uwv", ("consumer",)))
    assert consumer_for(request(plain), principal) == Consumer("consumer-a", "uwv")
    with pytest.raises(InvalidToken):
        consumer_for(request(FakeDirectory()), principal)


def test_support_needs_and_eligibility_only_under_their_purposes(
    client: TestClient, docs: Documents
) -> None:
    card_only = docs.consent()
    support_all = docs.consent(purposes=["matching", "share-support-needs"])
    eligibility_a = docs.consent(
        purposes=["share-eligibility"], recipients={"scope": "members", "members": ["consumer-a"]}
    )
    batch(
        client,
        [tagged(docs, f"plain{i}", consents=[card_only]) for i in range(2)]
        + [tagged(docs, f"support{i}", consents=[support_all]) for i in range(2)]
        + [tagged(docs, f"both{i}", consents=[support_all, eligibility_a]) for i in range(2)]
        # share-eligibility alone gives no card to extend.
        + [tagged(docs, "eligibility-only", consents=[eligibility_a])],
    )
    for headers, with_eligibility in ((CONSUMER_A, True), (CONSUMER_B, False)):
        cards = {tag(card): card for card in search_all(client, headers)}
        assert len(cards) == 6
        for name, card in cards.items():
            assert ("supportNeeds" in card) == (not name.startswith("tag-plain")), name
            expected = with_eligibility and name.startswith("tag-both")
            assert ("eligibility" in card) == expected, name
            if expected:
                assert card["eligibility"] == [{"type": "banenafspraak"}]


def test_withdrawal_while_paging_removes_the_profile_from_later_pages(
    client: TestClient, docs: Documents
) -> None:
    internal = batch(client, [tagged(docs, str(i)) for i in range(15)])
    everything = ids(search_all(client, CONSUMER_A))
    page = client.get("/v1/candidates", params={"limit": 4}, headers=CONSUMER_A).json()
    seen = ids(page["items"])
    # Withdraw a candidate that is still to come, and one already served.
    by_pseudonym = {pseudonym(SECRET, "consumer-a", cid): cid for cid in internal}
    later, earlier = everything[9], everything[1]
    withdraw_all(client, by_pseudonym[later])
    withdraw_all(client, by_pseudonym[earlier])
    following = page["links"]["next"]["href"]
    while following:
        response = client.get(following, headers=CONSUMER_A)
        assert response.status_code == 200
        body = response.json()
        seen += ids(body["items"])
        following = body["links"].get("next", {}).get("href")
    assert len(seen) == len(set(seen)) == 14
    assert later not in seen
    assert seen == [p for p in everything if p != later]


def test_a_match_after_a_withdrawal_leaves_the_candidate_out(
    client: TestClient, docs: Documents
) -> None:
    """Matching answers from the consumer's cached view too (``serve_cards``); a withdrawal
    acknowledged before the match must not be ranked, served or logged (OW-CONSENT-005)."""
    internal = batch(client, [tagged(docs, str(i)) for i in range(12)])
    criteria = {
        "occupation": {"isco08": "4110"},
        "skills": [],
        "hoursPerWeek": {"min": 8, "max": 40},
        "location": {"gemeente": "GM0356", "arbeidsmarktregio": "AM13"},
    }
    body = {"opportunity": {"inline": criteria}, "limit": 100}

    def matched() -> list[str]:
        response = client.post("/v1/matches", json=body, headers=CONSUMER_A)
        assert response.status_code == 200, response.text
        return [item["candidate"]["id"] for item in response.json()["items"]]

    before = matched()  # builds and caches the view
    by_pseudonym = {pseudonym(SECRET, "consumer-a", cid): cid for cid in internal}
    gone = before[0]
    withdraw_all(client, by_pseudonym[gone])
    after = matched()
    assert gone not in after
    assert sorted(after) == sorted(p for p in before if p != gone)


# ---------------------------------------------------------------------------- processing log
def test_every_card_served_is_logged_with_consumer_purpose_operation_and_trace(
    client: TestClient, docs: Documents
) -> None:
    internal = batch(client, [tagged(docs, str(i)) for i in range(6)])
    target = internal[2]
    searched = client.get(
        "/v1/candidates", params={"limit": 100}, headers={**CONSUMER_A, "traceparent": TRACEPARENT}
    )
    assert searched.status_code == 200
    pseudo_b = pseudonym(SECRET, "consumer-b", target)
    assert client.get(f"/v1/candidates/{pseudo_b}", headers=CONSUMER_B).status_code == 200
    # A 404 and an empty search serve no card and log nothing.
    assert (
        client.get("/v1/candidates/AAAAAAAAAAAAAAAAAAAAAA", headers=CONSUMER_B).status_code == 404
    )
    assert search_all(client, CONSUMER_B, wantedKind="beschut-werk") == []

    log = client.get(f"/v1/publication/candidates/{target}/access-log", headers=PUBLISHER)
    assert log.status_code == 200
    entries = log.json()["items"]
    assert [(e["consumer"], e["operation"], e["purpose"]) for e in entries] == [
        ("consumer-b", "getCandidate", "matching"),  # newest first (OW-LOG-004)
        ("consumer-a", "searchCandidates", "matching"),
    ]
    assert entries[1]["traceId"] == TRACE_ID  # the caller's traceparent (OW-LOG-003)
    assert entries[0]["traceId"] != TRACE_ID
    assert entries[0]["time"] >= entries[1]["time"]
    for entry in entries:
        assert validation_errors("AccessLogEntry", entry) == []
    # Each candidate of the search got its own record, written under one trace.
    for other in internal:
        records = client.get(f"/v1/publication/candidates/{other}/access-log", headers=PUBLISHER)
        assert TRACE_ID in {e["traceId"] for e in records.json()["items"]}


def test_access_log_pages_and_refuses_unknown_candidates(
    client: TestClient, docs: Documents
) -> None:
    internal = batch(client, [tagged(docs, str(i)) for i in range(5)])
    pseudo = pseudonym(SECRET, "consumer-a", internal[0])
    for _ in range(7):
        assert client.get(f"/v1/candidates/{pseudo}", headers=CONSUMER_A).status_code == 200
    seen: list[str] = []
    url = f"/v1/publication/candidates/{internal[0]}/access-log?limit=3"
    while url:
        body = client.get(url, headers=PUBLISHER).json()
        seen += [entry["id"] for entry in body["items"]]
        url = body["links"].get("next", {}).get("href")
    assert len(seen) == len(set(seen)) == 7
    missing = client.get("/v1/publication/candidates/nobody/access-log", headers=PUBLISHER)
    assert missing.status_code == 404
    denied = client.get(f"/v1/publication/candidates/{internal[0]}/access-log", headers=CONSUMER_A)
    assert denied.status_code == 403
    # An erased candidate's records stay for the custodian (OW-LOG-005).
    client.delete(f"/v1/publication/candidates/{internal[0]}", headers=PUBLISHER)
    kept = client.get(f"/v1/publication/candidates/{internal[0]}/access-log", headers=PUBLISHER)
    assert len(kept.json()["items"]) == 7


# ---------------------------------------------------------------------------- withheld report
def test_withheld_profiles_are_reported_per_consumer(client: TestClient, docs: Documents) -> None:
    only_a = docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})
    internal = batch(
        client,
        # 5 in one class for everyone, 2 rare ones (another education level, another band),
        # and 2 that only consumer-a may see (which makes a's class 7 and b's 5).
        [tagged(docs, f"common{i}") for i in range(5)]
        + [tagged(docs, "rare-education", educationLevel="nlqf-7")]
        + [
            tagged(
                docs,
                "rare-age",
                person={**docs.candidate()["person"], "birthDate": "1960-01-01"},
            )
        ]
        + [tagged(docs, f"named{i}", consents=[only_a]) for i in range(2)],
    )
    # The report covers the consumers the node has served (no directory in these tests).
    search_all(client, CONSUMER_A)
    search_all(client, CONSUMER_B)
    report = client.get("/v1/publication/withheld-profiles", headers=PUBLISHER)
    assert report.status_code == 200
    body = report.json()
    assert validation_errors("WithheldProfilePage", body) == []
    pairs = {(w["consumer"], w["candidateId"]) for w in body["items"]}
    rare = {internal[5], internal[6]}
    assert pairs == {(c, r) for c in ("consumer-a", "consumer-b") for r in rare}
    assert all(w["k"] == 5 and w["reason"] == "k-anonymity" for w in body["items"])
    assert {w["classSize"] for w in body["items"]} == {1}
    assert body["publishedCount"] == 7 + 5
    assert body["withheldCount"] == 4

    only_b = client.get(
        "/v1/publication/withheld-profiles", params={"consumer": "consumer-b"}, headers=PUBLISHER
    ).json()
    assert {w["consumer"] for w in only_b["items"]} == {"consumer-b"}
    assert (only_b["publishedCount"], only_b["withheldCount"]) == (5, 2)

    paged: list[tuple[str, str]] = []
    url = "/v1/publication/withheld-profiles?limit=1"
    while url:
        page = client.get(url, headers=PUBLISHER).json()
        paged += [(w["consumer"], w["candidateId"]) for w in page["items"]]
        url = page["links"].get("next", {}).get("href")
    assert paged == sorted(pairs)
    assert client.get("/v1/publication/withheld-profiles", headers=CONSUMER_A).status_code == 403


def test_cards_published_to_each_consumer_are_k_anonymous(
    client: TestClient, docs: Documents
) -> None:
    only_a = docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})
    gemeenten = ["GM0344", "GM0355", "GM0356", "GM0310"]
    items = []
    for i in range(40):
        year = 1960 + (i * 7) % 40
        items.append(
            tagged(
                docs,
                str(i),
                gemeente=gemeenten[i % 4],
                educationLevel=["nlqf-1", "nlqf-2", "unknown"][i % 3],
                person={**docs.candidate()["person"], "birthDate": f"{year}-06-15"},
                consents=[only_a] if i % 5 == 0 else None,
            )
        )
    batch(client, items)
    for headers in (CONSUMER_A, CONSUMER_B):
        cards = search_all(client, headers)
        assert cards
        assert min(class_sizes(cards).values()) >= 5
