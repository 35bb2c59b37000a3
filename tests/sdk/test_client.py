"""``Client`` against an in-memory node behind ``httpx.MockTransport`` (no network)."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

import openwerk
from openwerk import (
    Client,
    ClientCredentials,
    ConformanceClass,
    ConformanceError,
    ConformanceWarning,
    MatchRequest,
    OpportunityReference,
    PaginationError,
)
from openwerk.keys import generate_signing_key, public_jwk

BASE = "https://node.example.nl/v1"
TOKEN_URL = BASE + "/oauth/token"
CLIENT_ID = "platform-x"
ALL_CLASSES = frozenset(ConformanceClass)

Handler = Callable[[httpx.Request], httpx.Response]


# --------------------------------------------------------------------------- fake node


def vacancy(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"v{i}",
        "publisher": "node-a",
        "employer": {"name": "Bakkerij De Korf", "kvkNumber": "12345678"},
        "title": f"Medewerker bakkerij {i}",
        "description": "Brood bakken.",
        "kind": "regular",
        "occupation": {"isco08": "7512", "label": "Bakker"},
        "skills": [{"label": "deeg kneden", "importance": "essential"}],
        "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM12"},
        "hoursPerWeek": {"min": 16, "max": 32},
        "validThrough": "2031-01-31",
        "supportOffered": ["jobcoach"],
        "instruments": ["no-riskpolis"],
        "inclusiveRedesign": True,
        "status": "open",
        "createdAt": "2030-01-01T09:00:00Z",
        "updatedAt": "2030-01-02T09:00:00Z",
        **extra,
    }


def card(i: int) -> dict[str, Any]:
    return {
        "id": f"pseudonym{i:013d}",
        "node": "node-a",
        "location": {"arbeidsmarktregio": "AM12"},
        "ageBand": "25-34",
        "desiredOccupations": [{"isco08": "7512", "label": "Bakker"}],
        "skills": [{"label": "deeg kneden"}],
        "languages": [{"code": "nl", "level": "B1"}],
        "hoursPerWeek": {"min": 20, "max": 32},
        "availableFrom": "2030-02",
        "travel": {"maxMinutes": "15-30", "modes": ["bicycle"]},
        "wantedKinds": ["regular"],
        "lastConfirmed": "2030-01",
        "generalised": ["location", "ageBand"],
    }


def problem(status: int, code: str, title: str, **extra: Any) -> httpx.Response:
    body = {
        "type": f"https://w3id.org/openwerk/v1/problems/{code}",
        "title": title,
        "status": status,
        "detail": f"{title}.",
        "code": code,
        **extra,
    }
    headers = {"Content-Type": "application/problem+json"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return httpx.Response(status, json=body, headers=headers)


class FakeNode:
    """A small Open Werk node: landing, conformance, token endpoint, paged lists.

    It verifies client assertions the way a real node must (signature with the member's
    key, iss = sub = client id, aud = this token endpoint, exp ≤ 5 min, fresh jti).
    """

    def __init__(
        self,
        *,
        classes: frozenset[ConformanceClass] = ALL_CLASSES,
        vacancies: int = 5,
        page_size: int = 2,
        client_key: ECKey | None = None,
        token_lifetime: int = 3600,
    ) -> None:
        self.classes = classes
        self.vacancies = [vacancy(i) for i in range(vacancies)]
        self.page_size = page_size
        self.client_key = ECKey.import_key(public_jwk(client_key)) if client_key else None
        self.token_lifetime = token_lifetime
        self.requests: list[httpx.Request] = []
        self.assertion_claims: list[dict[str, Any]] = []
        self.valid_tokens: set[str] = set()
        self.overrides: dict[tuple[str, str], Handler] = {}

    # helpers for tests
    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/v1") or "/" for r in self.requests]

    def count(self, path: str) -> int:
        return self.paths().count(path)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1") or "/"
        if (request.method, path) in self.overrides:
            return self.overrides[request.method, path](request)
        if path == "/oauth/token":
            return self._token(request)
        if path == "/":
            return httpx.Response(200, json=self._landing(), headers={"API-Version": "1.0.0"})
        if path == "/conformance":
            return httpx.Response(200, json={"conformsTo": sorted(c.uri for c in self.classes)})
        if self.client_key is not None:
            auth = request.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in self.valid_tokens:
                return problem(401, "invalid-token", "The access token is not valid here")
        if path == "/vacancies":
            return self._page(request, self.vacancies)
        if path == "/candidates":
            return self._page(request, [card(i) for i in range(3)])
        if path.startswith("/vacancies/"):
            wanted = path.rsplit("/", 1)[-1]
            for v in self.vacancies:
                if v["id"] == wanted:
                    return httpx.Response(200, json=v)
            return problem(404, "not-found", "Not found")
        return problem(404, "not-found", "Not found")

    def _landing(self) -> dict[str, Any]:
        return {
            "id": "node-a",
            "name": "Werkbedrijf A",
            "organisation": {"type": "werkbedrijf", "name": "Werkbedrijf A"},
            "regions": {"arbeidsmarktregios": ["AM12"]},
            "mode": "node",
            "specVersion": "1.0.0",
            "k": 5,
            "conformsTo": sorted(c.uri for c in self.classes),
            "publicOpportunities": True,
            "tokenEndpoint": TOKEN_URL,
            "links": [{"href": BASE + "/openapi.json", "rel": "service-desc"}],
        }

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0"))
        size = int(request.url.params.get("limit", str(self.page_size)))
        end = start + size
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        if end < len(items):
            # Alternate relative and absolute hrefs: the client must resolve both.
            href = f"?cursor={end}&limit={size}" if (end // size) % 2 else None
            links["next"] = {"href": href or f"{request.url.copy_with(query=None)}?cursor={end}"}
            if href is None:
                links["next"]["href"] += f"&limit={size}"
        return httpx.Response(200, json={"items": items[start:end], "links": links})

    def _token(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assert self.client_key is not None
        try:
            decoded = jwt.decode(form["client_assertion"], self.client_key, algorithms=["ES256"])
        except Exception:  # the real node answers invalid_client; the test sees it as such
            return problem(401, "token-request-invalid", "Bad assertion", error="invalid_client")
        claims = decoded.claims
        now = time.time()
        seen = {c["jti"] for c in self.assertion_claims}
        ok = (
            claims["iss"] == claims["sub"] == CLIENT_ID
            and claims["aud"] == TOKEN_URL
            and now - 5 <= claims["exp"] <= now + 300
            and claims["jti"] not in seen
        )
        if not ok:
            return problem(400, "token-request-invalid", "Bad assertion", error="invalid_grant")
        self.assertion_claims.append(claims)
        token = f"token-{len(self.assertion_claims)}"
        self.valid_tokens.add(token)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": "opportunities:read candidates:read",
        }
        return httpx.Response(200, json=body, headers={"Cache-Control": "no-store"})


@pytest.fixture
def key() -> ECKey:
    return generate_signing_key()


@pytest.fixture
def credentials(key: ECKey) -> ClientCredentials:
    return ClientCredentials(CLIENT_ID, key, openwerk.token_endpoint_for(BASE))


def make_client(node: FakeNode, **kwargs: Any) -> Client:
    return Client(BASE, transport=httpx.MockTransport(node), **kwargs)


@pytest.fixture
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------- paging


def test_iterator_follows_next_links_until_absent() -> None:
    node = FakeNode(vacancies=5, page_size=2)
    with make_client(node) as client:
        found = list(client.vacancies())
    assert [v.id for v in found] == ["v0", "v1", "v2", "v3", "v4"]
    assert node.count("/vacancies") == 3
    # later pages followed the node's links unchanged (relative and absolute alike)
    cursors = [r.url.params.get("cursor") for r in node.requests if r.url.path.endswith("ies")]
    assert cursors == [None, "2", "4"]


def test_iterator_is_lazy() -> None:
    node = FakeNode(vacancies=5, page_size=2)
    client = make_client(node)
    iterator = client.vacancies()
    assert node.count("/vacancies") == 0
    assert next(iterator).id == "v0"
    assert node.count("/vacancies") == 1


def test_single_page_and_next_page() -> None:
    node = FakeNode(vacancies=3, page_size=2)
    client = make_client(node)
    page = client.vacancies_page(limit=2)
    assert [v.id for v in page.items] == ["v0", "v1"]
    assert page.has_next
    second = client.next_page(page)
    assert second is not None
    assert [v.id for v in second] == ["v2"]
    assert client.next_page(second) is None


def test_repeated_next_link_raises_instead_of_looping() -> None:
    node = FakeNode()

    def stuck(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "items": [vacancy(1)],
                "links": {"self": {"href": "/v1/vacancies"}, "next": {"href": "/v1/vacancies"}},
            },
        )

    node.overrides["GET", "/vacancies"] = stuck
    client = make_client(node)
    with pytest.raises(PaginationError, match="already fetched"):
        list(client.vacancies())
    assert node.count("/vacancies") == 1


def test_loop_over_two_pages_is_caught() -> None:
    node = FakeNode()

    def ping_pong(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor", "a")
        other = "b" if cursor == "a" else "a"
        body = {
            "items": [vacancy(1)],
            "links": {"self": {"href": "x"}, "next": {"href": f"vacancies?cursor={other}"}},
        }
        return httpx.Response(200, json=body)

    node.overrides["GET", "/vacancies"] = ping_pong
    with pytest.raises(PaginationError):
        list(make_client(node).vacancies())
    assert node.count("/vacancies") == 3  # a (no cursor), b, a → refused before a 4th


def test_next_link_to_another_origin_is_refused(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=credentials.private_key)

    def leaky(request: httpx.Request) -> httpx.Response:
        body = {
            "items": [vacancy(1)],
            "links": {"self": {"href": "x"}, "next": {"href": "https://evil.example/v1/x"}},
        }
        return httpx.Response(200, json=body)

    node.overrides["GET", "/vacancies"] = leaky
    client = make_client(node, credentials=credentials)
    with pytest.raises(PaginationError, match="another origin"):
        list(client.vacancies())
    assert all(r.url.host == "node.example.nl" for r in node.requests)


# --------------------------------------------------------------------------- parameters, models


def test_snake_case_filters_become_the_spec_camel_case_names() -> None:
    node = FakeNode()
    client = make_client(node)
    list(
        client.vacancies(
            hours_min=16,
            hours_max=32,
            arbeidsmarktregio="AM12",
            updated_since=datetime(2030, 1, 1, tzinfo=UTC),
            status="open",
            limit=10,
        )
    )
    params = dict(node.requests[-1].url.params)
    assert params == {
        "hoursMin": "16",
        "hoursMax": "32",
        "arbeidsmarktregio": "AM12",
        "updatedSince": "2030-01-01T00:00:00+00:00",
        "status": "open",
        "limit": "10",
    }


def test_candidate_filters_map_lists_dates_and_camel_case() -> None:
    node = FakeNode()
    client = make_client(node)
    list(
        client.search_candidates(
            available_by=date(2030, 3, 1),
            wanted_kind="regular",
            language_level="B1",
            support_offered=["jobcoach", "adapted-workplace"],
        )
    )
    first = next(r for r in node.requests if r.url.path == "/v1/candidates")
    params = dict(first.url.params)
    assert params == {
        "availableBy": "2030-03-01",
        "wantedKind": "regular",
        "languageLevel": "B1",
        "supportOffered": "jobcoach,adapted-workplace",
    }


def test_unknown_filter_is_a_type_error() -> None:
    client = make_client(FakeNode())
    with pytest.raises(TypeError, match="hours_minimum"):
        client.vacancies(hours_minimum=3)  # type: ignore[call-arg]


def test_models_expose_snake_case_and_keep_unknown_members() -> None:
    node = FakeNode()
    node.vacancies = [vacancy(7, futureMember={"added": "in 1.1"})]
    found = make_client(node).vacancy("v7")
    assert found.hours_per_week.min == 16
    assert found.employer.kvk_number == "12345678"
    assert found.inclusive_redesign is True
    assert found.valid_through == date(2031, 1, 31)
    assert found.model_extra == {"futureMember": {"added": "in 1.1"}}
    assert found.to_json_dict() == vacancy(7, futureMember={"added": "in 1.1"}) | {
        "createdAt": "2030-01-01T09:00:00Z",
        "updatedAt": "2030-01-02T09:00:00Z",
    }


def test_candidate_cards_parse() -> None:
    cards = list(make_client(FakeNode()).search_candidates())
    assert cards[0].pseudonym == cards[0].id == "pseudonym0000000000000"
    assert cards[0].age_band == "25-34"
    assert cards[0].travel is not None
    assert cards[0].travel.max_minutes == "15-30"
    assert cards[0].location.gemeente is None
    assert str(cards[0].hours_per_week) == "20-32"


def test_ids_are_percent_encoded_into_the_path() -> None:
    node = FakeNode()
    with pytest.raises(openwerk.NotFound):
        make_client(node).vacancy("../oauth/token")
    assert node.requests[-1].url.raw_path == b"/v1/vacancies/..%2Foauth%2Ftoken"


def test_every_request_carries_a_traceparent_and_errors_name_it() -> None:
    node = FakeNode()
    client = make_client(node)
    with pytest.raises(openwerk.NotFound) as caught:
        client.vacancy("nope")
    sent = node.requests[-1].headers["traceparent"]
    assert sent.split("-")[1] == caught.value.trace_id
    assert caught.value.problem["code"] == "not-found"


def test_caller_headers_are_sent() -> None:
    node = FakeNode()
    make_client(node, headers={"X-Platform": "demo"}).landing()
    assert node.requests[-1].headers["X-Platform"] == "demo"
    assert node.requests[-1].headers["User-Agent"].startswith("openwerk-python/")


def test_other_major_api_version_warns_once() -> None:
    node = FakeNode()
    node.overrides["GET", "/"] = lambda r: httpx.Response(
        200, json=FakeNode()._landing(), headers={"API-Version": "2.0.0"}
    )
    client = make_client(node)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        client.landing()
        client.landing()
    assert [type(w.message) for w in record] == [openwerk.OpenWerkWarning]
    assert "2.0.0" in str(record[0].message)
    assert record[0].filename == __file__


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client("node.example.nl/v1")
    assert Client(BASE + "/").base_url == BASE


# --------------------------------------------------------------------------- tokens


def test_token_is_obtained_with_a_signed_assertion_and_cached(
    credentials: ClientCredentials,
) -> None:
    node = FakeNode(client_key=credentials.private_key)
    client = make_client(node, credentials=credentials)
    list(client.vacancies())
    client.vacancy("v1")
    assert node.count("/oauth/token") == 1  # cached across calls
    claims = node.assertion_claims[0]
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL
    assert claims["exp"] - claims["iat"] <= 300
    api_calls = [r for r in node.requests if "vacancies" in r.url.path]
    assert {r.headers["Authorization"] for r in api_calls} == {"Bearer token-1"}


def test_public_core_calls_carry_no_token(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=credentials.private_key)
    client = make_client(node, credentials=credentials)
    client.landing()
    client.conformance()
    assert node.count("/oauth/token") == 0
    assert all("Authorization" not in r.headers for r in node.requests)


def test_token_is_renewed_shortly_before_expiry(
    credentials: ClientCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openwerk._auth as auth

    now = [1000.0]
    monkeypatch.setattr(auth, "_clock", lambda: now[0])
    node = FakeNode(client_key=credentials.private_key, token_lifetime=300)
    client = make_client(node, credentials=credentials)
    client.vacancy("v1")
    now[0] += 260  # 40 s left: still more than the 30 s margin
    client.vacancy("v1")
    assert node.count("/oauth/token") == 1
    now[0] += 15  # 25 s left: renew before the node could see it expire
    client.vacancy("v1")
    assert node.count("/oauth/token") == 2
    assert node.requests[-1].headers["Authorization"] == "Bearer token-2"


def test_a_401_refreshes_the_token_once_and_retries(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=credentials.private_key)
    client = make_client(node, credentials=credentials)
    client.vacancy("v1")
    node.revoke_tokens()  # e.g. the node restarted with a new signing key
    assert client.vacancy("v2").id == "v2"
    assert node.count("/oauth/token") == 2
    assert [p for p in node.paths() if p != "/conformance"] == [
        "/oauth/token",
        "/vacancies/v1",
        "/vacancies/v2",  # refused: 401
        "/oauth/token",
        "/vacancies/v2",  # retried with the fresh token
    ]
    # two distinct, verified assertions (jti never reused)
    assert len({c["jti"] for c in node.assertion_claims}) == 2


def test_a_second_401_is_raised_not_retried_forever(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=credentials.private_key)
    node.overrides["GET", "/vacancies/v1"] = lambda r: problem(
        401, "invalid-token", "The access token is not valid here"
    )
    client = make_client(node, credentials=credentials)
    with pytest.raises(openwerk.Unauthorized) as caught:
        client.vacancy("v1")
    assert caught.value.status == 401
    assert node.count("/vacancies/v1") == 2
    assert node.count("/oauth/token") == 2


def test_a_401_without_credentials_is_not_retried() -> None:
    node = FakeNode(client_key=generate_signing_key())
    with pytest.raises(openwerk.Unauthorized):
        make_client(node).vacancy("v1")
    assert node.count("/vacancies/v1") == 1


def test_refused_assertion_is_an_authentication_error(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=generate_signing_key())  # the node knows another key
    client = make_client(node, credentials=credentials)
    with pytest.raises(openwerk.AuthenticationError) as caught:
        client.vacancy("v1")
    assert caught.value.error == "invalid_client"
    assert isinstance(caught.value.__cause__, openwerk.Unauthorized)
    assert caught.value.problem["code"] == "token-request-invalid"
    assert node.count("/vacancies/v1") == 0


def test_token_answer_without_a_token_is_an_authentication_error(
    credentials: ClientCredentials,
) -> None:
    node = FakeNode(client_key=credentials.private_key)
    node.overrides["POST", "/oauth/token"] = lambda r: httpx.Response(200, json={"oops": 1})
    with pytest.raises(openwerk.AuthenticationError) as caught:
        make_client(node, credentials=credentials).vacancy("v1")
    assert isinstance(caught.value.__cause__, KeyError)


# --------------------------------------------------------------------------- conformance gating

OPPORTUNITIES_ONLY = frozenset({ConformanceClass.CORE, ConformanceClass.OPPORTUNITIES})


def test_missing_class_warns_once_per_class_and_calls_anyway() -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY, page_size=10)
    client = make_client(node)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        list(client.search_candidates())
        list(client.search_candidates())
    assert [type(w.message) for w in record] == [ConformanceWarning]
    assert "'candidates'" in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller, not at SDK internals
    assert node.count("/candidates") == 2
    assert node.count("/conformance") == 1  # read once, lazily


def test_declared_class_does_not_warn(no_warnings: None) -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY)
    client = make_client(node)
    list(client.vacancies())
    assert client.declared_classes == OPPORTUNITIES_ONLY
    assert client.conforms_to("opportunities")
    assert not client.conforms_to(ConformanceClass.MATCHING)


def test_strict_mode_refuses_before_sending() -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY)
    client = make_client(node, strict=True)
    with pytest.raises(ConformanceError) as caught:
        client.match(opportunity=OpportunityReference.vacancy("v1"))
    assert caught.value.needed is ConformanceClass.MATCHING
    assert caught.value.declared == OPPORTUNITIES_ONLY
    assert node.count("/matches") == 0


def test_strict_can_be_switched_on_and_ignore_turns_gating_off(no_warnings: None) -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY)
    client = make_client(node)
    client.strict_conformance()
    with pytest.raises(ConformanceError):
        list(client.search_candidates())
    client.ignore_conformance()
    assert len(list(client.search_candidates())) == 3


def test_ignore_reads_no_conformance(no_warnings: None) -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY)
    client = make_client(node, strict=True)
    client.ignore_conformance()
    list(client.search_candidates())
    assert node.count("/conformance") == 0


def test_unreadable_conformance_in_strict_mode_is_chained() -> None:
    node = FakeNode()
    node.overrides["GET", "/conformance"] = lambda r: problem(404, "not-found", "Not found")
    client = make_client(node, strict=True)
    with pytest.raises(ConformanceError) as caught:
        list(client.search_candidates())
    assert caught.value.declared is None
    assert isinstance(caught.value.__cause__, openwerk.NotFound)


def test_unreadable_conformance_warns_and_proceeds() -> None:
    node = FakeNode()
    node.overrides["GET", "/conformance"] = lambda r: problem(500, "internal", "Internal error")
    client = make_client(node)
    with pytest.warns(ConformanceWarning, match="could not be read"):
        assert len(list(client.search_candidates())) == 3


# --------------------------------------------------------------------------- bodies


def match_result() -> dict[str, Any]:
    return {
        "scoreVersion": "score-v1",
        "node": "node-a",
        "opportunity": {
            "occupation": {"isco08": "7512"},
            "skills": [],
            "hoursPerWeek": {"min": 16, "max": 32},
            "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM12"},
        },
        "items": [
            {
                "candidate": card(1),
                "score": 0.82,
                "components": {
                    "occupation": 1.0,
                    "skills": 0.5,
                    "hours": 1.0,
                    "location": 1.0,
                    "availability": 1.0,
                    "support": 0.5,
                },
            }
        ],
    }


def capture(
    node: FakeNode, method: str, path: str, answer: dict[str, Any], status: int = 200
) -> list[Any]:
    """Answer ``method path`` with ``answer`` and return the list the request bodies land in."""
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content) if request.content else None)
        return httpx.Response(status, json=answer)

    node.overrides[method, path] = handler
    return bodies


def test_match_with_a_vacancy_read_from_a_node_sends_a_reference() -> None:
    node = FakeNode()
    bodies = capture(node, "POST", "/matches", match_result())
    client = make_client(node)
    result = client.match(opportunity=client.vacancy("v1"), limit=5, filters={"hoursOverlap": True})
    assert bodies == [
        {
            "opportunity": {"ref": {"type": "vacancy", "id": "v1", "node": "node-a"}},
            "limit": 5,
            "filters": {"hoursOverlap": True},
        }
    ]
    assert result.score_version == "score-v1"
    assert result.items[0].components.skills == 0.5
    assert result.items[0].candidate.age_band == "25-34"


def test_match_accepts_inline_criteria_a_request_model_or_a_dict() -> None:
    node = FakeNode()
    bodies = capture(node, "POST", "/matches", match_result())
    client = make_client(node)
    inline = {
        "inline": {
            "occupation": {"isco08": "7512"},
            "hoursPerWeek": {"min": 16, "max": 32},
            "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM12"},
        }
    }
    client.match(MatchRequest(opportunity=inline, filters={"arbeidsmarktregios": ["AM12"]}))
    client.match({"opportunity": {"ref": {"type": "task-offer", "id": "t1"}}})
    assert bodies[0]["opportunity"]["inline"]["hoursPerWeek"] == {"min": 16, "max": 32}
    assert bodies[0]["filters"] == {"arbeidsmarktregios": ["AM12"]}
    assert bodies[1] == {"opportunity": {"ref": {"type": "task-offer", "id": "t1"}}}
    with pytest.raises(TypeError):
        client.match({"opportunity": {}}, limit=3)


def test_request_helpers_refuse_misspelt_members() -> None:
    with pytest.raises(ValueError, match="limt"):
        MatchRequest.model_validate(
            {"opportunity": {"ref": {"type": "vacancy", "id": "v1"}}, "limt": 3}
        )


def introduction(status: str = "pending", **extra: Any) -> dict[str, Any]:
    return {
        "id": "i1",
        "status": status,
        "requester": {"member": CLIENT_ID, "role": "employer", "contactPerson": {"name": "Eva"}},
        "opportunity": {"type": "vacancy", "id": "v1"},
        "candidate": "pseudonym0000000000001",
        "message": "Wij willen kennismaken.",
        "createdAt": "2030-01-01T09:00:00Z",
        "expiresAt": "2030-01-15T09:00:00Z",
        **extra,
    }


def test_introduce_from_parts_sends_camel_case() -> None:
    node = FakeNode()
    bodies = capture(node, "POST", "/introductions", introduction(), status=201)
    client = make_client(node)
    cards = list(client.search_candidates())
    intro = client.introduce(
        opportunity=OpportunityReference.vacancy("v1"),
        candidate=cards[1],
        requester_role="employer",
        contact_person="Eva",
        message="Wij willen kennismaken.",
    )
    assert bodies == [
        {
            "opportunity": {"type": "vacancy", "id": "v1"},
            "candidate": "pseudonym0000000000001",
            "requesterRole": "employer",
            "contactPerson": {"name": "Eva"},
            "message": "Wij willen kennismaken.",
        }
    ]
    assert intro.status == "pending"
    assert intro.identity is None


def test_accepted_introduction_reveals_identity() -> None:
    node = FakeNode()
    identity = {
        "givenName": "Sanne",
        "familyName": "de Vries",
        "contact": {"channel": "via-custodian", "value": "jobcoach Piet, 030-1234567"},
    }
    capture(node, "GET", "/introductions/i1", introduction("accepted", identity=identity))
    intro = make_client(node).introduction("i1")
    assert intro.identity is not None
    assert intro.identity.given_name == "Sanne"
    assert intro.identity.contact.channel == "via-custodian"


def test_events_return_a_cursor_to_poll_again() -> None:
    node = FakeNode()
    event = {
        "specversion": "1.0",
        "id": "e1",
        "source": BASE,
        "type": "nl.openwerk.candidate.tombstone",
        "subject": "pseudonym0000000000001",
        "time": "2030-01-01T09:00:00Z",
        "datacontenttype": "application/json",
        "data": {"pseudonym": "pseudonym0000000000001"},
    }

    def feed(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("cursor")
        items = [] if after else [event]
        links = {"self": {"href": str(request.url)}, "next": {"href": "events?cursor=c1"}}
        return httpx.Response(200, json={"items": items, "links": links})

    node.overrides["GET", "/events"] = feed
    client = make_client(node)
    events, cursor = client.events(types=["nl.openwerk.candidate.tombstone"])
    assert events[0].is_tombstone
    assert events[0].subject == "pseudonym0000000000001"
    assert cursor == BASE + "/events?cursor=c1"
    assert node.requests[-1].url.params["types"] == "nl.openwerk.candidate.tombstone"
    later, again = client.events(cursor)
    assert later == []
    assert again == cursor
    with pytest.raises(PaginationError):
        client.events("https://evil.example/v1/events?cursor=c1")


def test_statistics_group_by_is_comma_separated() -> None:
    node = FakeNode()
    stats = {
        "population": "candidates",
        "dimensions": ["arbeidsmarktregio", "ageBand"],
        "threshold": 10,
        "rounding": 5,
        "total": {"values": {}, "count": 120, "suppressed": False},
        "cells": [
            {"values": {"arbeidsmarktregio": "AM12", "ageBand": "25-34"}, "suppressed": True}
        ],
    }
    capture(node, "GET", "/statistics/candidates", stats)
    result = make_client(node).candidate_statistics(["arbeidsmarktregio", "ageBand"])
    assert node.requests[-1].url.params["groupBy"] == "arbeidsmarktregio,ageBand"
    assert result.total.count == 120
    assert result.cells[0].suppressed
    assert result.cells[0].count is None


def test_publication_posts_json_and_gates_on_publication(no_warnings: None) -> None:
    node = FakeNode()
    bodies = capture(
        node,
        "POST",
        "/publication/candidate-batches",
        {"items": [{"candidateId": "c1", "consentIds": ["k1"]}]},
        status=201,
    )
    client = make_client(node)
    result = client.publication.create_candidate_batch([{"candidate": {"gemeente": "GM0344"}}])
    assert bodies == [{"items": [{"candidate": {"gemeente": "GM0344"}}]}]
    assert result["items"][0]["candidateId"] == "c1"

    withdrawn = capture(
        node,
        "POST",
        "/publication/candidates/c1/consents/k1/withdrawal",
        {"id": "k1", "status": "withdrawn"},
    )
    assert client.publication.withdraw_consent("c1", "k1")["status"] == "withdrawn"
    assert withdrawn == [{}]

    strict = make_client(FakeNode(classes=OPPORTUNITIES_ONLY), strict=True)
    with pytest.raises(ConformanceError):
        strict.publication.create_vacancy(vacancy(1))


def test_gateway_pages_carry_partial_and_node_status() -> None:
    node = FakeNode()
    body = {
        "items": [card(1)],
        "links": {"self": {"href": "x"}},
        "partial": True,
        "nodes": [
            {"node": "node-a", "status": "ok", "itemCount": 1, "durationMs": 12},
            {"node": "node-b", "status": "timeout", "durationMs": 2000},
        ],
    }
    capture(node, "GET", "/candidates", body)
    page = make_client(node).search_candidates_page()
    assert page.partial is True
    assert [(n.node, n.status) for n in page.nodes] == [("node-a", "ok"), ("node-b", "timeout")]


# --------------------------------------------------------------------------- AsyncClient parity


def make_async(node: FakeNode, **kwargs: Any) -> openwerk.AsyncClient:
    return openwerk.AsyncClient(BASE, transport=httpx.MockTransport(node), **kwargs)


def test_async_iterator_follows_next_links() -> None:
    node = FakeNode(vacancies=5, page_size=2)

    async def run() -> list[str]:
        async with make_async(node) as client:
            return [v.id async for v in client.vacancies(hours_min=16)]

    assert asyncio.run(run()) == ["v0", "v1", "v2", "v3", "v4"]
    assert node.count("/vacancies") == 3
    assert node.requests[1].url.params["hoursMin"] == "16"


def test_async_repeated_next_link_raises() -> None:
    node = FakeNode()
    node.overrides["GET", "/vacancies"] = lambda r: httpx.Response(
        200, json={"items": [], "links": {"self": {"href": "x"}, "next": {"href": "vacancies"}}}
    )

    async def run() -> None:
        async with make_async(node) as client:
            async for _ in client.vacancies():
                pass

    with pytest.raises(PaginationError):
        asyncio.run(run())


def test_async_token_caching_and_refresh_on_401(credentials: ClientCredentials) -> None:
    node = FakeNode(client_key=credentials.private_key)

    async def run() -> None:
        async with make_async(node, credentials=credentials) as client:
            await client.vacancy("v1")
            await client.vacancy("v2")
            node.revoke_tokens()
            await client.vacancy("v3")

    asyncio.run(run())
    assert node.count("/oauth/token") == 2
    assert node.count("/vacancies/v3") == 2
    assert all(c["aud"] == TOKEN_URL for c in node.assertion_claims)


def test_async_conformance_gating_warn_strict_ignore() -> None:
    node = FakeNode(classes=OPPORTUNITIES_ONLY)

    async def run() -> None:
        client = make_async(node)
        with pytest.warns(ConformanceWarning):
            await client.candidate_statistics()
        client.strict_conformance()
        with pytest.raises(ConformanceError):
            await client.match(opportunity=OpportunityReference.vacancy("v1"))
        client.ignore_conformance()
        assert len([c.id async for c in client.search_candidates()]) == 3
        await client.aclose()

    stats = {
        "population": "candidates",
        "dimensions": [],
        "threshold": 10,
        "rounding": 5,
        "total": {"values": {}, "count": 45, "suppressed": False},
        "cells": [],
    }
    capture(node, "GET", "/statistics/candidates", stats)
    asyncio.run(run())
    assert node.count("/matches") == 0


def test_async_match_and_errors_match_the_sync_client() -> None:
    node = FakeNode()
    bodies = capture(node, "POST", "/matches", match_result())

    async def run() -> tuple[openwerk.MatchResult, openwerk.NotFound]:
        async with make_async(node) as client:
            result = await client.match(opportunity=await client.vacancy("v1"), limit=5)
            try:
                await client.vacancy("missing")
            except openwerk.NotFound as exc:
                return result, exc
            raise AssertionError("expected NotFound")

    result, error = asyncio.run(run())
    assert result.items[0].score == 0.82
    assert bodies[0]["opportunity"] == {"ref": {"type": "vacancy", "id": "v1", "node": "node-a"}}
    assert error.status == 404
    assert error.trace_id == node.requests[-1].headers["traceparent"].split("-")[1]


def test_async_transport_errors_are_chained() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no answer", request=request)

    async def run() -> None:
        async with openwerk.AsyncClient(BASE, transport=httpx.MockTransport(handler)) as client:
            await client.landing()

    with pytest.raises(openwerk.TransportError) as caught:
        asyncio.run(run())
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
