"""What every benchmark script needs: ports, seeding, serving a node, tokens, percentiles.

Scripts import it as ``from harness import ...`` (they run as ``python bench/NAME.py``, so
``bench/`` is on ``sys.path``). Servers run either in a thread of the script (cheap, for
latency of one client) or as ``openwerk serve`` in a child process (for throughput and load,
so the load generator and the server do not share one interpreter lock).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from openwerk.assertions import ClientCredentials
from openwerk.keys import load_private_key

__all__ = [
    "BIN",
    "consumer_headers",
    "free_port",
    "percentile",
    "seed",
    "serve_in_process",
    "serve_in_thread",
    "wait_until_up",
]

#: The virtualenv's scripts folder (``openwerk``, ``uvicorn``), next to the running Python.
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def seed(
    database_url: str,
    *,
    candidates: int,
    opportunities: int = 200,
    node_id: str = "sandbox-node",
    region: str = "AM13",
    seed_value: int = 2026,
    extra: Sequence[str] = (),
) -> tuple[float, dict[str, Any]]:
    """``openwerk seed`` into ``database_url``; returns (seconds, the command's JSON summary)."""
    command = [
        str(BIN / "openwerk"), "seed", "--database", database_url,
        "--node-id", node_id, "--region", region,
        "--candidates", str(candidates), "--opportunities", str(opportunities),
        "--seed", str(seed_value), "--json", *extra,
    ]  # fmt: skip
    print("$", shlex.join(command), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    try:
        summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        summary = {}
    return seconds, summary


def wait_until_up(base_url: str, timeout: float = 60.0) -> None:
    """Poll the landing page until the node answers 200, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base_url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[None]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:``port`` in a thread of this process."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_in_process(
    command: Sequence[str], base_url: str, *, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server command (e.g. ``openwerk serve --config ...``) until the block ends."""
    print("$", shlex.join(command), flush=True)
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(base_url)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def consumer_headers(base_url: str, client_id: str, key_path: Path) -> dict[str, str]:
    """An ``Authorization`` header for ``client_id`` (private_key_jwt at the node's endpoint)."""
    credentials = ClientCredentials(
        client_id, load_private_key(key_path), f"{base_url}/oauth/token"
    )
    response = httpx.post(f"{base_url}/oauth/token", data=credentials.token_request(), timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
