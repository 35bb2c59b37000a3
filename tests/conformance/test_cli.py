"""The command line over real HTTP: a fake node behind uvicorn on an ephemeral loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from broken_servers import Break, Fake, make_fake
from typer.testing import CliRunner

from openwerk_conformance.attestation import verify_attestation
from openwerk_conformance.cli import app
from openwerk_conformance.oauth import generate_key

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(*breaks: Break) -> Iterator[Fake]:
    port = _free_port()
    fake = make_fake(*breaks, seed_items=5, base=f"http://127.0.0.1:{port}/v1")
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _config(fake: Fake, directory: Path) -> Path:
    """A conformance.toml as `openwerk sandbox DIR` writes it, with the fake's clients."""
    lines = [f'base_url = "{fake.node.base}"', ""]
    for role, credentials in fake.credentials.items():
        key_file = directory / f"{role}.jwk.json"
        key_file.write_text(json.dumps(credentials.key.as_dict(private=True)), encoding="utf-8")
        lines += [
            f"[clients.{role}]",
            f'client_id = "{credentials.client_id}"',
            f'key_file = "{key_file.name}"',
            "",
        ]
    path = directory / "conformance.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_run_passes_a_correct_node_and_writes_reports_and_an_attestation(tmp_path: Path) -> None:
    signing = generate_key()
    key_file = tmp_path / "attestation.jwk.json"
    key_file.write_text(json.dumps(signing.as_dict(private=True)), encoding="utf-8")
    reports = tmp_path / "reports"
    with serving() as fake:
        result = CliRunner().invoke(
            app,
            [
                "run",
                "--config",
                str(_config(fake, tmp_path)),
                "--report-dir",
                str(reports),
                "--schemathesis-examples",
                "1",
                "--class",
                "core",
                "--class",
                "opportunities",
                "--attestation-key",
                str(key_file),
            ],
        )
    assert result.exit_code == 0, result.output
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert any(r["id"].startswith("SCHEMA-") for r in report["results"])
    assert (reports / "junit.xml").is_file()
    assert (reports / "report.html").is_file()
    token = (reports / "attestation.jwt").read_text(encoding="utf-8").strip()
    claims = verify_attestation(token, signing.as_dict(private=False))
    assert claims["sub"] == "fake-node"
    assert "https://w3id.org/openwerk/v1/conf/opportunities" in claims["conformsTo"]


def test_run_exits_1_on_a_must_failure(tmp_path: Path) -> None:
    with serving(Break.LIMIT_REFUSED) as fake:
        result = CliRunner().invoke(
            app,
            ["run", fake.node.base, "--schemathesis-examples", "0", "--class", "core"],
        )
    assert result.exit_code == 1, result.output
    assert "PAGE-002" in result.output


def test_run_without_a_base_url_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "BASE_URL" in result.output


def test_coverage_prints_the_percentage_and_the_uncovered() -> None:
    result = CliRunner().invoke(app, ["coverage"])
    assert result.exit_code == 0, result.output
    assert "testable MUST requirements with a check" in result.output
    assert "%" in result.output
    assert "without a check" in result.output


def test_checks_lists_every_check() -> None:
    result = CliRunner().invoke(app, ["checks"])
    assert result.exit_code == 0
    assert "AUTH-005" in result.output
