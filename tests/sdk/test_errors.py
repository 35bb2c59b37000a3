"""The SDK's exception tree: status mapping, problem parsing, chaining."""

from __future__ import annotations

import httpx
import pytest

import openwerk
from openwerk import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    OpenWerkError,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
)
from openwerk._errors import error_from_response

PROBLEM = {
    "type": "https://w3id.org/openwerk/v1/problems/invalid-parameters",
    "title": "Invalid input",
    "status": 400,
    "detail": "2 invalid parameter(s).",
    "code": "invalid-parameters",
    "invalidParams": [
        {"name": "query.hoursMin", "reason": "must be at most 60", "code": "maximum"},
        {"name": "query.limit", "reason": "must be an integer", "code": "type"},
    ],
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
}


def _problem_response(status: int, body: dict[str, object] | None = None) -> httpx.Response:
    problem = {**PROBLEM, "status": status} if body is None else body
    return httpx.Response(
        status,
        json=problem,
        headers={"Content-Type": "application/problem+json"},
        request=httpx.Request("GET", "https://node.example.nl/v1/vacancies"),
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, PayloadTooLarge),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (405, ApiError),
        (406, ApiError),
        (415, ApiError),
    ],
)
def test_status_maps_to_exception_class(status: int, cls: type[ApiError]) -> None:
    error = error_from_response(_problem_response(status))
    assert type(error) is cls
    assert error.status == status
    assert isinstance(error, OpenWerkError)


def test_every_api_error_is_in_the_tree() -> None:
    for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict"):
        assert issubclass(getattr(openwerk, name), ApiError)
    assert issubclass(openwerk.ServerError, ApiError)
    for name in (
        "TransportError",
        "ApiError",
        "AuthenticationError",
        "ConformanceError",
        "PaginationError",
        "InvalidResponseError",
    ):
        assert issubclass(getattr(openwerk, name), OpenWerkError)
    assert issubclass(openwerk.OpenWerkWarning, UserWarning)
    assert issubclass(openwerk.ConformanceWarning, openwerk.OpenWerkWarning)


def test_problem_is_parsed_with_invalid_params_and_trace_id() -> None:
    error = error_from_response(_problem_response(400), trace_id="f" * 32)
    assert isinstance(error, BadRequest)
    assert error.is_problem
    assert error.problem["code"] == "invalid-parameters"
    assert error.code == "invalid-parameters"
    assert error.title == "Invalid input"
    assert error.detail == "2 invalid parameter(s)."
    assert error.type == PROBLEM["type"]
    assert [p["name"] for p in error.invalid_params] == ["query.hoursMin", "query.limit"]
    # The node's traceId wins over the one the SDK sent: it is the one in the node's log.
    assert error.trace_id == PROBLEM["traceId"]
    assert error.request_id == error.trace_id
    message = str(error)
    assert "400 Invalid input" in message
    assert "query.hoursMin: must be at most 60" in message
    assert PROBLEM["traceId"] in message


def test_trace_id_falls_back_to_the_one_sent() -> None:
    body = {k: v for k, v in PROBLEM.items() if k != "traceId"}
    error = error_from_response(_problem_response(400, body), trace_id="a" * 32)
    assert error.trace_id == "a" * 32


def test_problem_model_parses_the_same_body() -> None:
    problem = openwerk.Problem.model_validate(PROBLEM)
    assert problem.invalid_params[0].name == "query.hoursMin"
    assert problem.trace_id == PROBLEM["traceId"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b"", "text/plain"),
        (b"[1, 2, 3]", "application/json"),
        (b"\xff\xfe not utf-8", "application/octet-stream"),
    ],
)
def test_non_problem_bodies_are_handled_gracefully(content: bytes, content_type: str) -> None:
    response = httpx.Response(
        502,
        content=content,
        headers={"Content-Type": content_type},
        request=httpx.Request("GET", "https://node.example.nl/v1/"),
    )
    error = error_from_response(response)
    assert isinstance(error, ServerError)
    assert not error.is_problem
    assert error.status == 502
    assert error.title == "Bad Gateway"
    assert error.detail  # a snippet of the body, or a sentence saying there was none
    assert error.code is None
    assert error.invalid_params == []


def test_errors_are_chained_when_raised_by_the_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = openwerk.Client("https://node.example.nl/v1", transport=httpx.MockTransport(handler))
    with pytest.raises(openwerk.TransportError) as caught:
        client.landing()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.request is not None


def test_timeouts_are_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    client = openwerk.Client("https://node.example.nl/v1", transport=httpx.MockTransport(handler))
    with pytest.raises(openwerk.TransportError, match="timed out") as caught:
        client.landing()
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_invalid_success_body_is_chained_to_its_cause() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>not json</html>")

    client = openwerk.Client("https://node.example.nl/v1", transport=httpx.MockTransport(handler))
    with pytest.raises(openwerk.InvalidResponseError) as caught:
        client.landing()
    assert caught.value.__cause__ is not None


def test_schema_mismatch_is_invalid_response_chained_to_validation_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"name": "no id"})

    client = openwerk.Client("https://node.example.nl/v1", transport=httpx.MockTransport(handler))
    with pytest.raises(openwerk.InvalidResponseError) as caught:
        client.landing()
    assert type(caught.value.__cause__).__name__ == "ValidationError"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>proxy</html>", "with a body that is not JSON"),
        (b"\xff\xfe{", "with a body that is not JSON"),
        (b"", "does not match the Open Werk spec|did not answer a page"),
        (b'{"name": "no id"}', "does not match the Open Werk spec|did not answer a page"),
    ],
)
@pytest.mark.parametrize("operation", ["landing", "vacancies_page"])
def test_not_json_and_wrong_json_are_told_apart(
    content: bytes, message: str, operation: str
) -> None:
    """Models read the body in one step (pydantic parses the JSON); pages via ``json.loads``.

    Either way a body that is no JSON at all and JSON of the wrong shape get their own message.
    """

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    client = openwerk.Client("https://node.example.nl/v1", transport=httpx.MockTransport(handler))
    client.ignore_conformance()
    with pytest.raises(openwerk.InvalidResponseError, match=message) as caught:
        getattr(client, operation)()
    if "not JSON" in message:  # chained to the JSON parser's error, json's or pydantic's
        assert isinstance(caught.value.__cause__, ValueError)
