"""What every benchmark script needs: ports, seeding, serving a node, tokens, percentiles.

Scripts import it as ``from harness import ...`` (they run as ``python bench/NAME.py``, so
``bench/`` is on ``sys.path``). Servers run either in a thread of the script (cheap, for
latency of one client) or as ``openwerk serve`` in a child process (for throughput and load,
so the load generator and the server do not share one interpreter lock).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from openwerk.assertions import ClientCredentials
from openwerk.keys import load_private_key

__all__ = [
    "BIN",
    "POSTGRES_URL",
    "UVICORN_SETTINGS",
    "WRK_INSTALL_HINT",
    "LoadRequest",
    "LoadResult",
    "WrkResult",
    "consumer_headers",
    "drive",
    "free_port",
    "own_peak_rss_mb",
    "parse_wrk",
    "peak_rss_mb",
    "percentile",
    "postgres_database",
    "resolved_uvicorn",
    "run_wrk",
    "seed",
    "seed_config",
    "serve_in_process",
    "serve_in_thread",
    "serve_processes",
    "uvicorn_flags",
    "wait_until_up",
]

#: The PostgreSQL server bench runs use (each in a database of its own, dropped afterwards).
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

#: The virtualenv's scripts folder (``openwerk``, ``uvicorn``), next to the running Python.
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (``VmHWM``) of process ``pid`` and its descendants, in MB.

    Summed over the tree: an upper bound if the peaks were not simultaneous, which is the
    safe side for a memory target. Read it before the process exits (``/proc`` forgets).
    """
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def own_peak_rss_mb() -> float:
    """This process's peak resident memory in MB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    return _run_seed(command)


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


# --- uvicorn settings shared by the node and the bare floor -----------------------------------

#: What ``openwerk serve`` hands uvicorn (``uvicorn.run(app, host, port, log_level)``, the rest
#: uvicorn's defaults), spelled as the command-line settings the bare floor is served with.
UVICORN_SETTINGS: dict[str, str] = {
    "workers": "1",
    "loop": "auto",
    "http": "auto",
    "log-level": "warning",
}


def uvicorn_flags() -> list[str]:
    """``UVICORN_SETTINGS`` as ``uvicorn`` command-line flags."""
    return [part for name, value in UVICORN_SETTINGS.items() for part in (f"--{name}", value)]


def resolved_uvicorn() -> dict[str, str]:
    """What ``auto`` resolves to in this virtualenv (uvloop/httptools are optional extras)."""
    from importlib.util import find_spec

    return {
        **UVICORN_SETTINGS,
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
        "uvicorn": uvicorn.__version__,
    }


# --- wrk, the load generator of the throughput floor ------------------------------------------

WRK_INSTALL_HINT = (
    "wrk not found on PATH. Install it: `apt-get install -y wrk` (Debian/Ubuntu), "
    "`brew install wrk` (macOS), or build https://github.com/wg/wrk."
)


@dataclass(frozen=True)
class WrkResult:
    """One ``wrk`` run: throughput, failures and latency percentiles (milliseconds)."""

    url: str
    requests: int
    requests_per_second: float
    non_2xx: int
    socket_errors: int
    latency_ms: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return {
            "url": self.url,
            "requests": self.requests,
            "rps": round(self.requests_per_second, 1),
            "non2xx": self.non_2xx,
            "socketErrors": self.socket_errors,
            "latencyMs": self.latency_ms,
        }


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return round(float(match.group(1)) * _WRK_UNITS[match.group(2)], 3)


def parse_wrk(url: str, output: str) -> WrkResult:
    """Read the figures out of ``wrk --latency`` output (its text format is stable since 4.0)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = {
        f"p{share}": _wrk_ms(value)
        for share, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    return WrkResult(
        url=url,
        requests=int(total.group(1)),
        requests_per_second=float(rps.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        latency_ms=latency,
    )


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """Run ``wrk`` against ``url``; raises ``FileNotFoundError`` with the install hint."""
    executable = shutil.which("wrk")
    if executable is None:
        raise FileNotFoundError(WRK_INSTALL_HINT)
    command = [
        executable, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "--latency",
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    shown = [part if not part.startswith("Authorization:") else "Authorization: Bearer …"
             for part in command]  # fmt: skip
    print("$", shlex.join(shown), flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return parse_wrk(url, done.stdout)


# --- an asyncio closed-loop load generator (per-kind latency, every failure counted) ----------


@dataclass(frozen=True)
class LoadRequest:
    """One request of a mix: ``kind`` groups the figures (e.g. ``l0``, ``search``, ``match``)."""

    kind: str
    method: str
    path: str
    """Path and query, relative to the node's origin (``/v1/vacancies?limit=20``)."""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    """A JSON body, or None."""

    def encode(self, host: str) -> bytes:
        """The request as HTTP/1.1 bytes on a keep-alive connection."""
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class LoadResult:
    """What ``drive`` saw: latencies (ms) of 2xx answers per kind, and every failure."""

    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    """The first few failures, as ``kind: status or exception``."""

    def fail(self, kind: str, what: str) -> None:
        """Count a failure of ``kind`` (keeping the first ten descriptions)."""
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {what}")

    def figures(self) -> dict[str, Any]:
        """Per kind and overall: count, errors, req/s, p50/p95/p99 in milliseconds."""
        kinds = sorted(set(self.latencies) | set(self.errors))
        every = [value for values in self.latencies.values() for value in values]
        table = {kind: self._row(self.latencies.get(kind, []), self.errors.get(kind, 0))
                 for kind in kinds}  # fmt: skip
        table["all"] = self._row(every, sum(self.errors.values()))
        return table

    def _row(self, values: list[float], errors: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "requests": len(values) + errors,
            "errors": errors,
            "rps": round((len(values) + errors) / self.seconds, 1) if self.seconds else 0.0,
        }
        for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            row[f"{name}Ms"] = round(percentile(values, share), 1) if values else None
        return row


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and whether the server keeps the connection; reads (and drops) the body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("connection", "").lower() != "close"


async def _client(
    host: str,
    port: int,
    mix: Sequence[LoadRequest],
    offset: int,
    deadline: float,
    result: LoadResult,
    timeout: float,
) -> None:
    encoded = [request.encode(f"{host}:{port}") for request in mix]
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    turn = offset
    while time.perf_counter() < deadline:
        index = turn % len(mix)
        turn += 1
        kind = mix[index].kind
        start = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            reader, writer = connection
            writer.write(encoded[index])
            status, keep = await asyncio.wait_for(_read_response(reader), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.fail(kind, f"{type(exc).__name__}: {exc}"[:200])
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        elapsed = (time.perf_counter() - start) * 1000
        if 200 <= status < 300:
            result.latencies.setdefault(kind, []).append(elapsed)
        else:
            result.fail(kind, f"HTTP {status}")
        if not keep:
            writer.close()
            connection = None
    if connection is not None:
        connection[1].close()


def drive(
    origin: str,
    mix: Sequence[LoadRequest],
    *,
    seconds: float,
    concurrency: int,
    timeout: float = 30.0,
) -> LoadResult:
    """Closed-loop load: ``concurrency`` keep-alive connections, each sending the next request
    of ``mix`` (each client starts at a different place) as soon as the last one answered.

    Any non-2xx status, timeout or transport error is an error. Raw HTTP/1.1 over asyncio
    streams rather than an HTTP client library: the generator must cost far less per request
    than the server it measures.
    """
    parts = urlsplit(origin)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def run() -> LoadResult:
        start = time.perf_counter()
        result = LoadResult(seconds=seconds)
        deadline = start + seconds
        await asyncio.gather(
            *(
                _client(host, port, mix, i * 7, deadline, result, timeout)
                for i in range(concurrency)
            )
        )
        result.seconds = time.perf_counter() - start
        return result

    return asyncio.run(run())


# --- many nodes at once (the federation benchmark) --------------------------------------------


def seed_config(
    config: Path,
    *,
    candidates: int,
    opportunities: int = 200,
    seed_value: int = 2026,
) -> tuple[float, dict[str, Any]]:
    """``openwerk seed --config``: the node's own id, database, region *and gemeenten*.

    ``seed`` names the region only, so every candidate would live anywhere in it; a node
    configured for one gemeente should hold that gemeente's people.
    """
    command = [
        str(BIN / "openwerk"), "seed", "--config", str(config),
        "--candidates", str(candidates), "--opportunities", str(opportunities),
        "--seed", str(seed_value), "--json",
    ]  # fmt: skip
    return _run_seed(command)


@contextmanager
def serve_processes(
    servers: Sequence[tuple[Sequence[str], str, dict[str, str] | None]],
    *,
    timeout: float = 180.0,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every ``(command, base_url, env)`` first, then wait until all answer.

    ``serve_in_process`` one after the other would wait for each start in turn (seconds of
    imports each); thirty nodes start in about the time the slowest takes. Every process
    is stopped (its whole process group) when the block ends, also when a start fails.
    """
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, _, env in servers:
            print("$", shlex.join(command), flush=True)
            processes.append(
                subprocess.Popen(
                    list(command),
                    env={**os.environ, **(env or {})},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        for (_, base_url, _), process in zip(servers, processes, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"{base_url}: the server exited with {process.returncode}")
            wait_until_up(base_url, timeout)
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot exit
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _run_seed(command: Sequence[str]) -> tuple[float, dict[str, Any]]:
    """Run one ``openwerk seed ... --json``; (seconds, its JSON summary or ``{}``)."""
    print("$", shlex.join(command), flush=True)
    start = time.perf_counter()
    done = subprocess.run(list(command), check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    try:
        summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        summary = {}
    return seconds, summary


@contextmanager
def postgres_database(prefix: str) -> Iterator[str | None]:
    """A database of its own on the bench PostgreSQL server, dropped (forced) afterwards.

    Yields its URL, or ``None`` after printing why when the server does not answer, so a
    script reports its other backends and says what it left out.
    """
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            print(f"postgresql: not measured, {POSTGRES_URL} does not answer ({exc.orig})")
            yield None
            return
        try:
            yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
