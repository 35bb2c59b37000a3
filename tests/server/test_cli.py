"""The server's ``openwerk`` commands: keys, directory, sandbox, seed, and one-line failures."""

from __future__ import annotations

import json
import os
import stat
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import typer
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from openwerk.cli import build_app
from openwerk.directory import sign_directory, verify_directory
from openwerk.keys import generate_signing_key, jwks, load_jwks, load_private_key
from openwerk_server.app import create_app
from openwerk_server.cli import register
from openwerk_server.settings import NodeSettings
from openwerk_server.storage import CandidateQuery, Store

with warnings.catch_warnings():  # Starlette warns when only httpx (not httpx2) is installed
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENWERK_* variables of the developer's shell leak into these tests."""
    for name in list(os.environ):
        if name.startswith("OPENWERK_") and name != "OPENWERK_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture
def cli() -> typer.Typer:
    app = build_app(plugins=[])
    register(app)
    return app


def run(cli: typer.Typer, *args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result: Any, code: int = 2) -> str:
    """The single stderr line of a refused command (and its exit code)."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in result.output
    assert lines[0].startswith("openwerk: ")
    return str(lines[0])


# ---------------------------------------------------------------------------- keys
def test_keys_generate_writes_a_private_key_0600_and_prints_its_kid(
    cli: typer.Typer, tmp_path: Path
) -> None:
    out, public = tmp_path / "node.jwk.json", tmp_path / "node.pub.json"
    result = run(cli, "keys", "generate", out, "--public", public)
    assert result.exit_code == 0, result.output
    key = load_private_key(out)
    assert result.stdout.strip() == key.kid
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    published = json.loads(public.read_text())
    assert "d" not in published
    assert published["kid"] == key.kid
    assert published["crv"] == "P-256"


def test_keys_generate_refuses_to_overwrite(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "node.jwk.json"
    assert run(cli, "keys", "generate", out).exit_code == 0
    before = out.read_text()
    line = one_line_error(run(cli, "keys", "generate", out))
    assert "already exists" in line
    assert out.read_text() == before
    assert run(cli, "keys", "generate", out, "--force").exit_code == 0
    assert out.read_text() != before


# ---------------------------------------------------------------------------- directory
def _federation_files(cli: typer.Typer, tmp_path: Path) -> tuple[Path, Path, Path]:
    """An operator key, two member keys and a members file that names them."""
    operator = tmp_path / "operator.jwk.json"
    operator_pub = tmp_path / "operator.pub.json"
    assert run(cli, "keys", "generate", operator, "--public", operator_pub).exit_code == 0
    for member in ("gemeente-utrecht", "platform-x"):
        assert run(cli, "keys", "generate", tmp_path / f"{member}.jwk.json").exit_code == 0
    members = {
        "iss": "werkbedrijf-utrecht",
        "members": [
            {
                "id": "gemeente-utrecht",
                "name": "Gemeente Utrecht",
                "organisationType": "gemeente",
                "baseUrl": "https://werk.utrecht.example.nl/v1",
                "roles": ["provider", "consumer"],
                "regions": ["AM13"],
                # a private key file: only its public part may reach the directory
                "keyFile": "gemeente-utrecht.jwk.json",
            },
            {
                "id": "platform-x",
                "name": "Platform X",
                "organisationType": "platform",
                "roles": ["consumer"],
                "jwks": jwks([load_private_key(tmp_path / "platform-x.jwk.json")]),
            },
        ],
    }
    members_file = tmp_path / "members.json"
    members_file.write_text(json.dumps(members))
    return members_file, operator, operator_pub


def test_directory_sign_and_verify_round_trip(cli: typer.Typer, tmp_path: Path) -> None:
    members_file, operator, operator_pub = _federation_files(cli, tmp_path)
    out = tmp_path / "directory.jws"
    signed = run(
        cli, "directory", "sign", "--members", members_file, "--operator-key", operator,
        "--out", out, "--days", "3",
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    assert "2 members" in signed.stdout

    directory = verify_directory(out.read_text(), load_jwks(operator_pub))
    assert directory.iss == "werkbedrijf-utrecht"
    assert directory.exp - directory.iat == 3 * 86_400
    assert [m.id for m in directory.members] == ["gemeente-utrecht", "platform-x"]
    for member in directory.members:
        assert all("d" not in key for key in member.jwks["keys"])

    shown = run(cli, "directory", "verify", out, "--operator-key", operator_pub)
    assert shown.exit_code == 0, shown.output
    assert "gemeente-utrecht" in shown.stdout
    assert "platform-x" in shown.stdout
    assert "expires" in shown.stdout
    as_json = run(cli, "directory", "verify", out, "--operator-key", operator_pub, "--json")
    assert json.loads(as_json.stdout)["iss"] == "werkbedrijf-utrecht"


def test_directory_verify_detects_tampering_and_foreign_keys(
    cli: typer.Typer, tmp_path: Path
) -> None:
    members_file, operator, operator_pub = _federation_files(cli, tmp_path)
    out = tmp_path / "directory.jws"
    assert (
        run(
            cli, "directory", "sign", "--members", members_file, "--operator-key", operator,
            "--out", out,
        ).exit_code
        == 0
    )  # fmt: skip
    header, payload, signature = out.read_text().strip().split(".")
    # Swap the payload for one that adds a member: the signature no longer matches.
    import base64

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["members"][1]["roles"] = ["consumer", "publisher"]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    tampered = tmp_path / "tampered.jws"
    tampered.write_text(f"{header}.{forged}.{signature}\n")
    line = one_line_error(
        run(cli, "directory", "verify", tampered, "--operator-key", operator_pub), code=1
    )
    assert "directory refused" in line
    assert "altered" in line

    other = tmp_path / "other.jwk.json"
    assert run(cli, "keys", "generate", other).exit_code == 0
    line = one_line_error(run(cli, "directory", "verify", out, "--operator-key", other), code=1)
    assert "unknown operator key" in line


def test_directory_verify_refuses_an_expired_directory(cli: typer.Typer, tmp_path: Path) -> None:
    operator = generate_signing_key()
    member = generate_signing_key()
    now = int(time.time())
    payload = {
        "iss": "op",
        "iat": now - 10 * 86_400,
        "exp": now - 86_400,
        "members": [
            {
                "id": "platform-x",
                "name": "Platform X",
                "organisationType": "platform",
                "roles": ["consumer"],
                "jwks": jwks([member]),
            }
        ],
    }
    path = tmp_path / "expired.jws"
    path.write_text(sign_directory(payload, operator))
    pub = tmp_path / "op.pub.json"
    pub.write_text(json.dumps(jwks([operator])))
    line = one_line_error(run(cli, "directory", "verify", path, "--operator-key", pub), code=1)
    assert "expired" in line


def test_directory_sign_refuses_bad_members_in_one_line(cli: typer.Typer, tmp_path: Path) -> None:
    operator = tmp_path / "operator.jwk.json"
    assert run(cli, "keys", "generate", operator).exit_code == 0
    members = tmp_path / "members.json"
    members.write_text(json.dumps([{"id": "x", "name": "X", "roles": ["consumer"]}]))
    line = one_line_error(
        run(cli, "directory", "sign", "--members", members, "--operator-key", operator,
            "--out", tmp_path / "d.jws", "--issuer", "op")
    )  # fmt: skip
    assert "'jwks'" in line
    members.write_text("{not json")
    assert "not JSON" in one_line_error(
        run(cli, "directory", "sign", "--members", members, "--operator-key", operator,
            "--out", tmp_path / "d.jws")
    )  # fmt: skip


# ---------------------------------------------------------------------------- sandbox
def test_sandbox_writes_configs_a_node_starts_with(cli: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "sandbox"
    result = run(cli, "sandbox", target, "--port", "8123")
    assert result.exit_code == 0, result.output
    assert f"openwerk serve --config {target / 'node.toml'}" in result.stdout
    assert f"openwerk-conformance run --config {target / 'conformance.toml'}" in result.stdout

    settings = NodeSettings.from_file(target / "node.toml")
    assert settings.base_url == "http://127.0.0.1:8123/v1"
    conformance = (target / "conformance.toml").read_text()
    assert 'base_url = "http://127.0.0.1:8123/v1"' in conformance
    for client in ("publisher", "consumer-a", "consumer-b"):
        assert f"[clients.{client}]" in conformance
        assert stat.S_IMODE((target / "keys" / f"{client}.jwk.json").stat().st_mode) == 0o600

    with TestClient(create_app(settings), base_url="http://127.0.0.1:8123") as client:
        landing = client.get("/v1").json()
    assert landing["id"] == "sandbox-node"
    assert landing["tokenEndpoint"] == "http://127.0.0.1:8123/v1/oauth/token"

    again = run(cli, "sandbox", target)
    assert "already holds a sandbox" in one_line_error(again)


# ---------------------------------------------------------------------------- seed
def _seed(cli: typer.Typer, database: Path, seed: int) -> dict[str, Any]:
    result = run(
        cli, "seed", "--database", f"sqlite:///{database}", "--node-id", "gemeente-utrecht",
        "--region", "AM13", "--candidates", "120", "--opportunities", "20", "--seed", str(seed),
        "--batch-size", "50", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    counts: dict[str, Any] = json.loads(result.stdout)
    return counts


def _content(database: Path) -> list[tuple[Any, ...]]:
    store = Store.from_url(f"sqlite:///{database}")
    try:
        page = store.list_candidates(CandidateQuery(limit=1000))
    finally:
        store.dispose()
    return sorted(
        (c.external_reference, json.dumps(c.person, sort_keys=True), c.gemeente) for c in page.items
    )


def test_seed_counts_and_determinism(cli: typer.Typer, tmp_path: Path) -> None:
    first = _seed(cli, tmp_path / "a.db", seed=5)
    assert first["node"] == "gemeente-utrecht"
    assert first["candidates"] == 120
    assert first["vacancies"] + first["taskOffers"] == first["opportunities"] == 20
    assert first["taskOffers"] == 6
    assert first["consents"] > 90  # about 90 % of candidates consent to something
    assert first["instruments"] > 0
    assert first["seconds"] >= 0

    second = _seed(cli, tmp_path / "b.db", seed=5)
    assert {k: v for k, v in second.items() if k != "seconds"} == {
        k: v for k, v in first.items() if k != "seconds"
    }
    assert _content(tmp_path / "a.db") == _content(tmp_path / "b.db")
    assert len(_content(tmp_path / "a.db")) == 120

    other = _seed(cli, tmp_path / "c.db", seed=6)
    assert other["candidates"] == 120
    assert _content(tmp_path / "c.db") != _content(tmp_path / "a.db")


def test_seed_from_a_node_config(cli: typer.Typer, tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'environment = "development"\nnode_id = "uwv-midden-utrecht"\nnode_name = "UWV"\n'
        'organisation_type = "uwv"\norganisation_name = "UWV"\narbeidsmarktregios = ["AM13"]\n'
        f'database_url = "sqlite:///{tmp_path / "uwv.db"}"\n'
    )
    result = run(cli, "seed", "--config", config, "--candidates", "30", "--opportunities", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("seeded uwv-midden-utrecht")
    assert "30 candidates" in result.stdout
    assert len(_content(tmp_path / "uwv.db")) == 30


# ---------------------------------------------------------------------------- bad config
def test_missing_config_is_one_line_exit_2(cli: typer.Typer, tmp_path: Path) -> None:
    for command in ("serve", "migrate", "seed"):
        line = one_line_error(run(cli, command, "--config", tmp_path / "nope.toml"))
        assert "does not exist" in line


def test_invalid_settings_are_one_line_naming_every_problem(
    cli: typer.Typer, tmp_path: Path
) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'node_id = "Bad Id"\nnode_name = "X"\norganisation_type = "ministerie"\n'
        'organisation_name = "X"\nk = 3\n'
    )
    line = one_line_error(run(cli, "serve", "--config", config))
    for field in ("node_id", "organisation_type", "k:", "pseudonym_secret"):
        assert field in line


def test_unreadable_toml_and_env_only_settings(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "node.toml"
    config.write_text("node_id = [unclosed\n")
    assert "cannot read configuration" in one_line_error(run(cli, "migrate", "--config", config))
    # Without --config the OPENWERK_* environment is the configuration.
    line = one_line_error(run(cli, "serve"))
    assert "configuration (OPENWERK_*)" in line
    assert "node_id: required but not set" in line


def test_node_refusing_its_directory_is_one_line(cli: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "sandbox"
    assert run(cli, "sandbox", target).exit_code == 0
    directory = target / "directory.jws"
    header, payload, signature = directory.read_text().strip().split(".")
    directory.write_text(f"{header}.{payload}.{signature[:-4]}AAAA\n")
    line = one_line_error(run(cli, "serve", "--config", target / "node.toml"))
    assert line.startswith("openwerk: node sandbox-node:")
    assert "signature" in line


def test_seed_needs_a_config_or_a_database_and_node(cli: typer.Typer, tmp_path: Path) -> None:
    assert "--database URL and --node-id" in one_line_error(run(cli, "seed"))
    line = one_line_error(
        run(cli, "seed", "--database", f"sqlite:///{tmp_path / 'x.db'}", "--node-id", "n1",
            "--region", "AM99")
    )  # fmt: skip
    assert "AM99" in line


def test_migrate_brings_a_database_to_head(cli: typer.Typer, tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'environment = "development"\nnode_id = "n1"\nnode_name = "N"\n'
        'organisation_type = "gemeente"\norganisation_name = "G"\n'
    )
    database = tmp_path / "other.db"
    result = run(cli, "migrate", "--config", config, "--database", f"sqlite:///{database}")
    assert result.exit_code == 0, result.output
    assert "migrated sqlite:///" in result.stdout
    store = Store.from_url(f"sqlite:///{database}")
    try:
        assert store.list_candidates(CandidateQuery()).items == ()
    finally:
        store.dispose()
