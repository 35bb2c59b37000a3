"""A live federation on loopback: real uvicorn nodes, a hung provider, a dead one, a gateway.

Three reference nodes, each with its own SQLite pool, serve on ephemeral ports; a fourth
provider in the directory is a tiny ASGI app that never answers in time, and a fifth names
a port nothing listens on. The SDK's ``FederatedClient`` and the reference gateway must
both answer with what the live nodes sent, ``partial: true``, ``timeout`` for the hung node
and ``error`` for the dead one — within the one deadline plus 10 %. Tampered, expired and
foreign-key directories are refused by the SDK and by nodes (which do not start).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from openwerk import DirectoryError, SyncFederatedClient, token_endpoint_for
from openwerk.assertions import ClientCredentials
from openwerk.directory import (
    DirectoryCache,
    DirectoryExpiredError,
    DirectorySignatureError,
    UnknownOperatorKeyError,
    load_directory,
    sign_directory,
    verify_directory,
)
from openwerk.keys import generate_signing_key, load_jwks, load_private_key
from openwerk_server import main
from openwerk_server.app import create_app
from openwerk_server.demo_servers import BackgroundServer, reserve_port, unused_port
from openwerk_server.sandbox import ClientSpec, FederationFiles, NodeSpec, write_federation
from openwerk_server.seed import SeedPlan, seed_store
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import Store
from openwerk_spec.openapi import validation_errors

# Starlette warns at import when only httpx (not httpx2) is installed; the test client works
# the same either way (as in tests/server/conftest.py).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.slow

DEADLINE = 2.0
TOLERANCE = 1.10  # the answer must come within the deadline + 10 %
PROVIDERS = ("gemeente-utrecht", "uwv-midden-utrecht", "sociale-onderneming-utrecht")
HUNG, DOWN, GATEWAY, PLATFORM = "hung-node", "down-node", "gateway-utrecht", "platform-x"
HANG_SECONDS = 30.0


async def hung_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A provider that accepts connections and then never answers in time."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    # Say nothing until the caller gives up and disconnects (or HANG_SECONDS pass).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HANG_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
        return
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@dataclass
class Federation:
    root: Path
    files: FederationFiles
    urls: dict[str, str]

    @property
    def gateway(self) -> str:
        return self.urls[GATEWAY]

    def directory(self) -> Any:
        return load_directory(self.files.directory, load_jwks(self.files.operator_public_keys))

    def platform_token(self, base_url: str) -> str:
        credentials = ClientCredentials.from_key_file(
            PLATFORM, self.files.keys[PLATFORM], token_endpoint_for(base_url)
        )
        response = httpx.post(credentials.token_endpoint, data=credentials.token_request())
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("federation")
    sockets = {name: reserve_port() for name in (*PROVIDERS, HUNG, GATEWAY)}
    ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    ports[DOWN] = unused_port()

    def spec(node_id: str, org: str, mode: str = "node") -> NodeSpec:
        return NodeSpec(
            id=node_id,
            name=node_id.replace("-", " ").title(),
            organisation_type=org,
            organisation_name=node_id,
            port=ports[node_id],
            arbeidsmarktregios=("AM13",),
            mode=mode,
        )

    specs = [
        spec(PROVIDERS[0], "gemeente"),
        spec(PROVIDERS[1], "uwv"),
        spec(PROVIDERS[2], "sociale-onderneming"),
        spec(HUNG, "sw-bedrijf"),
        spec(DOWN, "re-integratiebedrijf"),
        spec(GATEWAY, "werkbedrijf", mode="gateway"),
    ]
    clients = [ClientSpec(PLATFORM, "Platform X", "platform", ("consumer",))]
    files = write_federation(root, operator="werkbedrijf-utrecht", nodes=specs, clients=clients)

    servers: list[BackgroundServer] = []
    try:
        for index, node in enumerate(PROVIDERS):
            store = Store.from_url(f"sqlite:///{root / f'{node}.db'}")
            store.migrate()
            seed_store(
                store,
                SeedPlan(
                    node_id=node,
                    candidates=60,
                    opportunities=12,
                    seed=index + 1,
                    arbeidsmarktregio="AM13",
                ),
            )
            store.dispose()
            settings = NodeSettings.from_file(files.node_configs[node])
            servers.append(BackgroundServer(create_app(settings), sockets[node]).start())
        servers.append(BackgroundServer(hung_app, sockets[HUNG]).start())
        gateway_settings = NodeSettings.from_file(
            files.node_configs[GATEWAY], gateway_deadline_seconds=DEADLINE
        )
        servers.append(BackgroundServer(create_app(gateway_settings), sockets[GATEWAY]).start())
        urls = {s.id: s.base_url for s in specs}
        yield Federation(root=root, files=files, urls=urls)
    finally:
        for server in servers:
            server.stop()
        for sock in sockets.values():
            sock.close()


def _statuses(nodes: list[Any]) -> dict[str, str]:
    return {
        (n["node"] if isinstance(n, dict) else n.node): (
            n["status"] if isinstance(n, dict) else n.status
        )
        for n in nodes
    }


EXPECTED = {**dict.fromkeys(PROVIDERS, "ok"), HUNG: "timeout", DOWN: "error"}


# ---------------------------------------------------------------------------- SDK
def test_federated_client_answers_with_the_live_nodes_within_the_deadline(
    federation: Federation,
) -> None:
    with SyncFederatedClient(federation.directory(), deadline=DEADLINE) as client:
        started = time.perf_counter()
        page = client.vacancies(limit=20)
        elapsed = time.perf_counter() - started

    print(f"\nSDK fan-out: {elapsed:.3f} s for a {DEADLINE:g} s deadline "
          f"(overshoot {1000 * (elapsed - DEADLINE):.0f} ms)")  # fmt: skip
    assert elapsed <= DEADLINE * TOLERANCE
    assert elapsed >= DEADLINE * 0.95  # the hung node really was waited for
    assert page.partial is True
    assert _statuses(page.nodes) == EXPECTED
    publishers = {v.publisher for v in page.items}
    assert publishers == set(PROVIDERS)
    assert len(page.items) == 20
    hung = page.node_status(HUNG)
    assert hung is not None
    assert hung.item_count == 0
    assert hung.duration_ms is not None
    assert hung.duration_ms >= DEADLINE * 1000 * 0.95
    down = page.node_status(DOWN)
    assert down is not None
    assert down.detail


def test_federated_client_refuses_a_tampered_directory_source(federation: Federation) -> None:
    tampered = federation.root / "tampered-for-sdk.jws"
    tampered.write_text(_tampered(federation.files.directory.read_text()))
    cache = DirectoryCache(tampered, load_jwks(federation.files.operator_public_keys))
    with (
        SyncFederatedClient(cache, deadline=DEADLINE) as client,
        pytest.raises(DirectorySignatureError),
    ):
        client.vacancies()


# ---------------------------------------------------------------------------- gateway
def test_gateway_answers_by_fan_out_within_the_deadline(federation: Federation) -> None:
    with httpx.Client(timeout=DEADLINE * 3) as http:
        started = time.perf_counter()
        response = http.get(f"{federation.gateway}/vacancies", params={"limit": 20})
        elapsed = time.perf_counter() - started

    print(f"\ngateway fan-out: {elapsed:.3f} s for a {DEADLINE:g} s deadline "
          f"(overshoot {1000 * (elapsed - DEADLINE):.0f} ms)")  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert validation_errors("VacancyPage", body) == []
    assert elapsed <= DEADLINE * TOLERANCE
    assert body["partial"] is True
    assert _statuses(body["nodes"]) == EXPECTED
    assert {v["publisher"] for v in body["items"]} == set(PROVIDERS)
    assert len(body["items"]) == 20
    created = [v["createdAt"] for v in body["items"]]
    assert created == sorted(created, reverse=True)  # newest first across nodes (OW-FED-006)
    assert "next" in body["links"]


def test_gateway_cursor_continues_without_duplicates_and_is_signed(
    federation: Federation,
) -> None:
    seen: list[str] = []
    with httpx.Client(timeout=DEADLINE * 3) as http:
        url: str | None = f"{federation.gateway}/task-offers?limit=5"
        pages = 0
        while url is not None and pages < 10:
            body = http.get(url).json()
            assert validation_errors("TaskOfferPage", body) == []
            assert body["partial"] is True
            seen += [f"{t['publisher']}/{t['id']}" for t in body["items"]]
            url = body["links"].get("next", {}).get("href")
            pages += 1
        # The live nodes hold 3 task offers each (30 % of 12): every one exactly once.
        assert len(seen) == len(set(seen)) == 9
        forged = http.get(f"{federation.gateway}/task-offers", params={"cursor": "eyJ2IjoxfQ"})
    assert forged.status_code == 400
    assert forged.json()["invalidParams"][0]["name"] == "cursor"


def test_gateway_lists_instruments_of_every_live_node(federation: Federation) -> None:
    body = httpx.get(f"{federation.gateway}/instruments", timeout=DEADLINE * 3).json()
    assert validation_errors("InstrumentPage", body) == []
    assert {i["publisher"] for i in body["items"]} == set(PROVIDERS)
    assert _statuses(body["nodes"]) == EXPECTED


def test_gateway_lists_the_public_directory(federation: Federation) -> None:
    response = httpx.get(f"{federation.gateway}/federation/members", params={"limit": 4})
    assert response.status_code == 200
    body = response.json()
    assert validation_errors("FederationMemberPage", body) == []
    directory = federation.directory()
    assert body["directory"] == {"iss": directory.iss, "iat": directory.iat, "exp": directory.exp}
    assert "jwks" not in json.dumps(body)
    ids = [m["id"] for m in body["items"]]
    rest = httpx.get(body["links"]["next"]["href"]).json()
    ids += [m["id"] for m in rest["items"]]
    assert ids == sorted(m.id for m in directory.members)
    gateway_entry = next(m for m in body["items"] + rest["items"] if m["id"] == GATEWAY)
    assert gateway_entry["roles"] == ["gateway"]
    assert gateway_entry["regions"] == ["AM13"]


def test_gateway_declares_core_and_federation(federation: Federation) -> None:
    landing = httpx.get(f"{federation.gateway}/").json()
    assert landing["mode"] == "gateway"
    assert landing["conformsTo"] == [
        "https://w3id.org/openwerk/v1/conf/core",
        "https://w3id.org/openwerk/v1/conf/federation",
    ]
    # No pool, no publication API: a gateway holds no data (OW-FED-008).
    assert httpx.get(f"{federation.gateway}/publication/candidates").status_code == 404


def test_gateway_l2_operations_need_candidates_read(federation: Federation) -> None:
    anonymous = httpx.get(f"{federation.gateway}/candidates")
    assert anonymous.status_code == 401
    match = httpx.post(
        f"{federation.gateway}/matches",
        json={"opportunity": {"ref": {"type": "vacancy", "id": "x"}}},
    )
    assert match.status_code == 401
    token = federation.platform_token(federation.gateway)
    headers = {"Authorization": f"Bearer {token}"}
    no_node = httpx.post(
        f"{federation.gateway}/matches",
        json={"opportunity": {"ref": {"type": "vacancy", "id": "x"}}},
        headers=headers,
    )
    assert no_node.status_code == 400
    assert no_node.json()["invalidParams"][0]["name"] == "body.opportunity.ref.node"


def test_gateway_search_and_match_by_fan_out(federation: Federation) -> None:
    """L2 through the gateway; needs the providers' candidates and matching classes."""
    conformance = httpx.get(f"{federation.urls[PROVIDERS[0]]}/conformance").json()["conformsTo"]
    missing = [
        c for c in ("candidates", "matching")
        if f"https://w3id.org/openwerk/v1/conf/{c}" not in conformance
    ]  # fmt: skip
    if missing:
        pytest.skip(f"the reference node does not declare {', '.join(missing)} yet")
    headers = {"Authorization": f"Bearer {federation.platform_token(federation.gateway)}"}
    with httpx.Client(timeout=DEADLINE * 3, headers=headers) as http:
        started = time.perf_counter()
        search = http.get(f"{federation.gateway}/candidates", params={"limit": 10})
        elapsed = time.perf_counter() - started
        assert search.status_code == 200, search.text
        body = search.json()
        assert validation_errors("CandidatePage", body) == []
        assert _statuses(body["nodes"]) == EXPECTED
        assert elapsed <= DEADLINE * TOLERANCE

        vacancy = httpx.get(f"{federation.urls[PROVIDERS[0]]}/vacancies?limit=1").json()
        ref = {"type": "vacancy", "id": vacancy["items"][0]["id"], "node": PROVIDERS[0]}
        started = time.perf_counter()
        match = http.post(f"{federation.gateway}/matches", json={"opportunity": {"ref": ref}})
        elapsed = time.perf_counter() - started
    assert match.status_code == 200, match.text
    result = match.json()
    assert validation_errors("MatchResult", result) == []
    assert result["partial"] is True
    assert _statuses(result["nodes"]) == EXPECTED
    assert elapsed <= DEADLINE * TOLERANCE
    keys = [(-c["score"], c["candidate"]["node"], c["candidate"]["id"]) for c in result["items"]]
    assert keys == sorted(keys)


# ---------------------------------------------------------------------------- bad directories
def _tampered(token: str) -> str:
    header, payload, signature = token.strip().split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["members"][0]["roles"] = ["provider", "consumer", "publisher"]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _bad_directories(federation: Federation) -> dict[str, tuple[str, type[DirectoryError]]]:
    token = federation.files.directory.read_text().strip()
    payload = verify_directory(token, load_jwks(federation.files.operator_public_keys))
    operator = load_private_key(federation.files.root / "keys" / "operator.jwk.json")
    now = int(time.time())
    expired = payload.to_payload() | {"iat": now - 9 * 86_400, "exp": now - 60}
    return {
        "tampered": (_tampered(token), DirectorySignatureError),
        "expired": (sign_directory(expired, operator), DirectoryExpiredError),
        "unknown-key": (
            sign_directory(payload.to_payload(), generate_signing_key()),
            UnknownOperatorKeyError,
        ),
    }


def test_sdk_refuses_tampered_expired_and_foreign_directories(federation: Federation) -> None:
    pinned = load_jwks(federation.files.operator_public_keys)
    for name, (token, error) in _bad_directories(federation).items():
        with pytest.raises(error):
            verify_directory(token, pinned)
        path = federation.root / f"sdk-{name}.jws"
        path.write_text(token)
        with pytest.raises(error):
            load_directory(path, pinned)


@pytest.mark.parametrize("node", [PROVIDERS[0], GATEWAY])
def test_nodes_refuse_to_start_on_bad_directories(
    federation: Federation,
    node: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, (token, error) in _bad_directories(federation).items():
        path = federation.root / f"{node}-{name}.jws"
        path.write_text(token)
        settings = NodeSettings.from_file(federation.files.node_configs[node], directory_path=path)
        with pytest.raises(error):
            create_app(settings)

        monkeypatch.setenv("OPENWERK_CONFIG", str(federation.files.node_configs[node]))
        monkeypatch.setenv("OPENWERK_DIRECTORY_PATH", str(path))
        with pytest.raises(SystemExit) as stopped:
            main.build_app()
        assert stopped.value.code == 2
        message = capsys.readouterr().err
        assert message.startswith("Open Werk node configuration: ")
        assert len(message.strip().splitlines()) == 1
        expected = {"tampered": "altered", "expired": "expired", "unknown-key": "unknown"}[name]
        assert expected in message


def test_gateway_without_a_valid_directory_answers_a_problem_not_data(
    federation: Federation, tmp_path: Path
) -> None:
    """Once its directory expires the gateway stops answering federated operations (503)."""
    settings = NodeSettings.from_file(
        federation.files.node_configs[GATEWAY],
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        base_url="http://testserver/v1",
    )
    app = create_app(settings)
    later = time.time() + 60 * 86_400  # long after the directory's exp
    app.state.gateway.directory_cache = DirectoryCache(
        federation.files.directory,
        load_jwks(federation.files.operator_public_keys),
        clock=lambda: later,
    )
    with TestClient(app) as client:
        for path in ("/v1/vacancies", "/v1/instruments", "/v1/federation/members"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "expired" in response.json()["detail"]
        # Core keeps answering: the landing page does not depend on the directory.
        assert client.get("/v1").status_code == 200


def test_gateway_without_a_directory_configured_is_503(tmp_path: Path) -> None:
    settings = NodeSettings(
        environment="development",
        node_id="lonely-gateway",
        node_name="Gateway",
        organisation_type="werkbedrijf",
        organisation_name="Werkbedrijf",
        mode="gateway",
        base_url="http://testserver/v1",
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/task-offers")
        assert response.status_code == 503
        assert "no federation directory" in response.json()["detail"]
        assert client.get("/v1/federation/members").status_code == 503
