"""A compiled yes/no check of a request body against the spec's schema, before ``jsonschema``.

``jsonschema`` (pure Python) takes about 2.5 s for one 1,000-candidate ``CandidateBatch``;
the ingest target of issue 8 (100,000 candidates in ≤ 20 s) leaves 0.2 s a batch for
everything. ``jsonschema_rs`` (a compiled validator; schemathesis depends on it, and the
``server`` extra declares it) answers the same question in about 15 ms.

Only a *yes* from it is used: then the body conforms and there is nothing to report. A
*no* — or no ``jsonschema_rs`` at all, or a schema it cannot compile — sends the body
through ``jsonschema`` as before, which names every problem (OW-ERR-003) and has the last
word: a body the fast validator refuses but ``jsonschema`` accepts is accepted. So the fast
path could only be wrong by being more lenient; it checks every ``format`` (``jsonschema``
only those whose optional libraries are installed), and
``tests/server/test_schema_precheck.py`` compares the two on valid and broken bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "compile_check"]

#: ``True`` only if the instance certainly conforms; ``False`` means "ask jsonschema".
Check = Callable[[Any], bool]


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A compiled Draft 2020-12 check of ``schema`` (self-contained: ``$ref``s inlined), or
    ``None`` where there is none to be had."""
    try:
        import jsonschema_rs
    except ImportError:  # an install without the server extra: jsonschema alone, slower
        return None
    try:
        validator = jsonschema_rs.Draft202012Validator(dict(schema), validate_formats=True)
    except ValueError:  # jsonschema_rs.ValidationError: e.g. a $ref it cannot resolve
        return None
    return validator.is_valid
