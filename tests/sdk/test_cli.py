"""The ``openwerk`` CLI shell: consumer commands against a fake node, plugins, exit codes.

The app is built with ``build_app(client_factory=..., plugins=...)``: the factory gives the
commands a ``Client`` over ``httpx.MockTransport``, so nothing touches the network and no
module global is patched.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import typer
from joserfc import jwt
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from openwerk import Client, ConformanceClass
from openwerk.cli import ENTRY_POINT_GROUP, build_app, main
from openwerk.keys import generate_signing_key, public_jwk, save_private_key

NODE = "https://node.example.nl/v1"
CLIENT_ID = "platform-x"
ENV = {"COLUMNS": "220", "NO_COLOR": "1"}
PSEUDONYM = "Qm9vZ2llV29vZ2llMTIzNA"


def card(pseudonym: str = PSEUDONYM) -> dict[str, Any]:
    return {
        "id": pseudonym,
        "node": "node-a",
        "location": {"arbeidsmarktregio": "AM12", "gemeente": "GM0344"},
        "ageBand": "25-29",
        "desiredOccupations": [{"isco08": "7512", "label": "Bakker"}],
        "skills": [],
        "languages": [{"code": "nl", "level": "B2"}],
        "hoursPerWeek": {"min": 24, "max": 32},
        "availableFrom": "2030-02",
        "wantedKinds": ["regular"],
        "lastConfirmed": "2030-01",
        "generalised": [],
    }


class CliNode:
    """Enough of a node for the three consumer commands, with a real token endpoint check."""

    def __init__(self, key: ECKey, classes: frozenset[ConformanceClass] | None = None) -> None:
        self.public_key = ECKey.import_key(public_jwk(key))
        self.classes = classes if classes is not None else frozenset(ConformanceClass)
        self.requests: list[httpx.Request] = []
        self.bodies: list[Any] = []
        self.answers: dict[tuple[str, str], httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        if request.content and path != "/oauth/token":
            self.bodies.append(json.loads(request.content))
        if (request.method, path) in self.answers:
            return self.answers[request.method, path]
        if path == "/conformance":
            return httpx.Response(200, json={"conformsTo": [c.uri for c in self.classes]})
        if path == "/oauth/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            claims = jwt.decode(form["client_assertion"], self.public_key).claims
            assert claims["iss"] == claims["sub"] == CLIENT_ID
            assert claims["aud"] == NODE + "/oauth/token"
            body = {"access_token": "t1", "token_type": "Bearer", "expires_in": 600, "scope": ""}
            return httpx.Response(200, json=body)
        if request.headers.get("Authorization") != "Bearer t1":
            return httpx.Response(401, json={"title": "Authentication required", "status": 401})
        if path == "/candidates":
            items = [card(), card("Zm9vYmFyYmF6cXV4MDEyMw")]
            return httpx.Response(200, json={"items": items, "links": {"self": {"href": "x"}}})
        if path == "/matches":
            return httpx.Response(200, json=match_result())
        if path == "/introductions":
            return httpx.Response(201, json=introduction())
        return httpx.Response(404, json={"title": "Not found", "status": 404, "code": "not-found"})


def match_result() -> dict[str, Any]:
    return {
        "scoreVersion": "score-v1",
        "node": "node-a",
        "opportunity": {
            "occupation": {"isco08": "7512"},
            "skills": [],
            "hoursPerWeek": {"min": 16, "max": 32},
            "location": {"gemeente": "GM0344", "arbeidsmarktregio": "AM12"},
        },
        "items": [
            {
                "candidate": card(),
                "score": 0.875,
                "components": {
                    "occupation": 1,
                    "skills": 0.5,
                    "hours": 1,
                    "location": 1,
                    "availability": 1,
                    "support": 0.25,
                },
            }
        ],
    }


def introduction() -> dict[str, Any]:
    return {
        "id": "intro-7",
        "status": "pending",
        "requester": {"member": CLIENT_ID, "role": "employer", "contactPerson": {"name": "Eva"}},
        "opportunity": {"type": "vacancy", "id": "v1"},
        "candidate": PSEUDONYM,
        "message": "Kennismaken?",
        "createdAt": "2030-01-01T09:00:00Z",
        "expiresAt": "2030-01-15T09:00:00Z",
    }


@pytest.fixture
def key() -> ECKey:
    return generate_signing_key()


@pytest.fixture
def key_file(key: ECKey, tmp_path: Path) -> Path:
    return save_private_key(key, tmp_path / "platform-x.jwk")


@pytest.fixture
def node(key: ECKey) -> CliNode:
    return CliNode(key)


def app_for(node: CliNode, plugins: list[metadata.EntryPoint] | None = None) -> typer.Typer:
    factory = functools.partial(Client, transport=httpx.MockTransport(node))
    return build_app(client_factory=factory, plugins=plugins or [])


def run(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=ENV)


def auth(key_file: Path) -> list[str]:
    return ["--node", NODE, "--client-id", CLIENT_ID, "--key", str(key_file)]


# --------------------------------------------------------------------------- search


def test_search_prints_a_readable_table(node: CliNode, key_file: Path) -> None:
    result = run(app_for(node), "search", *auth(key_file), "--region", "AM12", "--hours-min", "16")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in ("Pseudonym", PSEUDONYM, "AM12 / GM0344", "25-29", "Bakker", "24-32"):
        assert expected in out
    assert "2 candidate(s)" in out
    search = next(r for r in node.requests if r.url.path == "/v1/candidates")
    assert search.url.params["arbeidsmarktregio"] == "AM12"
    assert search.url.params["hoursMin"] == "16"
    assert search.headers["Authorization"] == "Bearer t1"


def test_search_json_is_machine_readable(node: CliNode, key_file: Path) -> None:
    result = run(app_for(node), "search", *auth(key_file), "--json", "--limit", "1")
    assert result.exit_code == 0, result.output
    cards = json.loads(result.stdout)
    assert cards == [card()]  # camelCase, as the node sent it; --limit honoured


# --------------------------------------------------------------------------- match


def test_match_shows_score_and_components(node: CliNode, key_file: Path) -> None:
    result = run(app_for(node), "match", *auth(key_file), "--vacancy", "v1", "--at", "node-b")
    assert result.exit_code == 0, result.output
    assert "0.875" in result.stdout
    assert "1.00 0.50 1.00 1.00 1.00 0.25" in result.stdout
    assert PSEUDONYM in result.stdout
    assert node.bodies[-1] == {
        "opportunity": {"ref": {"type": "vacancy", "id": "v1", "node": "node-b"}},
        "limit": 20,
    }


def test_match_with_inline_criteria_and_filters(
    node: CliNode, key_file: Path, tmp_path: Path
) -> None:
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps(match_result()["opportunity"]))
    result = run(
        app_for(node),
        "match",
        *auth(key_file),
        "--criteria",
        str(criteria),
        "--hours-overlap",
        "--region",
        "AM12",
        "--region",
        "AM13",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scoreVersion"] == "score-v1"
    body = node.bodies[-1]
    assert body["opportunity"]["inline"]["occupation"] == {"isco08": "7512"}
    assert body["filters"] == {"hoursOverlap": True, "arbeidsmarktregios": ["AM12", "AM13"]}


@pytest.mark.parametrize(
    "extra",
    [[], ["--vacancy", "v1", "--task-offer", "t1"]],
    ids=["no-opportunity", "two-opportunities"],
)
def test_match_needs_exactly_one_opportunity(
    node: CliNode, key_file: Path, extra: list[str]
) -> None:
    result = run(app_for(node), "match", *auth(key_file), *extra)
    assert result.exit_code == 2
    assert node.requests == []


# --------------------------------------------------------------------------- introduce


def test_introduce_prints_the_introduction(node: CliNode, key_file: Path) -> None:
    result = run(
        app_for(node),
        "introduce",
        *auth(key_file),
        "--candidate",
        PSEUDONYM,
        "--vacancy",
        "v1",
        "--contact-name",
        "Eva",
        "--contact-email",
        "eva@bakkerij.example",
        "--message",
        "Kennismaken?",
    )
    assert result.exit_code == 0, result.output
    assert "intro-7" in result.stdout
    assert "pending" in result.stdout
    assert node.bodies[-1] == {
        "opportunity": {"type": "vacancy", "id": "v1"},
        "candidate": PSEUDONYM,
        "requesterRole": "employer",
        "contactPerson": {"name": "Eva", "email": "eva@bakkerij.example"},
        "message": "Kennismaken?",
    }


# --------------------------------------------------------------------------- errors, exit codes


def test_api_error_exits_1_with_title_detail_and_invalid_params(
    node: CliNode, key_file: Path
) -> None:
    node.answers["GET", "/candidates"] = httpx.Response(
        400,
        json={
            "type": "https://w3id.org/openwerk/v1/problems/invalid-parameters",
            "title": "Invalid input",
            "status": 400,
            "detail": "1 invalid parameter(s).",
            "code": "invalid-parameters",
            "invalidParams": [{"name": "query.occupation", "reason": "not an ISCO-08 code"}],
            "traceId": "0af7651916cd43dd8448eb211c80319c",
        },
        headers={"Content-Type": "application/problem+json"},
    )
    result = run(app_for(node), "search", *auth(key_file), "--occupation", "bakker")
    assert result.exit_code == 1
    assert "400 Invalid input" in result.stderr
    assert "1 invalid parameter(s)." in result.stderr
    assert "query.occupation: not an ISCO-08 code" in result.stderr
    assert "0af7651916cd43dd8448eb211c80319c" in result.stderr
    assert result.stdout == ""


def test_api_error_with_json_prints_the_problem_on_stdout(node: CliNode, key_file: Path) -> None:
    result = run(app_for(node), "match", *auth(key_file), "--task-offer", "t1", "--json")
    assert result.exit_code == 0  # the fake answers every match; now make it fail:
    node.answers["POST", "/matches"] = httpx.Response(
        404, json={"title": "Not found", "status": 404}
    )
    result = run(app_for(node), "match", *auth(key_file), "--task-offer", "t1", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == 404


def test_without_credentials_the_node_refuses_and_exit_is_1(node: CliNode) -> None:
    result = run(app_for(node), "search", "--node", NODE)
    assert result.exit_code == 1
    assert "401 Authentication required" in result.stderr


def test_transport_failure_exits_1() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    factory = functools.partial(Client, transport=httpx.MockTransport(down))
    app = build_app(client_factory=factory, plugins=[])
    result = run(app, "search", "--node", NODE)
    assert result.exit_code == 1
    assert "connection refused" in result.stderr


def test_client_id_without_key_is_a_usage_error(node: CliNode) -> None:
    result = run(app_for(node), "search", "--node", NODE, "--client-id", CLIENT_ID)
    assert result.exit_code == 2
    assert "--key" in result.output


def test_unreadable_key_file_is_a_usage_error(node: CliNode, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jwk"
    bad.write_text('{"kty": "EC", "crv": "P-256"}')  # a public-looking JWK, no 'd'
    result = run(
        app_for(node), "search", "--node", NODE, "--client-id", CLIENT_ID, "--key", str(bad)
    )
    assert result.exit_code == 2
    assert node.requests == []


def test_bad_node_url_is_a_usage_error(node: CliNode) -> None:
    result = run(app_for(node), "search", "--node", "node.example.nl")
    assert result.exit_code == 2


def test_missing_class_warns_on_stderr_and_strict_refuses(key: ECKey, key_file: Path) -> None:
    node = CliNode(key, classes=frozenset({ConformanceClass.CORE}))
    result = run(app_for(node), "search", *auth(key_file))
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr
    assert "'candidates'" in result.stderr
    result = run(app_for(node), "search", *auth(key_file), "--strict")
    assert result.exit_code == 1
    assert "does not declare" in result.stderr


# --------------------------------------------------------------------------- plugins

PLUGIN = """
import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="A fake server plugin.")

    @group.command()
    def hello(name: str = "world") -> None:
        print(f"hello {name}")

    @group.command()
    def bye() -> None:
        print("bye")

    app.add_typer(group, name="fake")
"""


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "openwerk_fake_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "openwerk_fake_plugin"
    sys.modules.pop("openwerk_fake_plugin", None)


def entry_point(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_plugins_register_command_groups(node: CliNode, key_file: Path, plugin_module: str) -> None:
    app = app_for(node, [entry_point("fake", f"{plugin_module}:register")])
    result = run(app, "fake", "hello", "--name", "Utrecht")
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello Utrecht\n"
    assert "fake" in run(app, "--help").stdout


def test_a_broken_plugin_costs_one_line_and_the_cli_still_works(
    node: CliNode, key_file: Path, plugin_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_for(
        node,
        [
            entry_point("server", "openwerk_server_not_installed.cli:register"),
            entry_point("fake", f"{plugin_module}:register"),
        ],
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "plugin 'server'" in lines[0]
    assert "ModuleNotFoundError" in lines[0]
    assert run(app, "fake", "bye").stdout == "bye\n"
    assert run(app, "search", *auth(key_file)).exit_code == 0


def test_a_plugin_whose_register_raises_is_reported(
    node: CliNode, capsys: pytest.CaptureFixture[str]
) -> None:
    app_for(node, [entry_point("odd", "json:dumps")])  # callable, but not a register()
    err = capsys.readouterr().err
    assert "plugin 'odd'" in err
    assert err.count("\n") == 1


def test_main_discovers_installed_entry_points(
    plugin_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []

    def fake_entry_points(*, group: str) -> list[metadata.EntryPoint]:
        asked.append(group)
        return [entry_point("fake", f"{plugin_module}:register")]

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(sys, "argv", ["openwerk", "fake", "hello"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert asked == [ENTRY_POINT_GROUP]
    assert capsys.readouterr().out == "hello world\n"


def test_version_names_the_sdk_and_the_spec(node: CliNode) -> None:
    result = run(app_for(node), "--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("openwerk ")
    assert "Open Werk spec 1." in result.stdout


def test_no_arguments_shows_help_as_a_usage_error(node: CliNode) -> None:
    result = run(app_for(node))
    assert result.exit_code == 2
    assert "search" in result.output
