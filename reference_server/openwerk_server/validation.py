"""Input checks against the spec itself: bodies and parameters, every problem at once.

Request bodies are validated with the JSON Schemas of ``spec/v1/openapi.yaml`` (through
``openwerk_spec.openapi.validator``) and query/path parameters with the parameter schemas of
the operation, so the server cannot accept what the standard refuses or drift from it. Every
violation becomes one ``InvalidParam`` named like ``body.hoursPerWeek.min``,
``body.items[3].candidate.gemeente``, or the bare parameter name (``limit``) for query and
path parameters, as spec/docs/errors-and-pagination.md prescribes (OW-ERR-003). Reasons never
echo the submitted value: a refused BSN should not travel back in a log line.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from openwerk_server.collector import collector_paused
from openwerk_server.errors import InvalidParam, MalformedBody, UnsupportedMediaType
from openwerk_server.schema_precheck import Check, compile_check
from openwerk_spec.codelists import codes
from openwerk_spec.openapi import code_list_bindings, load_openapi, operation, validator

__all__ = [
    "body_validator",
    "check_parameters",
    "dotted_name",
    "parse_json_body",
    "schema_problems",
]

_JSON_MEDIA = re.compile(r"^application/json\s*(;.*)?$", re.IGNORECASE)
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")
_COMPONENT_REF = "#/components/schemas/"
_KEYWORD_CODES: Mapping[str, str] = {
    "additionalProperties": "unknown-field",
    "unevaluatedProperties": "unknown-field",
    "minLength": "min-length",
    "maxLength": "max-length",
    "minItems": "min-items",
    "maxItems": "max-items",
    "uniqueItems": "unique-items",
    "exclusiveMinimum": "minimum",
    "exclusiveMaximum": "maximum",
    "multipleOf": "multiple-of",
}


# ---------------------------------------------------------------------------- JSON bodies
def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


#: Bodies from this size on are decoded with the cyclic garbage collector paused (``collector``).
PAUSE_COLLECTOR_BYTES = 64 * 1024


def _decode(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants, parse_float=_finite)


def parse_json_body(content_type: str | None, raw: bytes) -> Any:
    """The JSON document of a request body (``None`` when there is none), or why not.

    No body at all is left to the caller (required or not is the operation's business); a body
    in another media type is 415; bytes that are not UTF-8 JSON are ``malformed-body``.
    """
    empty = not raw.strip()
    if empty and content_type is None:
        return None
    if content_type is None or not _JSON_MEDIA.match(content_type.strip()):
        raise UnsupportedMediaType(
            f"Send the body as application/json (got {content_type or 'no Content-Type'})."
        )
    if empty:
        return None
    try:
        text = raw.decode("utf-8-sig")
        if len(raw) < PAUSE_COLLECTOR_BYTES:
            return _decode(text)
        with collector_paused():
            return _decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedBody("The request body is not valid JSON (RFC 8259, UTF-8).") from exc


# ---------------------------------------------------------------------------- schemas
def dotted_name(prefix: str, path: Iterable[Any]) -> str:
    """``("items", 3, "candidate")`` under ``body`` → ``body.items[3].candidate``."""
    name = prefix
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


@functools.cache
def _document() -> dict[str, Any]:
    return load_openapi()


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
        return cast(
            Mapping[str, Any],
            _document()["components"]["schemas"][ref.removeprefix(_COMPONENT_REF)],
        )
    return schema


def _declared(schema: Mapping[str, Any], seen: frozenset[int] = frozenset()) -> set[str]:
    """Member names a schema declares through properties, allOf/anyOf/oneOf, $ref, if/then."""
    schema = _resolve(schema)
    if id(schema) in seen:
        return set()
    seen = seen | {id(schema)}
    names = set(schema.get("properties", {}))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, []):
            names |= _declared(sub, seen)
    for keyword in ("if", "then", "else"):
        if isinstance(schema.get(keyword), Mapping):
            names |= _declared(schema[keyword], seen)
    return names


def _reason(error: ValidationError) -> str:
    keyword, value = str(error.validator), error.validator_value
    if keyword == "type":
        return f"must be of type {value}"
    if keyword == "enum":
        options = [str(v) for v in cast(Sequence[Any], value)]
        shown = ", ".join(options[:20]) + (", ..." if len(options) > 20 else "")
        return f"must be one of: {shown}"
    if keyword == "const":
        return f"must be {json.dumps(value)}"
    if keyword == "pattern":
        return f"must match the pattern {value}"
    if keyword == "format":
        return f"must be a valid {value}"
    if keyword in ("minLength", "maxLength"):
        word = "at least" if keyword == "minLength" else "at most"
        return f"must be {word} {value} character(s) long"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most"}.get(keyword, "beyond")
        return f"must be {word} {value}"
    if keyword in ("minItems", "maxItems"):
        word = "at least" if keyword == "minItems" else "at most"
        return f"must have {word} {value} item(s)"
    if keyword == "uniqueItems":
        return "must not contain duplicates"
    if keyword in ("oneOf", "anyOf"):
        return "must match exactly one of the allowed shapes"
    return error.message[:200]


def _problems_of(error: ValidationError, prefix: str) -> list[InvalidParam]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        missing = [p for p in cast(Sequence[str], error.validator_value) if p not in instance]
        return [
            InvalidParam(dotted_name(prefix, [*path, p]), "required", "required") for p in missing
        ]
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        # For unevaluatedProperties jsonschema also lists members of failing allOf branches;
        # only members the schema does not declare at all are unknown.
        known = _declared(cast(Mapping[str, Any], error.schema))
        unknown = sorted(name for name in instance if name not in known)
        return [
            InvalidParam(dotted_name(prefix, [*path, name]), "unknown field", "unknown-field")
            for name in unknown
        ]
    code = _KEYWORD_CODES.get(keyword, keyword)
    return [InvalidParam(dotted_name(prefix, path), _reason(error), code)]


class _Cycle(Exception):  # noqa: N818 - control flow, never leaves this module
    """A recursive schema, which cannot be inlined."""


def _inline(node: Any, stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
        name = ref.removeprefix(_COMPONENT_REF)
        if name in stack:
            raise _Cycle(name)
        target = _inline(_document()["components"]["schemas"][name], (*stack, name))
        siblings = {k: _inline(v, stack) for k, v in node.items() if k != "$ref"}
        # A $ref beside other keywords applies both: the same as allOf of the two.
        return {"allOf": [target, siblings]} if siblings else target
    return {key: _inline(value, stack) for key, value in node.items()}


@functools.cache
def body_validator(schema_name: str) -> Draft202012Validator:
    """The spec's component schema with its local ``$ref``s inlined.

    The same rules as ``openwerk_spec.openapi.validator`` (a test compares them), without a
    registry lookup at every reference, which makes request validation faster. A recursive
    schema falls back to the spec's validator.
    """
    try:
        schema = _inline(_document()["components"]["schemas"][schema_name], (schema_name,))
    except _Cycle:
        return validator(schema_name)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@functools.cache
def _precheck(schema_name: str) -> Check | None:
    schema = body_validator(schema_name).schema
    return compile_check(schema) if isinstance(schema, Mapping) else None


def schema_problems(schema_name: str, instance: Any, *, prefix: str = "body") -> list[InvalidParam]:
    """Every violation of component schema ``schema_name`` by ``instance``, de-duplicated."""
    precheck = _precheck(schema_name)
    if precheck is not None and precheck(instance):  # conforms: nothing to name (fast path)
        return []
    found: dict[tuple[str, str], InvalidParam] = {}
    errors = sorted(
        body_validator(schema_name).iter_errors(instance),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    for error in errors:
        for problem in _problems_of(error, prefix):
            found.setdefault((problem.name, problem.code), problem)
    return list(found.values())


# ---------------------------------------------------------------------------- parameters
@functools.cache
def _bindings() -> Mapping[str, str]:
    return code_list_bindings()


@functools.cache
def _parameters(operation_id: str) -> tuple[tuple[str, str, Mapping[str, Any]], ...]:
    """(location, name, schema) of each parameter of an operation, references resolved."""
    _method, _path, op = operation(operation_id)
    found = []
    for param in op.get("parameters", []):
        ref = param.get("$ref")
        if isinstance(ref, str):
            param = _document()["components"]["parameters"][ref.rsplit("/", 1)[-1]]
        found.append(
            (str(param["in"]), str(param["name"]), cast(Mapping[str, Any], param["schema"]))
        )
    return tuple(found)


@functools.cache
def _param_validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _schema_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return validator(ref.removeprefix(_COMPONENT_REF))
    # Inline schemas may refer to components (array items such as SupportCode): inline them.
    return _param_validator(json.dumps(_inline(dict(schema), ()), sort_keys=True))


def _coerce(raw: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The typed value of a query string parameter, or why it cannot be one."""
    kind = _resolve(schema).get("type")
    if kind == "integer":
        if not _INTEGER.match(raw):
            return None, "must be an integer"
        return int(raw), None
    if kind == "array":
        # style form, explode false (the spec's only array parameters): comma-separated.
        return raw.split(","), None
    if kind == "boolean":
        if raw not in ("true", "false"):
            return None, "must be true or false"
        return raw == "true", None
    if _resolve(schema).get("format") == "date-time":
        # An unencoded "+" in a query string arrives as a space.
        return raw.replace(" ", "+"), None
    return raw, None


def check_parameters(
    operation_id: str, query: Mapping[str, str], path: Mapping[str, str]
) -> tuple[dict[str, Any], list[InvalidParam]]:
    """Validate and coerce an operation's query and path parameters against the spec.

    Returns the values present (plus schema defaults, except ``limit`` whose default is the
    node's) and every problem, named by the parameter (``limit``, ``vacancyId``).
    """
    values: dict[str, Any] = {}
    problems: list[InvalidParam] = []
    bindings = _bindings()
    for location, name, schema in _parameters(operation_id):
        source = query if location == "query" else path if location == "path" else None
        if source is None:
            continue
        label = name  # spec/docs/errors-and-pagination.md: the bare parameter name
        raw = source.get(name)
        if raw is None:
            default = _resolve(schema).get("default")
            if default is not None and name != "limit":
                values[name] = default
            continue
        value, why = _coerce(raw, schema)
        if why is not None:
            problems.append(InvalidParam(label, why, "type"))
            continue
        errors = list(_schema_validator(schema).iter_errors(value))
        if errors:
            first = errors[0]
            problems.append(
                InvalidParam(
                    label,
                    _reason(first),
                    _KEYWORD_CODES.get(str(first.validator), str(first.validator)),
                )
            )
            continue
        ref = schema.get("$ref")
        code_list = bindings.get(ref.removeprefix(_COMPONENT_REF)) if isinstance(ref, str) else None
        if code_list is not None and value not in codes(code_list):
            problems.append(
                InvalidParam(label, f"not a code in code list {code_list}", "code-list")
            )
            continue
        values[name] = value
    return values, problems
