"""Property-based tests of every implemented operation against the normative document.

Schemathesis generates requests from ``spec/v1/openapi.yaml`` (positive and negative data)
for each operation the app implements and sends them in-process with the test publisher's
token. Checks: no 5xx (``not_a_server_error``), responses match their schemas
(``response_schema_conformance``), only documented status codes
(``status_code_conformance``) and documented headers present and valid
(``response_headers_conformance``: ``API-Version``, ``WWW-Authenticate``, ``Location``).

Examples: MAX_EXAMPLES = 25 per operation in Schemathesis's fuzzing phase (positive and
negative data), plus the deterministic boundary cases of its coverage phase (missing required
members, wrong types, limits) — some hundreds of requests per operation with a body. The
module takes about 60 s on an idle two-core machine (single-threaded, derandomized).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from openwerk_server.app import IMPLEMENTED_CLASSES
from openwerk_spec.openapi import openapi_for_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_EXAMPLES = 25
PUBLISHER = {"Authorization": "Bearer publisher-token"}
#: A token that carries the operation's scope (conftest's StaticTokenAuthenticator); the
#: publisher's for publication and public operations.
TOKENS_BY_SCOPE: dict[str, dict[str, str]] = {
    "candidates:read": {"Authorization": "Bearer consumer-token"},
    "statistics:read": {"Authorization": "Bearer consumer-token"},
}


def _headers(case: Any) -> dict[str, str]:
    security = case.operation.definition.raw.get("security") or []
    scopes = [scope for requirement in security for scope in requirement.get("oauth2", [])]
    return TOKENS_BY_SCOPE.get(scopes[0], PUBLISHER) if scopes else PUBLISHER


# Every operation the app's routers serve; test_routes_match_spec proves these are exactly
# the spec's operations of the implemented classes.
IMPLEMENTED = sorted(
    {
        str(route.operation_id)
        for _cls, router in IMPLEMENTED_CLASSES
        for route in iter_route_contexts(router.routes)
    }
)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    response_headers_conformance,
]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    schema = schemathesis.openapi.from_dict(openapi_for_server("http://testserver/v1")).include(
        operation_id=IMPLEMENTED
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms(case: Any, app: FastAPI) -> None:
    case.call_and_validate(app=app, headers=_headers(case), checks=CHECKS)


def test_every_implemented_operation_is_tested() -> None:
    tested = {op.ok().definition.raw["operationId"] for op in schema.get_all_operations()}
    assert tested == set(IMPLEMENTED)
