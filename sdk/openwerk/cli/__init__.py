"""The ``openwerk`` command line.

The SDK ships a shell with the consumer commands (``search``, ``match``, ``introduce``) and
loads everything else from plugins: each entry point in the group ``openwerk.cli`` is a
``register(app: typer.Typer) -> None`` that adds its commands. The reference server registers
``serve``, ``seed``, ``sandbox``, ``keys``, ``directory`` and ``demo`` that way, so the SDK never
imports the server and a platform that installs only the SDK gets a working, small CLI.

Exit codes: 0 success, 1 the node (or the network) refused, 2 usage error.
"""

from openwerk.cli._app import ClientFactory, build_app, main
from openwerk.cli._plugins import ENTRY_POINT_GROUP, load_plugins

__all__ = ["ENTRY_POINT_GROUP", "ClientFactory", "build_app", "load_plugins", "main"]
