"""A loopback HTTP receiver for webhook deliveries, and the Standard Webhooks signature.

The events checks subscribe this receiver at the node under test and look at what arrives:
the exact body bytes, the ``webhook-*`` headers, and — for the retry check — a first attempt
answered with 500 and what comes after it. It runs the stdlib ``http.server`` in a daemon
thread for the length of a ``with`` block; nothing here knows the node.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

__all__ = ["LOOPBACK", "Delivery", "Receiver", "new_secret", "receiver", "signature"]

LOOPBACK: Final = "127.0.0.1"


def new_secret() -> str:
    """A subscription secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``v1,`` signature Standard Webhooks gives these values (spec/docs/events.md)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    #: What the receiver answered.
    answered: int

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())

    def signed_by(self, secret: str) -> bool:
        """Whether any ``v1,`` signature of the delivery matches ``secret``."""
        msg_id, stamp = self.header("webhook-id"), self.header("webhook-timestamp")
        if msg_id is None or stamp is None:
            return False
        expected = signature(secret, msg_id, stamp, self.body)
        sent = (self.header("webhook-signature") or "").split(" ")
        return any(hmac.compare_digest(expected, s) for s in sent if s)


@dataclass
class Receiver:
    """Records deliveries; answers 500 to the first ``fail_first`` of them, then 204."""

    port: int = 0
    fail_first: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str = "/hook") -> str:
        """The http:// loopback URL of the receiver."""
        return f"http://{LOOPBACK}:{self.port}{path}"

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Store one delivery and decide its answer."""
        with self._lock:
            answer = 500 if len(self.deliveries) < self.fail_first else 204
            self.deliveries.append(Delivery(path, headers, body, time.monotonic(), answer))
            self._lock.notify_all()
            return answer

    def wait_for(self, count: int, timeout: float) -> list[Delivery]:
        """Block until ``count`` deliveries arrived or ``timeout`` seconds passed; all so far."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return list(self.deliveries)


def _handler(target: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = target.record(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the suite's report shows what matters."""

    return Handler


@contextmanager
def receiver(fail_first: int = 0) -> Iterator[Receiver]:
    """A receiver listening on a free loopback port until the block ends."""
    target = Receiver(fail_first=fail_first)
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(target))
    server.daemon_threads = True
    target.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
