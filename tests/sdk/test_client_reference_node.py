"""The SDK against the real reference node, in process (``httpx.ASGITransport``).

The mock-transport tests pin the SDK's behaviour; these check that it and the reference
server agree on the wire: models parse what the node sends, paging follows the node's
cursors, problems map to the right exceptions, and gating reads the node's declaration.
Tokens are static here (the node's authenticator is a stand-in), so the token flow itself
is covered by ``test_client.py``.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openwerk

pytest.importorskip("openwerk_server.app", reason="the reference server is not installed")

from openwerk_server.app import create_app
from openwerk_server.security import InvalidToken, Principal
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store

BASE = "http://testserver/v1"
PUBLISHER = {"Authorization": "Bearer publisher-token"}
#: Runs ``body(client)`` against a fresh node and returns what it returns.
Runner = Callable[[Callable[[openwerk.AsyncClient], Awaitable[Any]]], Any]

VACANCY: dict[str, Any] = {
    "employer": {"name": "Groenbedrijf Utrecht", "kvkNumber": "12345678"},
    "title": "Medewerker groenonderhoud",
    "description": "Onderhoud van parken en plantsoenen.",
    "kind": "regular",
    "occupation": {"isco08": "9214", "label": "hovenier"},
    "skills": [{"label": "Snoeien", "importance": "essential"}],
    "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
    "hoursPerWeek": {"min": 24, "max": 32},
    "validThrough": "2099-12-31",
    "supportOffered": ["jobcoach"],
    "instruments": ["loonkostensubsidie"],
    "inclusiveRedesign": True,
}


class StaticTokens:
    """Stands in for the node's token verifier: one fixed publisher token."""

    def authenticate(self, token: str) -> Principal:
        if token != "publisher-token":
            raise InvalidToken("unknown test token")
        return Principal("test-publisher", "gemeente", frozenset({"publication:write"}))


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Runner]:
    """Run a coroutine function with an ``AsyncClient`` wired to a fresh reference node."""
    settings = NodeSettings(
        environment="development",
        node_id="test-node",
        node_name="Testgemeente",
        organisation_type="gemeente",
        organisation_name="Gemeente Utrecht",
        arbeidsmarktregios=["AM13"],
        gemeenten=["GM0344"],
        base_url=BASE,
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        pseudonym_secret="test-secret-" + "x" * 32,
        migrate_on_start=False,
    )
    store = Store.from_url(settings.database_url)
    store.migrate()  # ASGITransport does not run the app's lifespan
    app = create_app(settings, store, StaticTokens())

    def runner(body: Callable[[openwerk.AsyncClient], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            transport = httpx.ASGITransport(app=app)
            async with openwerk.AsyncClient(BASE, transport=transport, headers=PUBLISHER) as c:
                return await body(c)

        return asyncio.run(main())

    yield runner
    store.dispose()


def test_landing_and_conformance_parse(run: Runner) -> None:
    async def body(client: openwerk.AsyncClient) -> None:
        landing = await client.landing()
        assert landing.id == "test-node"
        assert landing.k >= 5
        declared = (await client.conformance()).classes
        assert openwerk.ConformanceClass.OPPORTUNITIES in declared
        assert await client.conforms_to("opportunities")

    run(body)


def test_published_vacancies_page_back_through_the_sdk(run: Runner) -> None:
    async def body(client: openwerk.AsyncClient) -> None:
        created = [
            await client.publication.create_vacancy({**VACANCY, "title": f"Vacature {i}"})
            for i in range(5)
        ]
        assert created[0].hours_per_week == openwerk.HoursRange(min=24, max=32)
        listed = [v.title async for v in client.vacancies(limit=2, hours_min=10)]
        assert listed == [f"Vacature {i}" for i in reversed(range(5))]  # newest first
        page = await client.vacancies_page(limit=2)
        assert page.has_next
        second = await client.next_page(page)
        assert second is not None
        assert [v.id for v in second.items] == [c.id for c in reversed(created)][2:4]
        fetched = await client.vacancy(created[0].id)
        assert fetched.model_dump() == created[0].model_dump()

    run(body)


def test_node_problems_map_to_the_exception_tree(run: Runner) -> None:
    async def body(client: openwerk.AsyncClient) -> None:
        with pytest.raises(openwerk.BadRequest) as bad:
            await client.vacancies_page(hours_min=70)
        assert [p["name"] for p in bad.value.invalid_params] == ["hoursMin"]
        with pytest.raises(openwerk.NotFound) as missing:
            await client.vacancy("nope")
        assert missing.value.code == "not-found"
        assert missing.value.trace_id

    run(body)


def test_gating_follows_what_the_node_declares(run: Runner) -> None:
    """In strict mode the SDK lets through every class the reference node declares.

    (Refusal of undeclared classes is covered against mock nodes in test_client.py: the
    reference node now declares every class a node's client calls.)
    """

    async def body(client: openwerk.AsyncClient) -> None:
        declared = await client.conformance()
        assert openwerk.ConformanceClass.MATCHING in declared.classes
        client.strict_conformance()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(openwerk.ApiError) as refused:
                await client.match(opportunity=openwerk.OpportunityReference.vacancy("v1"))
        assert not isinstance(refused.value, openwerk.ConformanceError)

    run(body)
