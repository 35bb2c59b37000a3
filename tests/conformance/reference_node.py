"""The reference node as the suite meets it: ``openwerk sandbox`` files, served by uvicorn.

Tests that prove a check catches a *behavioural* break (privacy, matching, introductions)
break one piece of the real reference server with ``monkeypatch`` before calling
:func:`sandbox_node`, and run the suite against it. The server runs in a thread of the test
process, so a patch applied before the call is what the served node does. Each call writes a
fresh sandbox (keys, signed directory, SQLite database) under ``root``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from openwerk_conformance.config import load_config
from openwerk_conformance.oauth import ClientCredentials
from openwerk_conformance.results import RunResult
from openwerk_conformance.runner import RunOptions, run
from openwerk_server.app import create_app
from openwerk_server.sandbox import SandboxFiles, write_sandbox
from openwerk_server.settings import NodeSettings

__all__ = ["SandboxNode", "free_port", "run_suite", "sandbox_node"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class SandboxNode:
    """A running sandbox node and the three identities of its ``conformance.toml``."""

    files: SandboxFiles
    settings: NodeSettings
    credentials: dict[str, ClientCredentials]

    @property
    def base_url(self) -> str:
        """Where the node serves ``/v1``."""
        return self.files.base_url


@contextmanager
def serve_app(app: Any, port: int) -> Iterator[None]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:``port`` in a thread, until the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def sandbox_node(root: Path, **overrides: Any) -> Iterator[SandboxNode]:
    """Write a sandbox under ``root`` and serve its node; ``overrides`` change NodeSettings.

    ``sandbox_node(tmp_path, k=1)`` serves a node configured with k = 1, for instance.
    """
    port = free_port()
    files = write_sandbox(root, port=port)
    settings = NodeSettings.from_file(files.node_config, **overrides)
    config = load_config(files.conformance_config)
    credentials = {role: client.load(role) for role, client in config.clients.items()}
    with serve_app(create_app(settings), port):
        yield SandboxNode(files=files, settings=settings, credentials=credentials)


def run_suite(node: SandboxNode, **options: Any) -> RunResult:
    """Run the suite against ``node`` (schemathesis off unless asked: it is its own test)."""
    settings: dict[str, Any] = {"schemathesis": False}
    settings.update(options)
    return run(RunOptions(base_url=node.base_url, credentials=node.credentials, **settings))
