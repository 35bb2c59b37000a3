"""PII hunt: no personal identifier of a candidate reaches any L0, L1 or L2 response.

Candidates with distinctive names, elfproef-valid BSNs, e-mail addresses, phone numbers,
street addresses, birth dates and external references are loaded through the publication
API, with consents of every kind, next to synthetic candidates and opportunities. Then two
fuzzers call every L0-L2 operation and search each response — body and headers, case-
insensitively — for every identifier, in several spellings (BSN and phone digits alone,
birth dates in seven formats, postcodes with and without the space), and for the internal
candidate ids (OW-TIER-001, OW-TIER-003, OW-PSEUDO-005):

- Hypothesis: ``HUNT_EXAMPLES`` requests drawn over the operations, each with a fixed
  dictionary of its query parameters from valid values (including cursors the node issued,
  other consumers' pseudonyms and cursors) and one of four callers;
- Schemathesis: every implemented L0-L2 operation of the spec, positive and negative data,
  with a check that hunts the identifiers in each response.

The number of examples per operation is printed (``pytest -s``) and asserted to be > 0.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from openwerk.synthetic import Generator, is_valid_bsn
from openwerk_server.app import IMPLEMENTED_CLASSES
from openwerk_spec.openapi import openapi_for_server, operations

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PUBLISHER = {"Authorization": "Bearer publisher-token"}
CONSUMER_A = {"Authorization": "Bearer consumer-a-token"}
CONSUMER_B = {"Authorization": "Bearer consumer-b-token"}
CALLERS: list[dict[str, str]] = [CONSUMER_A, CONSUMER_B, {}, PUBLISHER]
HUNT_EXAMPLES = 400
SCHEMATHESIS_EXAMPLES = 20

GIVEN = [
    "Zwanhilde", "Berendina", "Quirijntje", "Hyacintha", "Oebeltje", "Wobbegonda",
    "Ysbrandus", "Fokeltje", "Gerbrichje", "Tjitskelien", "Jildoutje", "Hesselauke",
]  # fmt: skip
FAMILY = [
    "Oosterbroek-Kwakkelstein", "van Tuinderbergh", "Hoogeboomsma", "Kwispelhorst",
    "Dijkgraafsma", "ter Wolkenveld", "Zeldenrust-Pronk", "Bloemschaarder",
    "Vlinderhoef", "de Knikkerbaan", "Mosselkreek", "Ganzenwaard",
]  # fmt: skip
STREETS = [
    "Kwakkelsteinpad", "Vlinderhoefsingel", "Mosselkreekhof", "Ganzenwaardlaan",
    "Bloemschaarderstraat", "Knikkerbaanweg", "Wolkenveldkade", "Pronkstraatje",
    "Zeldenrusthof", "Dijkgraafsmalaan", "Hoogeboomsmapad", "Kwispelhorststeeg",
]  # fmt: skip
MONTHS_NL = [
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
    "september", "oktober", "november", "december",
]  # fmt: skip


def _bsns(count: int) -> list[str]:
    found: list[str] = []
    number = 271_828_182
    while len(found) < count:
        number += 7
        if is_valid_bsn(str(number)):
            found.append(str(number))
    return found


def _date_spellings(day: date) -> list[str]:
    d, m, y = f"{day.day:02d}", f"{day.month:02d}", str(day.year)
    return [
        day.isoformat(),
        f"{d}-{m}-{y}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d}.{m}.{y}",
        f"{y}{m}{d}",
        f"{d}{m}{y}",
        f"{day.day} {MONTHS_NL[day.month - 1]} {y}",
    ]


def marked_people(today: date) -> list[dict[str, Any]]:
    """Twelve persons whose every identifier is distinctive enough to hunt for."""
    people = []
    for i, bsn in enumerate(_bsns(len(GIVEN))):
        # One 5-year band for all of them (37 years and some weeks), so they are published.
        birth = today - timedelta(days=365 * 37 + 20 * i + 3)
        people.append(
            {
                "givenName": GIVEN[i],
                "familyName": FAMILY[i],
                "bsn": bsn,
                "birthDate": birth.isoformat(),
                "email": f"{GIVEN[i].lower()}.{i}@prive-post.example",
                "phone": f"+31 6 4827 1{i:03d}",
                "address": {
                    "street": STREETS[i],
                    "houseNumber": f"{17 + i}b",
                    "postalCode": f"35{12 + i} Z{chr(65 + i)}",
                    "city": "Utrecht",
                },
            }
        )
    return people


def needles(person: dict[str, Any], reference: str) -> list[str]:
    """Every spelling of the person's identifiers the hunt looks for (lower case)."""
    phone = person["phone"]
    digits = re.sub(r"\D", "", phone)
    postcode = person["address"]["postalCode"]
    found = [
        person["givenName"],
        person["familyName"],
        person["bsn"],
        person["email"],
        phone,
        digits,
        "0" + digits.removeprefix("31"),
        person["address"]["street"],
        postcode,
        postcode.replace(" ", ""),
        reference,
        *_date_spellings(date.fromisoformat(person["birthDate"])),
    ]
    return [value.lower() for value in found]


class Hunt:
    """The identifiers to look for, and what was found and checked."""

    def __init__(self) -> None:
        self.needles: dict[str, str] = {}  # lower-case value → what it is
        self.examples: Counter[str] = Counter()

    def add(self, values: list[str], what: str) -> None:
        for value in values:
            self.needles[value] = what

    def leaks(self, text: str) -> list[str]:
        haystack = text.lower()
        return sorted({f"{what}: {v}" for v, what in self.needles.items() if v in haystack})


def response_text(response: Any) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{headers}\n{response.text}"


# ---------------------------------------------------------------------------- the node
class Node:
    """The seeded node and the values the fuzzers draw from."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.hunt = Hunt()
        self.pseudonyms: list[str] = []
        self.cursors: list[str] = []
        self.vacancies: list[str] = []
        self.task_offers: list[str] = []
        self.instruments: list[str] = []


def _post(client: TestClient, path: str, body: Any) -> Any:
    response = client.post(f"/v1{path}", json=body, headers=PUBLISHER)
    assert response.status_code == 201, response.text
    return response.json()


def _cursor(href: str) -> str:
    return href.split("cursor=")[1].split("&")[0]


@pytest.fixture(scope="module")
def node(module_client: TestClient, docs: Any) -> Node:
    client = module_client
    seeded = Node(client)
    today = client.app.state.store.today()  # type: ignore[attr-defined]
    people = marked_people(today)
    consent_sets: list[list[dict[str, Any]]] = [
        [docs.consent(purposes=["matching", "share-support-needs", "share-eligibility"])],
        [docs.consent(purposes=["matching", "statistics"])],
        [docs.consent(recipients={"scope": "members", "members": ["consumer-a"]})],
        [
            docs.consent(
                recipients={"scope": "organisation-types", "organisationTypes": ["werkgever"]}
            ),
            docs.consent(purposes=["statistics"]),
        ],
    ]
    items = []
    for i, person in enumerate(people):
        reference = f"DOSSIER-PII-{7731 + i}"
        seeded.hunt.add(needles(person, reference), f"person {i}")
        items.append(
            {
                "candidate": docs.candidate(person=person, externalReference=reference),
                "consents": consent_sets[i % len(consent_sets)],
            }
        )
    # One with a rare education level: withheld by the gate, still hunted.
    rare = {**people[0], "givenName": "Eeuwkelientje", "bsn": _bsns(13)[-1]}
    seeded.hunt.add(needles(rare, "DOSSIER-PII-RARE"), "withheld person")
    items.append(
        {
            "candidate": docs.candidate(
                person=rare, externalReference="DOSSIER-PII-RARE", educationLevel="nlqf-8"
            ),
            "consents": [docs.consent()],
        }
    )
    generator = Generator(11, node_id="test-node", arbeidsmarktregio="AM13", today=today)
    items += list(generator.candidate_batch_items(120))
    created = _post(client, "/publication/candidate-batches", {"items": items})
    seeded.hunt.add([entry["candidateId"].lower() for entry in created["items"]], "internal id")

    seeded.vacancies = [
        _post(client, "/publication/vacancies", v)["id"] for v in generator.vacancies(3)
    ]
    seeded.task_offers = [
        _post(client, "/publication/task-offers", t)["id"] for t in generator.task_offers(2)
    ]
    seeded.instruments = [
        _post(client, "/publication/instruments", i)["id"] for i in generator.instruments()[:2]
    ]
    # Pseudonyms and cursors of both consumers, issued by the node itself.
    for headers in (CONSUMER_A, CONSUMER_B):
        for query in ({"limit": 7}, {"limit": 3, "gemeente": "GM0344"}, {"limit": 2}):
            body = client.get("/v1/candidates", params=query, headers=headers).json()
            seeded.pseudonyms += [card["id"] for card in body["items"]]
            if "next" in body["links"]:
                seeded.cursors.append(_cursor(body["links"]["next"]["href"]))
    listed = client.get("/v1/vacancies", params={"limit": 1}).json()
    seeded.cursors.append(_cursor(listed["links"]["next"]["href"]))
    assert len(seeded.pseudonyms) > 10
    return seeded


# ---------------------------------------------------------------------------- Hypothesis
PSEUDONYM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SUPPORT = ["jobcoach", "quiet-workspace", "adapted-pace", "structured-tasks"]
KINDS = ["regular", "banenafspraak", "beschut-werk", "werkervaringsplek"]
DIMENSIONS = ["arbeidsmarktregio", "gemeente", "occupationGroup", "ageBand", "educationLevel"]
PLACEMENT_DIMENSIONS = ["arbeidsmarktregio", "outcome", "checkpoint", "instrument"]


def _joined(values: list[str], max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True).map(
        ",".join
    )


def _query(node: Node, operation: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    cursor = st.sampled_from(node.cursors)
    limit = st.integers(min_value=1, max_value=150)
    if operation == "searchCandidates":
        params = st.fixed_dictionaries(
            {},
            optional={
                "occupation": st.sampled_from(["9", "92", "9214", "4110", "5"]),
                "skill": st.sampled_from(["Snoeien", "work efficiently", "harvest crop"]),
                "gemeente": st.sampled_from(["GM0344", "GM0355", "GM0356", "GM0014"]),
                "arbeidsmarktregio": st.sampled_from(["AM13", "AM01"]),
                "hoursMin": st.integers(0, 60),
                "hoursMax": st.integers(0, 60),
                "availableBy": st.dates(date(2024, 1, 1), date(2030, 12, 31)).map(str),
                "wantedKind": st.sampled_from(KINDS),
                "language": st.sampled_from(["nl", "en", "ar", "tr"]),
                "languageLevel": st.sampled_from(["A1", "B1", "C2"]),
                "supportOffered": _joined(SUPPORT, 4),
                "cursor": cursor,
                "limit": limit,
            },
        )
        return params.map(lambda p: ("/v1/candidates", p))
    if operation == "getCandidate":
        pseudo = st.one_of(
            st.sampled_from(node.pseudonyms),
            st.text(PSEUDONYM_ALPHABET, min_size=22, max_size=22),
        )
        return pseudo.map(lambda p: (f"/v1/candidates/{p}", {}))
    if operation == "getCandidateStatistics":
        params = st.fixed_dictionaries(
            {},
            optional={
                "groupBy": _joined(DIMENSIONS, 3),
                "gemeente": st.sampled_from(["GM0344", "GM0355"]),
                "arbeidsmarktregio": st.sampled_from(["AM13", "AM01"]),
            },
        )
        return params.map(lambda p: ("/v1/statistics/candidates", p))
    if operation == "getPlacementStatistics":
        params = st.fixed_dictionaries({}, optional={"groupBy": _joined(PLACEMENT_DIMENSIONS, 3)})
        return params.map(lambda p: ("/v1/statistics/placements", p))
    if operation in ("listVacancies", "listTaskOffers"):
        path = "/v1/vacancies" if operation == "listVacancies" else "/v1/task-offers"
        params = st.fixed_dictionaries(
            {},
            optional={
                "gemeente": st.sampled_from(["GM0344", "GM0355"]),
                "occupation": st.sampled_from(["9", "92"]),
                "cursor": cursor,
                "limit": limit,
            },
        )
        return params.map(lambda p: (path, p))
    if operation == "listInstruments":
        return st.fixed_dictionaries({}, optional={"limit": limit}).map(
            lambda p: ("/v1/instruments", p)
        )
    single = {
        "getVacancy": ("/v1/vacancies/", node.vacancies),
        "getTaskOffer": ("/v1/task-offers/", node.task_offers),
        "getInstrument": ("/v1/instruments/", node.instruments),
        "getCodeList": ("/v1/code-lists/", ["gemeenten", "age-bands", "support-needs"]),
    }
    if operation in single:
        prefix, values = single[operation]
        return st.sampled_from(values).map(lambda v: (prefix + v, {}))
    fixed = {
        "getLandingPage": "/v1",
        "getConformance": "/v1/conformance",
        "listCodeLists": "/v1/code-lists",
    }
    return st.just((fixed[operation], {}))


HUNTED = [
    "searchCandidates",
    "getCandidate",
    "getCandidateStatistics",
    "getPlacementStatistics",
    "listVacancies",
    "getVacancy",
    "listTaskOffers",
    "getTaskOffer",
    "listInstruments",
    "getInstrument",
    "getLandingPage",
    "getConformance",
    "listCodeLists",
    "getCodeList",
]


def test_hypothesis_finds_no_personal_identifier_in_any_response(node: Node) -> None:
    requests = st.sampled_from(HUNTED).flatmap(
        lambda operation: st.tuples(
            st.just(operation), _query(node, operation), st.sampled_from(CALLERS)
        )
    )

    @settings(
        max_examples=HUNT_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests)
    def probe(request: tuple[str, tuple[str, dict[str, Any]], dict[str, str]]) -> None:
        operation, (path, params), headers = request
        response = node.client.get(path, params=params, headers=headers)
        assert response.status_code < 500, response.text
        node.hunt.examples[operation] += 1
        assert node.hunt.leaks(response_text(response)) == []

    probe()
    print(f"\nPII hunt (Hypothesis): {sum(node.hunt.examples.values())} requests")
    for operation in HUNTED:
        print(f"  {operation}: {node.hunt.examples[operation]}")
    assert set(node.hunt.examples) == set(HUNTED)


def test_the_hunt_would_see_a_leak(node: Node) -> None:
    """The needles are really there — in the publication API, where they belong."""
    text, url = "", "/v1/publication/candidates?limit=100"
    while url:
        page = node.client.get(url, headers=PUBLISHER)
        text += response_text(page)
        url = page.json()["links"].get("next", {}).get("href")
    leaks = node.hunt.leaks(text)
    assert any(leak.startswith("person 0: zwanhilde") for leak in leaks)
    assert any(leak.startswith("internal id") for leak in leaks)
    assert any("maart" in leak or "-" in leak for leak in leaks)


# ---------------------------------------------------------------------------- Schemathesis
def _tier_scope(op: dict[str, Any]) -> str | None:
    scopes = [s for req in op.get("security", []) for s in req.get("oauth2", [])]
    return scopes[0] if scopes else None


_IMPLEMENTED = {
    str(route.operation_id)
    for _cls, router in IMPLEMENTED_CLASSES
    for route in iter_route_contexts(router.routes)
}
_L0_L2_SCOPES = {None, "opportunities:read", "statistics:read", "candidates:read"}
L0_L2 = sorted(
    op["operationId"]
    for _method, _path, op in operations()
    if op["operationId"] in _IMPLEMENTED
    and _tier_scope(op) in _L0_L2_SCOPES
    and op["operationId"] != "createAccessToken"
)
_SCOPE_OF = {op["operationId"]: _tier_scope(op) for _m, _p, op in operations()}

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    schema = schemathesis.openapi.from_dict(openapi_for_server("http://testserver/v1")).include(
        operation_id=L0_L2
    )

_STATE: dict[str, Any] = {"node": None}


@pytest.fixture(scope="module")
def hunted_node(node: Node) -> Node:
    _STATE["node"] = node
    return node


def no_personal_identifiers(_ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis check: the response carries none of the hunted identifiers."""
    current: Node = _STATE["node"]
    operation = case.operation.definition.raw["operationId"]
    current.hunt.examples[f"schemathesis {operation}"] += 1
    headers = "\n".join(f"{k}: {', '.join(v)}" for k, v in response.headers.items())
    leaks = current.hunt.leaks(f"{headers}\n{response.text}")
    if leaks:
        raise AssertionError(f"personal identifiers in the response: {leaks}")
    return None


@schema.parametrize()
@settings(
    max_examples=SCHEMATHESIS_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_finds_no_personal_identifier(case: Any, hunted_node: Node) -> None:
    scope = _SCOPE_OF[case.operation.definition.raw["operationId"]]
    headers = CONSUMER_A if scope in ("statistics:read", "candidates:read") else {}
    case.call_and_validate(
        app=hunted_node.client.app,
        headers=headers,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            no_personal_identifiers,
        ],
    )


def test_schemathesis_hunts_every_l0_l2_operation(hunted_node: Node) -> None:
    tested = {op.ok().definition.raw["operationId"] for op in schema.get_all_operations()}
    assert tested == set(L0_L2)
    assert {"searchCandidates", "getCandidate", "getCandidateStatistics"} <= tested
    # Counts so far (complete when this runs after the parametrized test, as in file order).
    done = {
        key.removeprefix("schemathesis "): n
        for key, n in hunted_node.hunt.examples.items()
        if key.startswith("schemathesis ")
    }
    print(f"\nPII hunt (Schemathesis): {sum(done.values())} responses")
    for operation in L0_L2:
        print(f"  {operation}: {done.get(operation, 0)}")
