"""The ``openwerk`` Typer app: the consumer commands plus whatever plugins register.

``build_app`` takes its collaborators as arguments — the ``ClientFactory`` the commands use,
the ``FederatedFactory`` of directory mode and the entry points to load — so tests build an
app against fake nodes and fake plugins without patching module globals. ``main`` is the
console script: the installed defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Annotated

import typer

from openwerk._client import Client
from openwerk._federation_sync import SyncFederatedClient
from openwerk._transport import sdk_version
from openwerk.cli._consumer import ClientFactory, FederatedFactory, register_consumer_commands
from openwerk.cli._plugins import load_plugins

__all__ = ["ClientFactory", "FederatedFactory", "build_app", "main"]


def _version(value: bool) -> None:
    if value:
        # Imported here: reading the spec document is only worth it when asked for.
        from openwerk_spec.openapi import spec_version

        typer.echo(f"openwerk {sdk_version()} (Open Werk spec {spec_version()})")
        raise typer.Exit()


def build_app(
    *,
    client_factory: ClientFactory = Client,
    federated_factory: FederatedFactory = SyncFederatedClient,
    plugins: Iterable[metadata.EntryPoint] | None = None,
) -> typer.Typer:
    """The CLI app; ``plugins`` defaults to the installed ``openwerk.cli`` entry points.

    ``federated_factory`` makes the ``SyncFederatedClient`` of ``--directory`` mode (tests
    give one with a ``transport_factory`` per node).
    """
    app = typer.Typer(
        name="openwerk",
        help="Open Werk: query a node of the federation; plugins add serve, demo, keys ...",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_version, is_eager=True, help="Show versions and exit."
            ),
        ] = False,
    ) -> None:
        """Open Werk command line."""

    register_consumer_commands(app, client_factory, federated_factory)
    load_plugins(app, plugins)
    return app


def main() -> None:
    """The ``openwerk`` console script."""
    build_app()(prog_name="openwerk")
