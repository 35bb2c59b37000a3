"""Access to the normative OpenAPI document and the JSON Schemas in it.

The server serves this document (not a generated one), the conformance suite validates
responses with its schemas, and the SDK reads the version from it: one source of truth.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from openwerk_spec.paths import spec_v1_dir

#: The base URI under which component schemas are registered for ``$ref`` resolution.
_DOC_URI = "https://w3id.org/openwerk/v1/openapi.json"


@functools.cache
def _load() -> dict[str, Any]:
    with (spec_v1_dir() / "openapi.yaml").open(encoding="utf-8") as fh:
        return cast(dict[str, Any], yaml.safe_load(fh))


def load_openapi() -> dict[str, Any]:
    """A fresh deep copy of the OpenAPI document (callers may change their copy)."""
    return copy.deepcopy(_load())


def spec_version() -> str:
    """The full semantic version of the spec, sent as ``API-Version`` on every response."""
    return cast(str, _load()["info"]["version"])


def openapi_for_server(base_url: str) -> dict[str, Any]:
    """The document as a node serves it at ``/v1/openapi.json``: ``servers`` is the node itself."""
    doc = load_openapi()
    doc["servers"] = [{"url": base_url.rstrip("/"), "description": "This node."}]
    return doc


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (METHOD, path, operation object) of the document, paths relative to ``/v1``."""
    methods = ("get", "put", "post", "delete", "patch")
    found: list[tuple[str, str, dict[str, Any]]] = []
    for path, item in _load()["paths"].items():
        for method in methods:
            if method in item:
                found.append((method.upper(), path, cast(dict[str, Any], item[method])))
    return found


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """The (METHOD, path, operation) with this operationId; ``KeyError`` if there is none."""
    for method, path, op in operations():
        if op.get("operationId") == operation_id:
            return method, path, op
    raise KeyError(operation_id)


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(_load(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
    return registry


def schema_names() -> list[str]:
    """Names of the component schemas."""
    return sorted(_load()["components"]["schemas"])


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """A strict JSON Schema validator (formats checked) for one component schema.

    Validators are cached: building one resolves the whole document once.
    """
    if schema_name not in _load()["components"]["schemas"]:
        raise KeyError(schema_name)
    ref = {"$ref": f"{_DOC_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(ref, registry=_registry(), format_checker=FormatChecker())


def validation_errors(schema_name: str, instance: Any) -> list[str]:
    """Readable validation errors of ``instance`` against a component schema (empty: valid)."""
    errors = sorted(validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def code_list_bindings() -> Mapping[str, str]:
    """Component schemas bound to a code list by ``x-code-list``: schema name → code list name."""
    schemas = _load()["components"]["schemas"]
    return {name: s["x-code-list"] for name, s in schemas.items() if "x-code-list" in s}
