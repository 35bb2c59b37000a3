"""Statistics class (L1): who is counted, how cells are grouped, suppressed and rounded.

The expected figures are recomputed here, independently of the server, from the documents
the test loads: the true count of every cell, then suppression below 10 and rounding to the
nearest 5 (spec/docs/statistics.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import product
from typing import Any

import pytest
from starlette.testclient import TestClient

from openwerk_spec.openapi import validation_errors

PUBLISHER = {"Authorization": "Bearer publisher-token"}
CONSUMER_A = {"Authorization": "Bearer consumer-a-token"}  # consumer-a, platform
CONSUMER_B = {"Authorization": "Bearer consumer-b-token"}  # consumer-b, werkgever
READER = {"Authorization": "Bearer reader-token"}
HOURS_BANDS = [(0, 11), (12, 19), (20, 27), (28, 35), (36, 40), (41, 60)]


@dataclass
class Seeded:
    """One loaded candidate: its document and who may count it."""

    doc: dict[str, Any]
    for_a: bool
    for_b: bool
    candidate_id: str = ""
    expires: bool = False


def _published(value: int) -> dict[str, Any]:
    """The published form of a true count (the test's own reference)."""
    if value < 10:
        return {"suppressed": True}
    return {"suppressed": False, "count": 5 * ((value + 2) // 5)}


def _age(birth: str, today: date) -> int:
    born = date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _dimensions(doc: dict[str, Any], today: date) -> dict[str, list[str]]:
    age = _age(doc["person"]["birthDate"], today)
    low = 15 + 10 * ((age - 15) // 10)
    high_hours = doc["hoursPerWeek"]["max"]
    return {
        "gemeente": [doc["gemeente"]],
        "arbeidsmarktregio": ["AM13"],
        "occupationGroup": [doc["desiredOccupations"][0]["isco08"][:2]],
        "ageBand": [f"{low}-{low + 9}"] if 15 <= age <= 74 else [],
        "educationLevel": [doc["educationLevel"]],
        "hoursBand": [f"{a}-{b}" for a, b in HOURS_BANDS if a <= high_hours <= b],
        "wantedKind": sorted(set(doc["wantedKinds"])),
    }


def _expected(
    seeded: list[Seeded], who: str, dims: list[str], today: date, **filters: str
) -> dict[str, Any]:
    population = [
        s
        for s in seeded
        if (s.for_a if who == "a" else s.for_b)
        and all(s.doc[key] == value for key, value in filters.items())
    ]
    cells: Counter[tuple[str, ...]] = Counter()
    for s in population:
        values = _dimensions(s.doc, today)
        if dims:
            cells.update(set(product(*(values[d] for d in dims))))
    return {
        "total": {"values": {}, **_published(len(population))},
        "cells": [
            {"values": dict(zip(dims, key, strict=True)), **_published(n)}
            for key, n in sorted(cells.items())
        ],
    }


def _batch(client: TestClient, items: list[dict[str, Any]]) -> list[str]:
    response = client.post(
        "/v1/publication/candidate-batches", json={"items": items}, headers=PUBLISHER
    )
    assert response.status_code == 201, response.text
    return [entry["candidateId"] for entry in response.json()["items"]]


@pytest.fixture
def seeded(client: TestClient, docs: Any) -> list[Seeded]:
    stats_any = docs.consent(purposes=["statistics"])
    stats_a = docs.consent(
        purposes=["statistics", "matching"],
        recipients={"scope": "members", "members": ["consumer-a"]},
    )
    employers = docs.consent(
        purposes=["statistics"],
        recipients={"scope": "organisation-types", "organisationTypes": ["werkgever"]},
    )
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    expiring = docs.consent(purposes=["statistics"], validUntil=tomorrow)
    matching_only = docs.consent()
    out: list[Seeded] = []
    items: list[dict[str, Any]] = []

    def add(doc: dict[str, Any], consents: list[Any], a: bool, b: bool, expires: bool = False):
        items.append({"candidate": doc, "consents": consents})
        out.append(Seeded(doc, a, b, expires=expires))

    for i in range(23):
        year = 1960 + (i * 3) % 45
        occupations = [{"isco08": "9214"}] if i % 3 else [{"isco08": "4110"}, {"isco08": "9112"}]
        doc = docs.candidate(
            person={**docs.candidate()["person"], "birthDate": f"{year}-0{1 + i % 9}-1{i % 10}"},
            educationLevel=["nlqf-1", "nlqf-2", "unknown"][i % 3],
            desiredOccupations=occupations,
            hoursPerWeek={"min": 8, "max": [12, 24, 40, 24][i % 4]},
            wantedKinds=["regular", "banenafspraak"] if i % 2 == 0 else ["regular"],
        )
        add(doc, [stats_any], True, True)
    for _ in range(4):
        add(docs.candidate(gemeente="GM0355"), [stats_any], True, True)
    for _ in range(6):
        add(docs.candidate(), [matching_only], False, False)
    for _ in range(5):
        add(docs.candidate(wantedKinds=["beschut-werk"]), [stats_a], True, False)
    for _ in range(3):
        add(docs.candidate(gemeente="GM0355"), [employers], False, True)
    add(docs.candidate(), [expiring], True, True, expires=True)
    add(docs.candidate(), [], False, False)
    ids = _batch(client, items)
    for entry, candidate_id in zip(out, ids, strict=True):
        entry.candidate_id = candidate_id
    return out


def _stats(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = client.get("/v1/statistics/candidates", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert validation_errors("Statistics", body) == []
    assert (body["population"], body["threshold"], body["rounding"]) == ("candidates", 10, 5)
    return body


def _check(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert body["total"] == expected["total"]
    assert body["cells"] == expected["cells"]
    for cell in [body["total"], *body["cells"]]:
        if cell["suppressed"]:
            assert "count" not in cell
        else:
            assert cell["count"] >= 10
            assert cell["count"] % 5 == 0


@pytest.mark.parametrize(
    "group_by",
    [
        [],
        ["gemeente"],
        ["arbeidsmarktregio"],
        ["wantedKind"],
        ["occupationGroup"],
        ["ageBand"],
        ["hoursBand"],
        ["educationLevel"],
        ["gemeente", "wantedKind"],
        ["ageBand", "hoursBand", "educationLevel"],
        ["wantedKind", "occupationGroup", "arbeidsmarktregio"],
    ],
)
def test_cells_are_counted_suppressed_and_rounded(
    client: TestClient, seeded: list[Seeded], group_by: list[str]
) -> None:
    today = client.app.state.store.today()  # type: ignore[attr-defined]
    params = {"groupBy": ",".join(group_by)} if group_by else {}
    for who, headers in (("a", CONSUMER_A), ("b", CONSUMER_B)):
        body = _stats(client, headers, **params)
        assert body["dimensions"] == group_by
        _check(body, _expected(seeded, who, group_by, today))


def test_who_is_counted(client: TestClient, seeded: list[Seeded], clock: Any) -> None:
    # Exact totals: a counts 23 + 4 + 5 (members) + 1 = 33, b 23 + 4 + 3 (types) + 1 = 31.
    assert _stats(client, CONSUMER_A)["total"] == {"values": {}, "suppressed": False, "count": 35}
    assert _stats(client, CONSUMER_B)["total"] == {"values": {}, "suppressed": False, "count": 30}
    # A withdrawn statistics consent stops counting at once...
    first = seeded[0].candidate_id
    consents = client.get(f"/v1/publication/candidates/{first}/consents", headers=PUBLISHER)
    for consent in consents.json()["items"]:
        client.post(
            f"/v1/publication/candidates/{first}/consents/{consent['id']}/withdrawal",
            headers=PUBLISHER,
        )
    seeded[0].for_a = seeded[0].for_b = False
    # ...and so does an expired one, the day after its validUntil.
    clock.advance(days=2)
    for entry in seeded:
        if entry.expires:
            entry.for_a = entry.for_b = False
    today = client.app.state.store.today()  # type: ignore[attr-defined]
    for who, headers in (("a", CONSUMER_A), ("b", CONSUMER_B)):
        body = _stats(client, headers, groupBy="wantedKind")
        _check(body, _expected(seeded, who, ["wantedKind"], today))
    assert _stats(client, CONSUMER_A)["total"]["count"] == 30  # 31 → 30
    assert _stats(client, CONSUMER_B)["total"]["count"] == 30  # 29 → 30


def test_filters_narrow_the_population(client: TestClient, seeded: list[Seeded]) -> None:
    today = client.app.state.store.today()  # type: ignore[attr-defined]
    for who, headers in (("a", CONSUMER_A), ("b", CONSUMER_B)):
        body = _stats(client, headers, gemeente="GM0355", groupBy="gemeente")
        _check(body, _expected(seeded, who, ["gemeente"], today, gemeente="GM0355"))
        assert body["total"]["suppressed"] is True  # 4 (a) and 7 (b)
        body = _stats(client, headers, gemeente="GM0344", groupBy="wantedKind")
        _check(body, _expected(seeded, who, ["wantedKind"], today, gemeente="GM0344"))
    nowhere = _stats(client, CONSUMER_A, arbeidsmarktregio="AM01", groupBy="gemeente")
    assert nowhere["total"] == {"values": {}, "suppressed": True}
    assert nowhere["cells"] == []
    same = _stats(client, CONSUMER_A, arbeidsmarktregio="AM13")
    assert same["total"] == _stats(client, CONSUMER_A)["total"]


def test_multi_valued_and_first_occupation_rules(client: TestClient, seeded: list[Seeded]) -> None:
    body = _stats(client, CONSUMER_B, groupBy="occupationGroup")
    groups = {cell["values"]["occupationGroup"] for cell in body["cells"]}
    assert "91" not in groups  # 9112 is only ever a second occupation
    assert groups <= {"92", "41"}
    kinds = _stats(client, CONSUMER_B, groupBy="wantedKind")["cells"]
    by_kind = {c["values"]["wantedKind"]: c for c in kinds}
    # Every counted candidate wants "regular"; those wanting two kinds count in both cells.
    assert by_kind["regular"]["count"] == 30
    assert by_kind["banenafspraak"]["count"] == 20  # 12 + 8 with the default kinds
    assert "beschut-werk" not in by_kind  # only counted for consumer-a


def test_no_row_level_data(client: TestClient, seeded: list[Seeded]) -> None:
    response = client.get(
        "/v1/statistics/candidates",
        params={"groupBy": "ageBand,gemeente,educationLevel"},
        headers=CONSUMER_A,
    )
    for entry in seeded:
        assert entry.candidate_id not in response.text
        assert entry.doc["person"]["birthDate"] not in response.text
    assert "Sanne" not in response.text
    # Nothing about a person is logged: statistics disclose no candidate.
    log = client.get(
        f"/v1/publication/candidates/{seeded[0].candidate_id}/access-log", headers=PUBLISHER
    )
    assert log.json()["items"] == []


@pytest.mark.parametrize(
    ("group_by", "code"),
    [
        ("gender", "enum"),
        ("gemeente,ageBand,wantedKind,hoursBand", "max-items"),
        ("gemeente,gemeente", "unique-items"),
        ("", "enum"),
        ("occupation", "enum"),
    ],
)
def test_group_by_is_whitelisted(client: TestClient, group_by: str, code: str) -> None:
    response = client.get(
        "/v1/statistics/candidates", params={"groupBy": group_by}, headers=CONSUMER_A
    )
    assert response.status_code == 400
    assert response.json()["invalidParams"] == [
        {"name": "groupBy", "reason": response.json()["invalidParams"][0]["reason"], "code": code}
    ]


def test_statistics_need_the_statistics_scope(client: TestClient) -> None:
    assert client.get("/v1/statistics/candidates").status_code == 401
    assert client.get("/v1/statistics/candidates", headers=READER).status_code == 403
    assert client.get("/v1/statistics/candidates", headers=PUBLISHER).status_code == 403
    assert client.get("/v1/statistics/placements", headers=READER).status_code == 403


def test_placement_statistics_without_outcomes_are_suppressed(client: TestClient) -> None:
    response = client.get(
        "/v1/statistics/placements", params={"groupBy": "outcome,checkpoint"}, headers=CONSUMER_A
    )
    assert response.status_code == 200
    body = response.json()
    assert validation_errors("Statistics", body) == []
    assert body["population"] == "placements"
    assert body["dimensions"] == ["outcome", "checkpoint"]
    assert body["total"] == {"values": {}, "suppressed": True}
    assert body["cells"] == []
    bad = client.get(
        "/v1/statistics/placements", params={"groupBy": "gemeente"}, headers=CONSUMER_A
    )
    assert bad.status_code == 400
