"""Property-based tests of the consumer-side operations of matching, introductions and
events, called with a token that carries their scopes.

``test_schemathesis.py`` sends every operation with the publisher's token, so these
operations only ever answer 403 there. Here they are fuzzed past authorisation: generated
match requests (inline criteria, references, filters), introduction requests and
cancellations, feed cursors and type filters, subscription inputs. Same checks: no 5xx,
responses match their schemas, documented status codes and headers.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from openwerk_spec.openapi import openapi_for_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_EXAMPLES = 25
MEMBER = {"Authorization": "Bearer member-a-token"}  # consumer-a with every consumer scope
OPERATIONS = [
    "createMatch",
    "createIntroduction",
    "listIntroductions",
    "getIntroduction",
    "cancelIntroduction",
    "getPlacementStatistics",
    "listEvents",
    "createSubscription",
    "listSubscriptions",
    "getSubscription",
    "deleteSubscription",
    "listSubscriptionDeliveries",
]
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    response_headers_conformance,
]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    schema = schemathesis.openapi.from_dict(openapi_for_server("http://testserver/v1")).include(
        operation_id=OPERATIONS
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_consumer_operation_conforms(case: Any, app: FastAPI) -> None:
    case.call_and_validate(app=app, headers=MEMBER, checks=CHECKS)


def test_every_listed_operation_is_tested() -> None:
    tested = {op.ok().definition.raw["operationId"] for op in schema.get_all_operations()}
    assert tested == set(OPERATIONS)
