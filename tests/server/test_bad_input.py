"""Bad input gets a precise 4xx problem, never a 500 or 422, and never leaves a trace in storage.

Every response here is also checked for ``API-Version`` and for the problem+json shape the
spec defines (OW-CORE-004, OW-ERR-003, OW-ERR-006).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from starlette.testclient import TestClient

from openwerk_server.auth.token_endpoint import TokenEndpoint
from openwerk_server.errors import MalformedBody
from openwerk_server.security import InvalidClient, InvalidTokenRequest
from openwerk_server.storage import Store
from openwerk_server.validation import body_validator
from openwerk_spec.openapi import spec_version, validation_errors, validator

PUBLISHER = {"Authorization": "Bearer publisher-token"}
JSON_HEADERS = {**PUBLISHER, "Content-Type": "application/json"}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["api-version"] == spec_version()
    problem: dict[str, Any] = response.json()
    assert validation_errors("Problem", problem) == []
    assert problem["status"] == status
    if code is not None:
        assert problem["code"] == code
        assert problem["type"] == f"https://w3id.org/openwerk/v1/problems/{code}"
    return problem


def names(problem: dict[str, Any]) -> set[str]:
    return {p["name"] for p in problem.get("invalidParams", [])}


@pytest.fixture
def unchanged(row_counts: Callable[[], dict[str, int]]) -> Iterator[None]:
    """The test's requests must leave every table as it was."""
    before = row_counts()
    yield
    assert row_counts() == before


# ---------------------------------------------------------------------------- bodies
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"title": "a",}',
        b"\xff\xfe\x00garbage",
        b'{"hoursPerWeek": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"pay": {"min": 1e400}}',
        b'{"n": ' + b"9" * 5000 + b"}",
    ],
    ids=["syntax", "trailing-comma", "not-utf8", "nan", "deep-nesting", "infinite", "huge-int"],
)
def test_malformed_json_is_400_malformed_body(client: TestClient, raw: bytes) -> None:
    response = client.post("/v1/publication/vacancies", content=raw, headers=JSON_HEADERS)
    assert_problem(response, 400, "malformed-body")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", {"body"}),
        (b"null", {"body"}),
        (b"[]", {"body"}),
        (b'"text"', {"body"}),
    ],
)
def test_a_body_that_is_not_an_object(client: TestClient, body: bytes, expected: set[str]) -> None:
    response = client.post("/v1/publication/vacancies", content=body, headers=JSON_HEADERS)
    assert names(assert_problem(response, 400, "invalid-parameters")) == expected


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_other_media_types_are_415(client: TestClient, docs: Any, content_type: str) -> None:
    response = client.post(
        "/v1/publication/vacancies",
        content=json.dumps(docs.vacancy()),
        headers={**PUBLISHER, "Content-Type": content_type},
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_json_with_charset_is_accepted(client: TestClient, docs: Any) -> None:
    response = client.post(
        "/v1/publication/vacancies",
        content=json.dumps(docs.vacancy()).encode(),
        headers={**PUBLISHER, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


@pytest.mark.usefixtures("unchanged")
def test_every_invalid_member_is_listed_at_once(client: TestClient, docs: Any) -> None:
    body = docs.vacancy(
        title="",
        hoursPerWeek={"min": "twenty", "max": 99},
        validThrough="31-12-2099",
        kind="nonsense",
        bogus=1,
        employer={"name": "X", "kvkNumber": "123", "extra": True},
    )
    del body["description"]
    problem = assert_problem(
        client.post("/v1/publication/vacancies", json=body, headers=PUBLISHER),
        400,
        "invalid-parameters",
    )
    by_name = {p["name"]: p["code"] for p in problem["invalidParams"]}
    assert by_name == {
        "body.title": "min-length",
        "body.hoursPerWeek.min": "type",
        "body.hoursPerWeek.max": "maximum",
        "body.validThrough": "format",
        "body.kind": "enum",
        "body.bogus": "unknown-field",
        "body.description": "required",
        "body.employer.kvkNumber": "pattern",
        "body.employer.extra": "unknown-field",
    }
    assert problem["detail"] == "9 invalid parameter(s)."


@pytest.mark.usefixtures("unchanged")
def test_schema_and_semantic_problems_come_together(client: TestClient, docs: Any) -> None:
    body = docs.vacancy(
        title="",
        location={"gemeente": "GM0014", "arbeidsmarktregio": "AM13"},
        hoursPerWeek={"min": 40, "max": 20},
    )
    problem = assert_problem(
        client.post("/v1/publication/vacancies", json=body, headers=PUBLISHER), 400
    )
    assert names(problem) == {
        "body.title",
        "body.location.arbeidsmarktregio",
        "body.hoursPerWeek.min",
    }


@pytest.mark.usefixtures("unchanged")
def test_nested_and_indexed_names(client: TestClient, docs: Any) -> None:
    body = docs.task_offer(
        tasks=[{"title": "ok"}, {"title": "", "hoursPerWeek": {"min": 9, "max": 2}}]
    )
    problem = assert_problem(
        client.post("/v1/publication/task-offers", json=body, headers=PUBLISHER), 400
    )
    assert names(problem) == {"body.tasks[1].title", "body.tasks[1].hoursPerWeek.min"}


# ---------------------------------------------------------------------------- size limits
@pytest.mark.usefixtures("unchanged")
def test_a_10_mb_body_is_413(client: TestClient) -> None:
    body = b'{"description": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = client.post("/v1/publication/vacancies", content=body, headers=JSON_HEADERS)
    assert_problem(response, 413, "payload-too-large")


@pytest.mark.usefixtures("unchanged")
def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"description": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'

    response = client.post("/v1/publication/vacancies", content=chunks(), headers=JSON_HEADERS)
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")


@pytest.mark.usefixtures("unchanged")
def test_the_batch_endpoint_has_the_larger_limit(client: TestClient, docs: Any) -> None:
    item = {"candidate": docs.candidate(), "padding": "x" * (2 * 1024 * 1024)}
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": [item]}, headers=PUBLISHER
    )
    problem = assert_problem(response, 400, "invalid-parameters")  # not 413
    assert names(problem) == {"body.items[0].padding"}


# ---------------------------------------------------------------------------- parameters
def test_limit_is_clamped_not_refused(client: TestClient) -> None:
    response = client.get("/v1/vacancies", params={"limit": 1_000_000_000})
    assert response.status_code == 200
    assert response.headers["api-version"] == spec_version()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=0", {"limit"}),
        ("limit=-3", {"limit"}),
        ("limit=ten", {"limit"}),
        ("limit=99999999999999999999999", {"limit"}),
        ("cursor=nonsense", {"cursor"}),
        ("cursor=" + "A" * 2000, {"cursor"}),
        ("hoursMin=30&hoursMax=10", {"hoursMin"}),
        (
            "hoursMin=61&occupation=12345&gemeente=GM9999&updatedSince=yesterday",
            {
                "hoursMin",
                "occupation",
                "gemeente",
                "updatedSince",
            },
        ),
        (
            "kind=carved-tasks&status=deleted&arbeidsmarktregio=AM99",
            {
                "kind",
                "status",
                "arbeidsmarktregio",
            },
        ),
    ],
)
def test_invalid_query_parameters_are_400_and_all_listed(
    client: TestClient, query: str, expected: set[str]
) -> None:
    problem = assert_problem(client.get(f"/v1/vacancies?{query}"), 400, "invalid-parameters")
    assert names(problem) == expected


def test_cursors_cannot_be_forged_or_moved_between_lists(client: TestClient, docs: Any) -> None:
    for _ in range(3):
        client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER)
        client.post("/v1/publication/instruments", json=docs.instrument(), headers=PUBLISHER)
    page = client.get("/v1/vacancies", params={"limit": 1}).json()
    cursor = httpx.URL(page["links"]["next"]["href"]).params["cursor"]
    assert client.get("/v1/vacancies", params={"cursor": cursor}).status_code == 200
    head, _, mac = cursor.partition(".")
    forged = f"{head[:-2]}AA.{mac}"
    assert_problem(client.get("/v1/vacancies", params={"cursor": forged}), 400)
    other = assert_problem(client.get("/v1/instruments", params={"cursor": cursor}), 400)
    assert names(other) == {"cursor"}


@pytest.mark.parametrize(
    "path",
    ["/v1/vacancies/has%20space", "/v1/vacancies/" + "a" * 65, "/v1/code-lists/UPPER"],
)
def test_malformed_path_ids_are_400(client: TestClient, path: str) -> None:
    problem = assert_problem(client.get(path), 400, "invalid-parameters")
    assert len(problem["invalidParams"]) == 1
    assert problem["invalidParams"][0]["name"] in ("vacancyId", "codeListName")


# ---------------------------------------------------------------------------- routing
@pytest.mark.parametrize("path", ["/", "/v2", "/v1/nothing", "/v1/vacancies/abc/def"])
def test_unknown_paths_are_404_problems(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404, "not-found")


def test_unknown_resources_are_404_problems(client: TestClient) -> None:
    for path in ("/v1/vacancies/unknown", "/v1/task-offers/unknown", "/v1/instruments/unknown"):
        assert_problem(client.get(path), 404, "not-found")
    assert_problem(client.get("/v1/publication/candidates/unknown", headers=PUBLISHER), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/vacancies", "GET"),
        ("POST", "/v1/conformance", "GET"),
        ("PATCH", "/v1/publication/candidates/abc", "DELETE, GET, PUT"),
    ],
)
def test_wrong_methods_are_405_problems(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=PUBLISHER)
    assert_problem(response, 405, "method-not-allowed")
    assert sorted(response.headers["allow"].split(", ")) == sorted(allow.split(", "))


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/v1/conformance", "application/xml"),
        ("/v1/vacancies", "text/html"),
        ("/v1/code-lists", "application/json;q=0"),
    ],
)
def test_an_accept_header_admitting_nothing_is_406(
    client: TestClient, path: str, accept: str
) -> None:
    assert_problem(client.get(path, headers={"Accept": accept}), 406, "not-acceptable")


@pytest.mark.parametrize("accept", ["*/*", "application/*", "application/json, text/html;q=0.2"])
def test_acceptable_accept_headers_get_json(client: TestClient, accept: str) -> None:
    response = client.get("/v1/conformance", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_operations_without_a_body_accept_anything(client: TestClient, docs: Any) -> None:
    created = client.post("/v1/publication/candidates", json=docs.candidate(), headers=PUBLISHER)
    erased = client.delete(
        f"/v1/publication/candidates/{created.json()['id']}",
        headers={**PUBLISHER, "Accept": "application/xml"},
    )
    assert erased.status_code == 204


def test_fastapi_validation_errors_are_400_not_422(app: FastAPI) -> None:
    """Routes that declare parameters the FastAPI way get the same 400 (OW-ERR-002)."""

    async def probe(
        limit: Annotated[int, Query(ge=1)], kind: Annotated[str, Query(pattern="^[a-z]+$")]
    ) -> dict[str, int]:
        return {"limit": limit}

    app.add_api_route("/v1/_probe", probe, methods=["GET"])
    with TestClient(app) as client:
        problem = assert_problem(
            client.get("/v1/_probe", params={"limit": 0, "kind": "X"}), 400, "invalid-parameters"
        )
        assert names(problem) == {"limit", "kind"}
        missing = assert_problem(client.get("/v1/_probe"), 400)
        assert {p["code"] for p in missing["invalidParams"]} == {"required"}


@pytest.mark.parametrize(
    ("error", "status", "code", "oauth_error"),
    [
        (InvalidClient("assertion replayed"), 401, "unauthorized", "invalid_client"),
        (
            InvalidTokenRequest("no such grant", "unsupported_grant_type"),
            400,
            "token-request-invalid",
            "unsupported_grant_type",
        ),
        (MalformedBody("not a form"), 400, "malformed-body", "invalid_request"),
    ],
)
def test_token_endpoint_problems_carry_the_oauth_error(
    app: FastAPI, error: Exception, status: int, code: str, oauth_error: str
) -> None:
    """The token router (openwerk_server.auth) raises; the problem mapping adds ``error``."""

    class RaisingEndpoint(TokenEndpoint):
        def __init__(self) -> None:  # no verifier or issuer needed to raise
            pass

        def handle(self, form: Any) -> dict[str, Any]:
            raise error

    app.state.token_endpoint = RaisingEndpoint()
    with TestClient(app) as client:
        response = client.post(
            "/v1/oauth/token",
            content=b"grant_type=client_credentials",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        problem = assert_problem(response, status, code)
    assert problem["error"] == oauth_error
    assert problem["error_description"]
    assert validation_errors("TokenProblem", problem) == []


# ---------------------------------------------------------------------------- failures
def test_an_unexpected_error_is_a_500_problem_without_internals(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "list_opportunity_rows", explode)
    response = client.get(
        "/v1/vacancies", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    )
    problem = assert_problem(response, 500, "internal")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert problem["traceId"] == TRACE_ID


def test_problems_carry_the_callers_trace_id_or_a_new_one(client: TestClient) -> None:
    traced = client.get(
        "/v1/nothing", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    )
    assert traced.json()["traceId"] == TRACE_ID
    invalid = client.get(
        "/v1/nothing", headers={"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}
    )
    fresh = invalid.json()["traceId"]
    assert fresh != "0" * 32
    assert len(fresh) == 32


def test_api_version_on_every_kind_of_response(client: TestClient, docs: Any) -> None:
    responses = [
        client.get("/v1"),
        client.get("/v1/openapi.json"),
        client.get("/nothing"),
        client.post("/v1/conformance"),
        client.post("/v1/publication/vacancies", json=docs.vacancy()),
        client.post("/v1/publication/vacancies", json=docs.vacancy(), headers=PUBLISHER),
        client.post(
            "/v1/publication/vacancies", content=b"x" * (2 * 1024 * 1024), headers=JSON_HEADERS
        ),
        client.get("/v1/vacancies?limit=0"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 405, 401, 201, 413, 400]
    assert {r.headers.get("api-version") for r in responses} == {spec_version()}


# ---------------------------------------------------------------------------- one source of truth
def _errors(validator: Any, instance: Any) -> list[tuple[str, str]]:
    return sorted(
        ("/".join(map(str, e.absolute_path)), str(e.validator))
        for e in validator.iter_errors(instance)
    )


@pytest.mark.parametrize(
    ("schema_name", "document"),
    [
        ("VacancyInput", "vacancy"),
        ("TaskOfferInput", "task_offer"),
        ("InstrumentInput", "instrument"),
        ("CandidateRecordInput", "candidate"),
        ("ConsentInput", "consent"),
    ],
)
def test_the_server_validates_with_the_spec_schemas(
    docs: Any, schema_name: str, document: str
) -> None:
    """The inlined validators the server uses give the spec's own verdicts."""
    valid = getattr(docs, document)()
    broken = {**valid, "bogus": 1, "description": 7, "hoursPerWeek": {"min": -1}}
    broken.pop(next(iter(valid)))
    for instance in (valid, broken, {}, [], None):
        assert _errors(body_validator(schema_name), instance) == _errors(
            validator(schema_name), instance
        )
