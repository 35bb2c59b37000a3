"""``openwerk search`` / ``match`` in directory mode: fan-out over a signed directory.

The app is built with ``build_app(federated_factory=...)``: the factory gives the
``SyncFederatedClient`` a ``transport_factory`` with one ``httpx.MockTransport`` per member,
so nothing touches the network. One of the three nodes refuses (403), so every answer is
partial and names that node ``refused``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from openwerk import SyncFederatedClient
from openwerk._fanout import NodeDoneHook
from openwerk.assertions import ClientCredentials
from openwerk.cli import build_app
from openwerk.directory import Directory, sign_directory
from openwerk.keys import generate_signing_key, jwks, public_jwk, save_jwks, save_private_key

CLIENT_ID = "platform-x"
CLIENT_KEY = generate_signing_key()
OPERATOR_KEY = generate_signing_key()
ENV = {"COLUMNS": "240", "NO_COLOR": "1"}
COMPONENTS = dict.fromkeys(
    ("occupation", "skills", "hours", "location", "availability", "support"), 0.5
)
CRITERIA = {
    "occupation": {"isco08": "9112"},
    "hoursPerWeek": {"min": 16, "max": 24},
    "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM13"},
}


def card(pseudonym: str, node: str) -> dict[str, Any]:
    return {
        "id": pseudonym,
        "node": node,
        "location": {"arbeidsmarktregio": "AM13"},
        "hoursPerWeek": {"min": 16, "max": 24},
    }


class Node:
    """A provider node: checks the client assertion, then answers or refuses (403)."""

    def __init__(self, node_id: str, *, refuse: bool = False) -> None:
        self.id = node_id
        self.base_url = f"https://{node_id}.example.nl/v1"
        self.refuse = refuse
        self.client_key = ECKey.import_key(public_jwk(CLIENT_KEY))
        self.paths: list[str] = []

    def member(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": f"Node {self.id}",
            "organisationType": "gemeente",
            "baseUrl": self.base_url,
            "roles": ["provider"],
            "regions": ["AM13"],
            "jwks": jwks([generate_signing_key()]),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        self.paths.append(path)
        if path == "/oauth/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            claims = jwt.decode(form["client_assertion"], self.client_key).claims
            assert claims["iss"] == claims["sub"] == CLIENT_ID
            assert claims["aud"] == self.base_url + "/oauth/token"
            body = {"access_token": f"{self.id}-t", "token_type": "Bearer", "expires_in": 600}
            return httpx.Response(200, json=body)
        if request.headers.get("Authorization") != f"Bearer {self.id}-t":
            return httpx.Response(401, json={"title": "Authentication required", "status": 401})
        if self.refuse:
            body = {"title": "insufficient-scope", "status": 403, "code": "insufficient-scope"}
            return httpx.Response(403, json=body)
        if path == "/candidates":
            items = [card(f"{self.id}-cand-{i}", self.id) for i in range(2)]
            return httpx.Response(200, json={"items": items, "links": {}})
        if path == "/matches":
            request_body = json.loads(request.content)
            items = [
                {"candidate": card(f"{self.id}-cand-{i}", self.id), "score": s}
                | {"components": COMPONENTS}
                for i, s in enumerate((0.9 if self.id == "node-b" else 0.7, 0.4))
            ]
            answer = {
                "scoreVersion": "score-v1",
                "node": self.id,
                "opportunity": request_body["opportunity"].get("inline", CRITERIA),
                "items": items,
            }
            return httpx.Response(200, json=answer)
        return httpx.Response(404, json={"title": "not found", "status": 404})


@pytest.fixture
def nodes() -> dict[str, Node]:
    all_nodes = [Node("node-a"), Node("node-b"), Node("node-c", refuse=True)]
    return {n.id: n for n in all_nodes}


def directory_payload(nodes: dict[str, Node], *, exp_offset: int = 3600) -> dict[str, Any]:
    now = int(time.time())
    members = [n.member() for n in nodes.values()]
    members.append(
        {
            "id": CLIENT_ID,
            "name": "Platform X",
            "organisationType": "platform",
            "roles": ["consumer"],
            "jwks": jwks([CLIENT_KEY]),
        }
    )
    return {"iss": "werkbedrijf-test", "iat": now - 60, "exp": now + exp_offset, "members": members}


@pytest.fixture
def files(tmp_path: Path, nodes: dict[str, Node]) -> dict[str, Path]:
    directory = tmp_path / "directory.jws"
    directory.write_text(sign_directory(directory_payload(nodes), OPERATOR_KEY), encoding="utf-8")
    operator = save_jwks([OPERATOR_KEY], tmp_path / "operator.jwks.json")
    key = save_private_key(CLIENT_KEY, tmp_path / "client.jwk")
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps(CRITERIA), encoding="utf-8")
    return {"directory": directory, "operator": operator, "key": key, "criteria": criteria}


def invoke(nodes: dict[str, Node], *args: str | Path) -> Any:
    def federated(
        directory: Directory,
        *,
        credentials: ClientCredentials | None,
        deadline: float,
        on_node_done: NodeDoneHook | None,
    ) -> SyncFederatedClient:
        return SyncFederatedClient(
            directory,
            credentials=credentials,
            deadline=deadline,
            on_node_done=on_node_done,
            transport_factory=lambda member: httpx.MockTransport(nodes[member.id]),
        )

    app = build_app(federated_factory=federated, plugins=[])
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def federation_args(files: dict[str, Path]) -> list[str | Path]:
    return [
        "--directory",
        files["directory"],
        "--operator-key",
        files["operator"],
        "--client-id",
        CLIENT_ID,
        "--key",
        files["key"],
    ]


def test_search_over_the_directory_merges_and_reports_each_node(
    nodes: dict[str, Node], files: dict[str, Path]
) -> None:
    result = invoke(nodes, "search", *federation_args(files), "--region", "AM13")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "4 candidate(s) in the federation" in out
    assert "node-a-cand-0" in out
    assert "node-b-cand-1" in out
    assert "Partial answer" in out
    status_lines = [line for line in out.splitlines() if "node-c" in line]
    assert any("refused" in line for line in status_lines)
    ok_lines = [line for line in out.splitlines() if "node-a" in line and " ok " in line]
    assert ok_lines
    assert " 2 " in ok_lines[0]
    assert nodes["node-c"].paths[0] == "/oauth/token"


def test_match_over_the_directory_ranks_across_nodes(
    nodes: dict[str, Node], files: dict[str, Path]
) -> None:
    args = ["match", *federation_args(files), "--criteria", files["criteria"], "--limit", "3"]
    result = invoke(nodes, *args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 match(es) in the federation (score-v1)" in out
    ranked = [line for line in out.splitlines() if "-cand-" in line]
    assert [line.split("│")[2].strip() for line in ranked] == ["node-b", "node-a", "node-a"]
    assert "0.900" in ranked[0]
    assert "Partial answer: nothing from node-c (refused)" in out


def test_json_output_is_the_merged_result(nodes: dict[str, Node], files: dict[str, Path]) -> None:
    result = invoke(
        nodes, "match", *federation_args(files), "--criteria", files["criteria"], "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"items", "partial", "nodes"} <= set(data)
    assert data["partial"] is True
    assert [i["node"] for i in data["items"]] == ["node-b", "node-a", "node-a", "node-b"]
    statuses = {n["node"]: n for n in data["nodes"]}
    assert {k: v["status"] for k, v in statuses.items()} == {
        "node-a": "ok",
        "node-b": "ok",
        "node-c": "refused",
    }
    assert statuses["node-a"]["itemCount"] == 2

    result = invoke(nodes, "search", *federation_args(files), "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["partial"] is True
    assert len(page["items"]) == 4
    assert {n["node"] for n in page["nodes"]} == {"node-a", "node-b", "node-c"}


@pytest.mark.parametrize("command", ["search", "match"])
def test_node_and_directory_are_exclusive(
    nodes: dict[str, Node], files: dict[str, Path], command: str
) -> None:
    extra = ["--criteria", str(files["criteria"])] if command == "match" else []
    both = invoke(
        nodes, command, "--node", "https://node-a.example.nl/v1", *federation_args(files), *extra
    )
    assert both.exit_code == 2, both.output
    neither = CliRunner().invoke(
        build_app(plugins=[]), [command, *extra], env={**ENV, "OPENWERK_NODE": None}
    )
    assert neither.exit_code == 2, neither.output
    assert "--directory" in neither.output


def test_directory_needs_the_operator_key(nodes: dict[str, Node], files: dict[str, Path]) -> None:
    result = invoke(nodes, "search", "--directory", files["directory"])
    assert result.exit_code == 2, result.output
    assert "--operator-key" in result.output


def test_tampered_directory_is_one_error_line(
    nodes: dict[str, Node], files: dict[str, Path]
) -> None:
    header, _payload, signature = files["directory"].read_text(encoding="utf-8").split(".")
    forged = sign_directory(directory_payload({"node-x": Node("node-x")}), OPERATOR_KEY)
    files["directory"].write_text(f"{header}.{forged.split('.')[1]}.{signature}", "utf-8")
    result = invoke(nodes, "search", *federation_args(files))
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "altered" in lines[0]
    assert not any(n.paths for n in nodes.values())


def test_expired_or_foreign_directory_is_refused(
    nodes: dict[str, Node], files: dict[str, Path], tmp_path: Path
) -> None:
    expired = sign_directory(directory_payload(nodes, exp_offset=-30), OPERATOR_KEY)
    files["directory"].write_text(expired, encoding="utf-8")
    result = invoke(nodes, "search", *federation_args(files))
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "expired" in result.stderr

    foreign = sign_directory(directory_payload(nodes), generate_signing_key())
    files["directory"].write_text(foreign, encoding="utf-8")
    result = invoke(nodes, "match", *federation_args(files), "--criteria", files["criteria"])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unknown operator key" in result.stderr


def test_introduce_stays_node_only(nodes: dict[str, Node], files: dict[str, Path]) -> None:
    result = invoke(nodes, "introduce", "--help")
    assert result.exit_code == 0
    assert "--node" in result.stdout
    assert "--directory" not in result.stdout
