"""The reference server's commands of the ``openwerk`` CLI (entry point group ``openwerk.cli``).

``register(app)`` adds ``serve``, ``migrate``, ``seed``, ``sandbox``, ``demo`` and the ``keys``
and ``directory`` groups. Every command imports what it needs when it runs, so ``openwerk
--help`` stays fast and the SDK's own commands work without the server's dependencies.

Exit codes: 0 success; 1 the command ran and failed (a demo step, a refused directory, an
unreachable database); 2 a usage or configuration error, always as one line on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from openwerk_server.cli_directory import register_directory_commands
from openwerk_server.cli_support import fail, load_node_settings, one_line, stdout

if TYPE_CHECKING:
    from fastapi import FastAPI

    from openwerk_server.settings import NodeSettings

__all__ = ["register"]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="OPENWERK_CONFIG",
        help="The node's node.toml (OPENWERK_* variables still win over it).",
        show_default=False,
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Database URL (sqlite:///file.db or postgresql+psycopg://...); overrides the config.",
        show_default=False,
    ),
]


def _listen_address(settings: NodeSettings, host: str | None, port: int | None) -> tuple[str, int]:
    """``--host``/``--port``, else where ``base_url`` says the node lives."""
    url = urlsplit(settings.base_url)
    default_port = url.port or (443 if url.scheme == "https" else 80)
    return host or url.hostname or "127.0.0.1", port or default_port


def build_node_app(settings: NodeSettings) -> FastAPI:
    """``create_app(settings)``, with a refused key or directory as one line and exit 2."""
    from openwerk.directory import DirectoryError
    from openwerk.keys import KeyFileError
    from openwerk_server.app import create_app
    from openwerk_server.auth.wiring import AuthConfigurationError

    try:
        return create_app(settings)
    except (AuthConfigurationError, DirectoryError, KeyFileError) as exc:
        fail(f"node {settings.node_id}: {exc}")


def register(app: typer.Typer) -> None:
    """Add the server's commands to the ``openwerk`` app (the ``openwerk.cli`` plugin)."""

    @app.command()
    def serve(
        config: ConfigOption = None,
        host: Annotated[
            str | None, typer.Option("--host", help="Listen address (default: base_url's host).")
        ] = None,
        port: Annotated[
            int | None,
            typer.Option("--port", min=1, max=65535, help="Port (default: base_url's port)."),
        ] = None,
        database: DatabaseOption = None,
        log_level: Annotated[str, typer.Option("--log-level")] = "info",
    ) -> None:
        """Serve a node (or a gateway) with uvicorn."""
        settings = load_node_settings(config, database_url=database)
        node_app = build_node_app(settings)
        listen_host, listen_port = _listen_address(settings, host, port)
        import uvicorn

        stdout(
            f"Open Werk {settings.mode} {settings.node_id} on http://{listen_host}:{listen_port} "
            f"(API {settings.base_url})"
        )
        try:
            uvicorn.run(node_app, host=listen_host, port=listen_port, log_level=log_level)
        except OSError as exc:
            fail(f"cannot listen on {listen_host}:{listen_port}: {exc.strerror or exc}", code=1)

    @app.command()
    def migrate(config: ConfigOption = None, database: DatabaseOption = None) -> None:
        """Bring the node's database schema to the newest revision (alembic upgrade head)."""
        from openwerk_server.errors import StorageUnavailable
        from openwerk_server.storage import Store

        settings = load_node_settings(config, database_url=database)
        store = Store.from_url(settings.database_url)
        try:
            store.migrate()
        except StorageUnavailable as exc:
            fail(str(exc), code=1)
        finally:
            store.dispose()
        stdout(f"migrated {_safe_url(settings.database_url)} to the newest schema revision")

    @app.command()
    def seed(
        config: ConfigOption = None,
        database: DatabaseOption = None,
        node_id: Annotated[
            str | None, typer.Option("--node-id", help="Node id (without --config).")
        ] = None,
        region: Annotated[
            str | None,
            typer.Option("--region", help="Arbeidsmarktregio code, e.g. AM13 (without --config)."),
        ] = None,
        candidates: Annotated[int, typer.Option("--candidates", min=0)] = 1000,
        opportunities: Annotated[int, typer.Option("--opportunities", min=0)] = 200,
        seed_value: Annotated[
            int, typer.Option("--seed", help="Same seed (on the same day), same data.")
        ] = 1,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=1000)] = 1000,
        json_output: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = (
            False
        ),
    ) -> None:
        """Write synthetic candidates, consents and opportunities into a node's database."""
        from openwerk_server.errors import OpenWerkServerError
        from openwerk_server.seed import SeedPlan, seed_store
        from openwerk_server.storage import Store
        from openwerk_spec.codelists import codes

        if region is not None and region not in codes("arbeidsmarktregios"):
            fail(f"--region {region!r} is not an arbeidsmarktregio code (AM01..AM35)")
        if config is not None:
            settings = load_node_settings(config, database_url=database)
            database_url = settings.database_url
            node = node_id or settings.node_id
            regions = [region] if region else settings.regions
            gemeenten: tuple[str, ...] = () if region else tuple(settings.gemeenten)
        else:
            if database is None or node_id is None:
                fail("seed needs --config FILE, or --database URL and --node-id ID")
            database_url, node, regions, gemeenten = (
                database,
                node_id,
                [region] if region else [],
                (),
            )
        try:
            plan = SeedPlan(
                node_id=node,
                candidates=candidates,
                opportunities=opportunities,
                seed=seed_value,
                arbeidsmarktregio=regions[0] if len(regions) == 1 else None,
                gemeenten=gemeenten,
                batch_size=batch_size,
            )
            store = Store.from_url(database_url)
        except ValueError as exc:  # a region the code lists do not know, a bad URL
            fail(str(exc))
        try:
            store.migrate()
            report = seed_store(store, plan)
        except (OpenWerkServerError, ValueError) as exc:
            fail(f"seeding {node} failed: {exc}", code=1)
        finally:
            store.dispose()
        if json_output:
            stdout(json.dumps({"node": node, **report.as_dict()}))
            return
        stdout(
            f"seeded {node} ({_safe_url(database_url)}): {report.candidates:,} candidates "
            f"({report.consents:,} consents), {report.vacancies:,} vacancies, "
            f"{report.task_offers:,} task offers, {report.instruments} instruments "
            f"in {report.seconds:.1f} s"
        )

    @app.command()
    def sandbox(
        directory: Annotated[Path, typer.Argument(help="Folder to write the sandbox into.")],
        port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
        host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
        force: Annotated[
            bool, typer.Option("--force", help="Overwrite an existing sandbox.")
        ] = False,
    ) -> None:
        """Write one node, its directory and keys, and the conformance suite's credentials."""
        from openwerk_server.sandbox import write_sandbox

        if (directory / "node.toml").exists() and not force:
            fail(f"{directory} already holds a sandbox (node.toml); pass --force to replace it")
        try:
            files = write_sandbox(directory, host=host, port=port)
        except OSError as exc:
            fail(f"cannot write the sandbox into {directory}: {exc.strerror or exc}")
        federation = files.federation
        stdout(f"Open Werk sandbox written to {directory}:")
        stdout(f"  {files.node_config}  node configuration ({files.base_url})")
        stdout(f"  {federation.directory}  signed federation directory")
        stdout(f"  {federation.operator_public_keys}  operator public key (pinned)")
        for member, path in sorted(federation.keys.items()):
            stdout(f"  {path}  private key of {member}")
        stdout(f"  {files.conformance_config}  credentials for the conformance suite")
        stdout("")
        stdout("Next:")
        stdout(f"  openwerk serve --config {files.node_config}")
        stdout(f"  openwerk-conformance run --config {files.conformance_config}")

    @app.command()
    def demo(
        once: Annotated[
            bool, typer.Option("--once", help="Run the story once and exit (0 on success).")
        ] = False,
        base_port: Annotated[
            int, typer.Option("--base-port", min=1024, max=65000, help="First of the ports.")
        ] = 8701,
        candidates: Annotated[
            int, typer.Option("--candidates", min=20, help="Candidates per node.")
        ] = 400,
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Keep the federation here (default: a temp folder)."),
        ] = None,
    ) -> None:
        """A local federation: gemeente, UWV and a social enterprise, matched end to end."""
        from openwerk_server.demo import DemoError, run_demo

        try:
            code = run_demo(
                once=once, base_port=base_port, candidates=candidates, data_dir=data_dir
            )
        except DemoError as exc:
            fail(str(exc), code=1)
        raise typer.Exit(code)

    register_directory_commands(app)


def _safe_url(url: str) -> str:
    """A database URL without its password, for output."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # output only; never fail a command over it
        return one_line(url)
