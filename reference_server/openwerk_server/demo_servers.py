"""Real HTTP servers on loopback, each on its own thread: the demo's nodes and the live tests'.

``reserve_port`` binds a socket first and hands it to uvicorn, so a federation's directory
can name every node's port before any node starts, without racing another process for it.
``BackgroundServer`` runs one ASGI app with uvicorn on a daemon thread, waits until it
accepts connections, and stops it again (with a short grace period, so a deliberately hung
app does not hold the stop up).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx

__all__ = [
    "BackgroundServer",
    "ServerStartError",
    "reserve_port",
    "stop_all",
    "unused_port",
    "wait_healthy",
]

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A server did not come up (its thread died, or it did not answer in time)."""


def reserve_port(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (0: an ephemeral port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def unused_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now (bound, then released)."""
    with reserve_port(host) as sock:
        port: int = sock.getsockname()[1]
    return port


class BackgroundServer:
    """uvicorn serving ``app`` on ``sock`` from a daemon thread."""

    def __init__(
        self,
        app: Any,
        sock: socket.socket,
        *,
        name: str = "openwerk-server",
        log_level: str = "warning",
        graceful_seconds: int = 1,
    ) -> None:
        import uvicorn  # the server extra; imported when a server is built

        self.sock = sock
        self.host, self.port = sock.getsockname()[:2]
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            ws="none",  # no websockets: nothing here upgrades, and it keeps imports small
            timeout_graceful_shutdown=graceful_seconds,
        )
        self.server = uvicorn.Server(config)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # reported by start(); a thread must not die silently
            self._error = exc

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        """Start serving; returns once uvicorn has started (or raises ``ServerStartError``)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise ServerStartError(
                    f"the server on {self.url} stopped while starting"
                    + (f": {self._error}" if self._error else "")
                )
            if time.monotonic() > deadline:
                raise ServerStartError(f"the server on {self.url} did not start in {timeout:g} s")
            time.sleep(0.02)
        return self

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread.is_alive()

    def request_stop(self) -> None:
        """Ask uvicorn to exit (returns at once; ``stop`` waits)."""
        self.server.should_exit = True

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_all(servers: list[BackgroundServer], timeout: float = 10.0) -> None:
    """Stop ``servers`` together: every one is asked first, then each is waited for."""
    for server in servers:
        server.request_stop()
    for server in servers:
        server.stop(timeout)


def wait_healthy(base_url: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll ``{base_url}/`` (the landing page) until it answers 200; returns the page."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            try:
                response = http.get(base_url.rstrip("/") + "/")
                if response.status_code == 200:
                    page: dict[str, Any] = response.json()
                    return page
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
    raise ServerStartError(f"{base_url} is not healthy after {timeout:g} s ({last})")
