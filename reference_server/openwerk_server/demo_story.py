"""The demo's story, told with the SDK against the running demo federation.

(a) WerkMatch, a matching platform, asks the whole federation for the best candidates for a
    vacancy Gemeente Utrecht published — one question, three nodes, one deadline; every
    node ranks its own pool (score-v1) and answers with pseudonymous cards.
(b) The platform asks for an introduction to the best card, at the node the card came from.
(c) The custodian of that node (its client system, through the publication API) records
    that the candidate accepted, with the contact channel she chose and how her consent
    was captured.
(d) The platform reads the introduction: now, and only now, it sees her name and contact.
(e) The regional gateway answers the same match by fan-out, with ``partial`` and ``nodes``.

Each step checks first that the nodes declare the conformance class it needs (``GET
/v1/conformance``) and says so plainly when one does not, instead of failing on a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from openwerk import (
    ApiError,
    Client,
    ClientCredentials,
    ConformanceClass,
    FederatedMatchCard,
    FederatedMatchResult,
    Introduction,
    NodeStatus,
    OpenWerkError,
    SyncFederatedClient,
    Vacancy,
    token_endpoint_for,
)
from openwerk.directory import Directory, load_directory
from openwerk.keys import load_jwks, load_private_key
from openwerk_server.demo import DEMO_NODES, PLATFORM, DemoFederation

__all__ = ["StepFailedError", "StoryState", "run_story"]

_COMPONENTS = ("occupation", "skills", "hours", "location", "availability", "support")
_TOP = 8
_DEADLINE = 10.0
REQUESTER = {"name": "Sanne de Vries", "email": "sanne.devries@werkmatch.example"}


class StepFailedError(Exception):
    """A step of the story could not be done; the message says why (and what is missing)."""


@dataclass
class StoryState:
    """What the steps hand each other."""

    federation: DemoFederation
    directory: Directory
    classes: dict[str, frozenset[ConformanceClass]] = field(default_factory=dict)
    vacancy: Vacancy | None = None
    match: FederatedMatchResult | None = None
    top: FederatedMatchCard | None = None
    introduction: Introduction | None = None

    def platform_credentials(self, base_url: str) -> ClientCredentials:
        """The platform's credentials for the node at ``base_url``."""
        key = self.federation.key_of(PLATFORM)
        return ClientCredentials.from_key_file(PLATFORM, key, token_endpoint_for(base_url))

    def require(self, node: str, cls: ConformanceClass, step: str) -> None:
        """Refuse the step when ``node`` does not declare ``cls``."""
        if cls not in self.classes.get(node, frozenset()):
            raise StepFailedError(
                f"not available yet: {node} does not declare the {cls.value} conformance class "
                f"(GET {self.federation.urls[node]}/conformance), which {step} needs"
            )


# ------------------------------------------------------------------ rendering


def _components(card: FederatedMatchCard) -> str:
    parts = card.components.model_dump()
    return " ".join(f"{parts[name]:.2f}" for name in _COMPONENTS)


def _status_table(nodes: list[NodeStatus], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("node", "status", "cards", "ms", "detail"):
        table.add_column(column, justify="right" if column in ("cards", "ms") else "left")
    for node in nodes:
        colour = "green" if node.status == "ok" else "red"
        table.add_row(
            node.node,
            f"[{colour}]{node.status}[/]",
            str(node.item_count or 0),
            str(node.duration_ms or 0),
            escape(node.detail or ""),
        )
    return table


def _cards_table(cards: list[FederatedMatchCard], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("node")
    table.add_column("pseudonym", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("occ  skl  hrs  loc  avl  sup", no_wrap=True)
    table.add_column("region / age / hours")
    for rank, card in enumerate(cards, start=1):
        candidate = card.candidate
        where = candidate.location.gemeente or candidate.location.arbeidsmarktregio
        hours = candidate.hours_per_week
        table.add_row(
            str(rank),
            card.node,
            card.pseudonym,
            f"{card.score:.3f}",
            _components(card),
            f"{where} / {candidate.age_band or '-'} / {hours.min}-{hours.max} h",
        )
    return table


# ------------------------------------------------------------------ steps


def step_federation(state: StoryState, console: Console) -> None:
    """The nodes, what each declares, and what each holds."""
    table = Table(title="The federation", title_justify="left")
    for column in ("node", "role", "API", "conformance classes", "candidates", "vacancies"):
        table.add_column(column, no_wrap=column in ("node", "API"))
    clients = []
    for member in state.directory.members:
        url = state.federation.urls.get(member.id)
        if url is None:
            clients.append(f"{member.id} ({', '.join(member.roles)})")
            continue
        try:
            with Client(url) as client:
                classes = client.conformance().classes
        except OpenWerkError as exc:
            raise StepFailedError(f"{member.id} does not answer /conformance: {exc}") from exc
        state.classes[member.id] = classes
        seeded = state.federation.seeded.get(member.id, {})
        table.add_row(
            member.id,
            ", ".join(member.roles),
            url,
            " ".join(c.value for c in ConformanceClass if c in classes),
            str(seeded.get("candidates", "-")),
            str(seeded.get("vacancies", "-")),
        )
    console.print(table)
    console.print(f"Clients in the directory: {', '.join(clients)}")


def step_match(state: StoryState, console: Console) -> None:
    """(a) One federated match for a vacancy of the gemeente."""
    gemeente = DEMO_NODES[0].id
    providers = [m.id for m in state.directory.providers()]
    ready = [node for node in providers if ConformanceClass.MATCHING in state.classes.get(node, ())]
    if not ready:
        raise StepFailedError(
            "not available yet: no provider declares the matching conformance class "
            f"(GET <node>/v1/conformance on {', '.join(providers)})"
        )
    with Client(state.federation.urls[gemeente]) as client:
        vacancy = next(iter(client.vacancies(limit=1)), None)
    if vacancy is None:
        raise StepFailedError(f"{gemeente} published no vacancy to match")
    state.vacancy = vacancy
    console.print(
        f"Vacancy [bold]{escape(vacancy.title)}[/] at {escape(vacancy.employer.name)} "
        f"({vacancy.location.gemeente}, {vacancy.hours_per_week.min}-"
        f"{vacancy.hours_per_week.max} h, kind {vacancy.kind}), published by {gemeente}"
    )
    key = load_private_key(state.federation.key_of(PLATFORM))
    with SyncFederatedClient(
        state.directory, client_id=PLATFORM, private_key=key, deadline=_DEADLINE
    ) as federated:
        result = federated.match(opportunity=vacancy, limit=_TOP)
    state.match = result
    console.print(
        _cards_table(result.items, f"Top {len(result.items)} of the federation (score-v1)")
    )
    console.print(_status_table(result.nodes, "Per node"))
    if not result.items:
        raise StepFailedError("the federation returned no cards for this vacancy")
    state.top = result.items[0]


def step_introduce(state: StoryState, console: Console) -> None:
    """(b) Ask the node the best card came from for an introduction."""
    assert state.top is not None
    assert state.vacancy is not None
    node = state.top.node
    state.require(node, ConformanceClass.INTRODUCTIONS, "an introduction")
    url = state.federation.urls[node]
    with Client(url, credentials=state.platform_credentials(url)) as client:
        intro = client.introduce(
            opportunity=state.vacancy,
            candidate=state.top.candidate,
            requester_role="employer",
            contact_person=REQUESTER,
            message=(
                f"We would like to meet you about '{state.vacancy.title}'. "
                "A jobcoach is welcome to join the first conversation."
            ),
        )
    state.introduction = intro
    console.print(
        f"Introduction [bold]{intro.id}[/] requested at {node} for pseudonym "
        f"{intro.candidate}: status [yellow]{intro.status}[/]"
    )


def _custodian_token(http: httpx.Client, url: str, credentials: ClientCredentials) -> str:
    response = http.post(credentials.token_endpoint, data=credentials.token_request())
    if response.status_code != 200:
        raise StepFailedError(f"the custodian got no token at {url}: {response.text[:200]}")
    token: str = response.json()["access_token"]
    return token


def _read(http: httpx.Client, url: str, token: str, what: str) -> dict[str, Any]:
    response = http.get(url, headers={"Authorization": f"Bearer {token}"})
    if response.status_code in (404, 405):
        raise StepFailedError(f"not available yet: {what} ({url} answers {response.status_code})")
    if response.status_code != 200:
        raise StepFailedError(f"{what} failed: {response.status_code} {response.text[:200]}")
    document: dict[str, Any] = response.json()
    return document


def _contact(person: dict[str, Any]) -> dict[str, str]:
    if person.get("email"):
        return {"channel": "email", "value": person["email"]}
    if person.get("phone"):
        return {"channel": "phone", "value": person["phone"]}
    return {"channel": "via-custodian", "value": "via the jobcoach of the custodian"}


def step_decide(state: StoryState, console: Console) -> None:
    """(c) The custodian records that the candidate accepted."""
    assert state.top is not None
    assert state.introduction is not None
    node = state.top.node
    state.require(node, ConformanceClass.PUBLICATION, "the custodian's decision")
    url = state.federation.urls[node]
    publisher = next(n.publisher for n in DEMO_NODES if n.id == node)
    credentials = ClientCredentials.from_key_file(
        publisher, state.federation.key_of(publisher), token_endpoint_for(url)
    )
    intro_id = state.introduction.id
    with httpx.Client(timeout=10.0) as http:
        token = _custodian_token(http, url, credentials)
        record = _read(
            http,
            f"{url}/publication/introductions/{intro_id}",
            token,
            "the custodian's view of the introduction request",
        )
        candidate = _read(
            http,
            f"{url}/publication/candidates/{record['candidateId']}",
            token,
            "the candidate record",
        )
    person = candidate["person"]
    contact = _contact(person)
    console.print(
        f"{publisher} sees request {intro_id} for its candidate {record['candidateId']} "
        f"({escape(person['givenName'])} {escape(person['familyName'])}). "
        f"The jobcoach talks it through with the candidate, who accepts, to be reached by "
        f"{contact['channel']}."
    )
    decision = {
        "decision": "accepted",
        "contact": contact,
        "consent": {
            "collectionMethod": "with-jobcoach",
            "noticeVersion": "2026.1",
            "evidence": {"kind": "signed-form", "reference": f"DOC-INTRO-{intro_id[:8]}"},
        },
    }
    with Client(url, credentials=credentials) as client:
        try:
            decided = client.publication.decide_introduction(intro_id, decision)
        except ApiError as exc:
            if exc.status in (404, 405) and exc.code != "not-found":
                raise StepFailedError(
                    f"not available yet: recordIntroductionDecision at {url} ({exc.status})"
                ) from exc
            raise
    console.print(
        f"Decision recorded at {node}: status [green]{decided.get('status', 'accepted')}[/]"
    )


def step_reveal(state: StoryState, console: Console) -> None:
    """(d) The platform reads the accepted introduction: name and contact appear."""
    assert state.top is not None
    assert state.introduction is not None
    url = state.federation.urls[state.top.node]
    with Client(url, credentials=state.platform_credentials(url)) as client:
        intro = client.introduction(state.introduction.id)
    if intro.status != "accepted" or intro.identity is None:
        raise StepFailedError(
            f"introduction {intro.id} is {intro.status} without an identity; expected accepted"
        )
    identity = intro.identity
    table = Table(show_header=False, title=f"Introduction {intro.id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", f"[green]{intro.status}[/]")
    table.add_row("candidate", f"{identity.given_name} {identity.family_name}")
    table.add_row("contact", f"{identity.contact.channel}: {identity.contact.value}")
    table.add_row("requested by", f"{PLATFORM} ({REQUESTER['name']})")
    console.print(table)
    console.print(
        "Only WerkMatch sees this, only for this introduction; every other consumer still sees "
        "a pseudonym (L3, OW-INTRO-006)."
    )


def step_gateway(state: StoryState, console: Console) -> None:
    """(e) The regional gateway answers the same match by fan-out."""
    assert state.vacancy is not None
    url = state.federation.gateway_url
    with Client(url, credentials=state.platform_credentials(url)) as client:
        # A gateway declares core and federation; it answers createMatch for the federation.
        client.ignore_conformance()
        try:
            result = client.match(opportunity=state.vacancy, limit=_TOP)
        except ApiError as exc:
            raise StepFailedError(f"the gateway refused the match: {exc}") from exc
    console.print(
        f"Gateway {url}: {len(result.items)} cards, partial={result.partial} "
        "(a gateway asks under its own identity, so it sees only any-member consents, "
        "OW-FED-014)"
    )
    console.print(_status_table(result.nodes, "Gateway fan-out"))


STEPS: tuple[tuple[str, Callable[[StoryState, Console], None]], ...] = (
    ("The federation on loopback", step_federation),
    ("(a) A federated match for a vacancy of Gemeente Utrecht", step_match),
    ("(b) WerkMatch asks for an introduction to the best card", step_introduce),
    ("(c) The custodian records the candidate's answer", step_decide),
    ("(d) WerkMatch reads the introduction", step_reveal),
    ("(e) The same question through the regional gateway", step_gateway),
)


def run_story(federation: DemoFederation, console: Console) -> bool:
    """Run every step in order, stopping at the first that fails; True if all worked."""
    directory = load_directory(
        federation.files.directory, load_jwks(federation.files.operator_public_keys)
    )
    console.print(
        f"Directory verified against the pinned operator key: {len(directory.members)} members, "
        f"signed by {directory.iss}"
    )
    state = StoryState(federation=federation, directory=directory)
    for title, step in STEPS:
        console.rule(title, align="left")
        try:
            step(state, console)
        except StepFailedError as exc:
            console.print(f"[red]✗ {escape(str(exc))}[/]", soft_wrap=True)
            return False
        except (OpenWerkError, httpx.HTTPError) as exc:
            console.print(f"[red]✗ {escape(title)} failed: {escape(str(exc))}[/]", soft_wrap=True)
            return False
        console.print("[green]✓[/] done")
    console.rule("[green]The story ran end to end[/]")
    return True
