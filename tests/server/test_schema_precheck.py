"""The compiled pre-check never accepts a body that ``jsonschema`` refuses.

``schema_precheck`` lets a body through without ``jsonschema`` when ``jsonschema_rs`` says
it conforms; that is only sound if the compiled validator is never the more lenient of the
two. Valid synthetic bodies must pass it (or the fast path would never engage), and for
every mutation of them (wrong types, empty and over-long strings, malformed formats,
unknown members, missing members) a *yes* from it must agree with ``jsonschema``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from openwerk.synthetic import Generator
from openwerk_server.schema_precheck import compile_check
from openwerk_server.validation import body_validator, schema_problems

pytest.importorskip("jsonschema_rs")

_GENERATOR = Generator(7, node_id="test-node", arbeidsmarktregio="AM13", today=date.today())
_ITEMS = list(_GENERATOR.candidate_batch_items(4))


def _documents() -> dict[str, Any]:
    return {
        "CandidateRecordInput": _ITEMS[0]["candidate"],
        "ConsentInput": _ITEMS[0]["consents"][0],
        "CandidateBatch": {"items": _ITEMS},
        "VacancyInput": next(_GENERATOR.vacancies(1)),
        "TaskOfferInput": next(_GENERATOR.task_offers(1)),
        "InstrumentInput": _GENERATOR.instruments()[0],
    }


_REPLACEMENTS: tuple[Any, ...] = ("", "x" * 5000, "not-a-date", -1, 10**9, 1.5, None, [], {})


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            yield from _paths(value, (*path, index))


def _mutations(document: Any) -> Iterator[Any]:
    for path in _paths(document):
        if not path:
            continue
        for replacement in _REPLACEMENTS:
            mutated = copy.deepcopy(document)
            parent = mutated
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = replacement
            yield mutated
        removed = copy.deepcopy(document)
        parent = removed
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
        yield removed
        if isinstance(parent, dict):
            extra = copy.deepcopy(document)
            target = extra
            for part in path[:-1]:
                target = target[part]
            target["bogusMember"] = 1
            yield extra


@pytest.mark.parametrize("schema_name", sorted(_documents()))
def test_the_precheck_accepts_only_what_jsonschema_accepts(schema_name: str) -> None:
    document = _documents()[schema_name]
    check = compile_check(body_validator(schema_name).schema)
    assert check is not None, "the schema must compile, or the fast path never engages"
    assert check(document), "a valid synthetic body must pass the pre-check"
    assert schema_problems(schema_name, document) == []
    refused = 0
    validator = body_validator(schema_name)
    for mutated in _mutations(document):
        if check(mutated):
            assert not list(validator.iter_errors(mutated)), f"precheck too lenient: {mutated}"
        else:
            refused += 1
    assert refused > 0


def test_a_refused_body_still_gets_every_problem_named() -> None:
    """The fast path says only yes/no; the problem list comes from jsonschema as before."""
    batch = copy.deepcopy({"items": _ITEMS})
    batch["items"][2]["candidate"]["gemeente"] = "nope"
    del batch["items"][3]["consents"][0]["noticeVersion"]
    names = {p.name for p in schema_problems("CandidateBatch", batch)}
    assert "body.items[2].candidate.gemeente" in names
    assert "body.items[3].consents[0].noticeVersion" in names
