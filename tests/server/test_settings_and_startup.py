"""Node configuration and start-up: refused values, sources, one-line errors, lazy app."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect
from starlette.testclient import TestClient

from openwerk_server import main
from openwerk_server.app import create_app
from openwerk_server.settings import NodeSettings, describe_settings_error

REQUIRED: dict[str, Any] = {
    "environment": "development",
    "node_id": "gemeente-utrecht",
    "node_name": "Werk Utrecht",
    "organisation_type": "gemeente",
    "organisation_name": "Gemeente Utrecht",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENWERK_* variables of the developer's shell leak into these tests."""
    for name in list(os.environ):
        if name.startswith("OPENWERK_") and name != "OPENWERK_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


def _errors(**values: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        NodeSettings(**{**REQUIRED, **values})
    return describe_settings_error(caught.value).splitlines()


def test_k_below_five_is_refused_with_its_requirement() -> None:
    assert _errors(k=4) == [
        "k: k must be at least 5 (OW-KANON-001) — set OPENWERK_K or k in node.toml"
    ]


def test_production_needs_a_long_pseudonym_secret() -> None:
    (line,) = _errors(environment="production", pseudonym_secret="short")
    assert line.startswith("pseudonym_secret: at least 32 random characters")
    assert line.endswith("set OPENWERK_PSEUDONYM_SECRET or pseudonym_secret in node.toml")
    NodeSettings(**{**REQUIRED, "environment": "production", "pseudonym_secret": "s" * 32})


def test_codes_are_checked_against_the_code_lists() -> None:
    lines = _errors(
        organisation_type="ministerie",
        gemeenten=["GM0344", "GM9999"],
        arbeidsmarktregios=["AM99"],
        identifiers={"cbs_gemeentecode": "GM0000", "oin": "12"},
    )
    assert [line.split(":")[0] for line in lines] == [
        "organisation_type",
        "identifiers.oin",
        "identifiers.cbs_gemeentecode",
        "arbeidsmarktregios",
        "gemeenten",
    ]
    assert "OPENWERK_IDENTIFIERS__OIN or oin in [identifiers]" in lines[1]


def test_gemeenten_must_lie_in_the_regions_served() -> None:
    (line,) = _errors(gemeenten=["GM0344"], arbeidsmarktregios=["AM01"])
    assert line.startswith("gemeenten: GM0344 lies in AM13")


def test_database_url_and_base_url() -> None:
    lines = _errors(database_url="mysql://db/x", base_url="ftp://node.example.nl")
    assert lines[0].startswith("base_url: must be the public http(s) URL of the API, ending in /v1")
    assert lines[1].startswith("database_url: must be a sqlite:/// or postgresql+psycopg:// URL")
    assert lines[1].endswith("— set OPENWERK_DATABASE_URL or database_url in node.toml")
    settings = NodeSettings(**{**REQUIRED, "base_url": "https://node.example.nl/v1/"})
    assert settings.base_url == "https://node.example.nl/v1"


def test_limits_have_the_specs_floor() -> None:
    assert [
        line.split(":")[0] for line in _errors(max_body_bytes=1000, access_token_ttl_seconds=7200)
    ] == [
        "access_token_ttl_seconds",
        "max_body_bytes",
    ]


def test_missing_required_settings_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        NodeSettings(environment="development")  # type: ignore[call-arg]
    lines = describe_settings_error(caught.value).splitlines()
    assert lines[0] == (
        "node_id: required but not set — set OPENWERK_NODE_ID or node_id in node.toml"
    )
    assert len(lines) == 4


def test_file_below_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'environment = "development"\nnode_id = "from-file"\nnode_name = "N"\n'
        'organisation_type = "uwv"\norganisation_name = "UWV"\nk = 7\n'
        'gemeenten = ["GM0344"]\n[identifiers]\noin = "00000001234567890000"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("OPENWERK_K", "9")
    monkeypatch.setenv("OPENWERK_ARBEIDSMARKTREGIOS", "AM13,AM01")
    settings = NodeSettings.from_file(config)
    assert (settings.node_id, settings.k) == ("from-file", 9)
    assert settings.arbeidsmarktregios == ["AM13", "AM01"]
    assert settings.identifiers.oin == "00000001234567890000"
    # Reading a file does not leak into later constructions.
    with pytest.raises(ValidationError):
        NodeSettings()  # type: ignore[call-arg]


def test_a_missing_file_or_unknown_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        NodeSettings.from_file(tmp_path / "absent.toml")
    config = tmp_path / "node.toml"
    config.write_text(
        'environment = "development"\nnode_id = "n1"\nnode_name = "N"\n'
        'organisation_type = "uwv"\norganisation_name = "UWV"\nkk = 7\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        NodeSettings.from_file(config)
    assert describe_settings_error(caught.value) == "kk: not a setting of Open Werk — remove it"


def test_build_app_exits_with_one_line_per_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENWERK_NODE_ID", "n1")
    monkeypatch.setenv("OPENWERK_NODE_NAME", "N")
    monkeypatch.setenv("OPENWERK_ORGANISATION_TYPE", "gemeente")
    monkeypatch.setenv("OPENWERK_ORGANISATION_NAME", "G")
    monkeypatch.setenv("OPENWERK_K", "2")
    with pytest.raises(SystemExit) as exited:
        main.build_app()
    assert exited.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Open Werk node configuration is invalid:"
    assert err[1:] == [
        "k: k must be at least 5 (OW-KANON-001) — set OPENWERK_K or k in node.toml",
        "pseudonym_secret: at least 32 random characters are required outside development "
        "(it keys pseudonyms and cursors) — set OPENWERK_PSEUDONYM_SECRET or pseudonym_secret "
        "in node.toml",
    ]


def test_importing_main_builds_no_app() -> None:
    module = importlib.reload(main)
    assert "app" not in vars(module)


def test_a_fresh_sqlite_file_is_migrated_on_start(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    settings = NodeSettings(**{**REQUIRED, "database_url": f"sqlite:///{database}"})
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/v1/vacancies").status_code == 200
        tables = set(inspect(app.state.store.engine).get_table_names())
    assert {"opportunities", "candidates", "consents", "events", "alembic_version"} <= tables
