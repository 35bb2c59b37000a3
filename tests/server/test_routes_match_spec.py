"""The app serves exactly the spec's operations of the classes it implements, and says so.

``IMPLEMENTED`` is the one list to extend when a class (or the token endpoint) lands: the
(method, path) pairs of those operations in ``spec/v1/openapi.yaml`` must equal the app's
routes, operationIds included, and the landing page and ``/conformance`` must declare
exactly those classes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.testclient import TestClient

from openwerk_spec.classes import ConformanceClass
from openwerk_spec.openapi import operations

#: Conformance class → operationIds of it this server does NOT implement (yet).
IMPLEMENTED: dict[ConformanceClass, frozenset[str]] = {
    ConformanceClass.CORE: frozenset(),
    ConformanceClass.OPPORTUNITIES: frozenset(),
    ConformanceClass.CANDIDATES: frozenset(),
    ConformanceClass.MATCHING: frozenset(),
    ConformanceClass.INTRODUCTIONS: frozenset(),
    ConformanceClass.STATISTICS: frozenset(),
    ConformanceClass.PUBLICATION: frozenset(),
    ConformanceClass.EVENTS: frozenset(),
}


def _spec_operations() -> set[tuple[str, str, str]]:
    found = set()
    for method, path, op in operations():
        cls = ConformanceClass(op["tags"][0])
        if cls in IMPLEMENTED and op["operationId"] not in IMPLEMENTED[cls]:
            found.add((method, path, op["operationId"]))
    return found


def _app_operations(app: FastAPI) -> set[tuple[str, str, str]]:
    found = set()
    # FastAPI >= 0.16x keeps included routers as wrappers; this walks their effective routes.
    for route in iter_route_contexts(app.routes):
        assert route.path is not None
        assert route.path.startswith("/v1"), route.path
        path = route.path.removeprefix("/v1") or "/"
        for method in (route.methods or set()) - {"HEAD"}:
            found.add((method, path, str(route.operation_id)))
    return found


def test_app_routes_equal_spec_operations(app: FastAPI) -> None:
    spec, served = _spec_operations(), _app_operations(app)
    assert served - spec == set(), "routes the spec does not define (or with another operationId)"
    assert spec - served == set(), "spec operations of implemented classes without a route"


def test_excluded_operations_exist_in_the_spec() -> None:
    known = {op["operationId"] for _, _, op in operations()}
    for excluded in IMPLEMENTED.values():
        assert excluded <= known


def _declared(client: TestClient, path: str) -> list[Any]:
    response = client.get(path)
    assert response.status_code == 200
    return list(response.json()["conformsTo"])


def test_landing_page_and_conformance_declare_exactly_the_implemented_classes(
    client: TestClient,
) -> None:
    expected = sorted(cls.uri for cls in IMPLEMENTED)
    assert sorted(_declared(client, "/v1")) == expected
    assert sorted(_declared(client, "/v1/conformance")) == expected


def test_fastapi_generated_documents_are_off(client: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404
