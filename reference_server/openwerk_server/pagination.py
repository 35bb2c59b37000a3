"""Keyset pagination: signed opaque cursors, the limit rule and ``links`` of a page.

A cursor is the sort key of the last item served, so pages neither repeat nor skip items
while others write (OW-PAGE-004). It is signed with a key derived from the node's secret:
clients cannot forge positions or smuggle values into a query, and a tampered, foreign or
truncated cursor is invalid input (400 naming ``cursor``), not a server error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from openwerk_server.errors import InvalidInput, InvalidParam
from openwerk_server.storage.queries import (
    Key,
)

__all__ = ["CursorCodec", "clamp_limit", "page_links"]

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_cursor(reason: str = "Not a cursor this node issued for this list.") -> InvalidParam:
    """The one way a bad cursor is reported."""
    return InvalidParam("cursor", reason, "cursor")


class CursorCodec:
    """Encodes keyset positions as ``base64url(json).base64url(hmac)``."""

    def __init__(self, secret: bytes) -> None:
        # A derived key: the pseudonym secret itself never touches data clients hold.
        self._key = hmac.new(secret, b"openwerk/v1/cursor", hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, listing: str, key: Key) -> str:
        """A cursor for the position after ``key`` in the list named ``listing``."""
        payload = json.dumps({"l": listing, "k": list(key)}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, listing: str, cursor: str) -> Key:
        """The position in ``cursor``; ``InvalidInput`` (naming ``cursor``) if it is not ours."""
        try:
            head, _, tail = cursor.partition(".")
            payload, mac = _unb64(head), _unb64(tail)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput([invalid_cursor()]) from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidInput([invalid_cursor()])
        try:
            data = json.loads(payload)
        except ValueError as exc:  # pragma: no cover - a signed payload is always our JSON
            raise InvalidInput([invalid_cursor()]) from exc
        if not isinstance(data, dict):  # pragma: no cover - never issued
            raise InvalidInput([invalid_cursor()])
        key = data.get("k")
        if data.get("l") != listing or not isinstance(key, list) or not key:
            raise InvalidInput([invalid_cursor("This cursor belongs to another list.")])
        if not all(isinstance(part, int | str) and not isinstance(part, bool) for part in key):
            raise InvalidInput([invalid_cursor()])  # pragma: no cover - never issued
        return tuple(key)


def clamp_limit(limit: int | None, *, default: int, maximum: int) -> int:
    """The page size to serve: the default when absent, values above the maximum clamped.

    Clamped, not refused (OW-PAGE-003); values below 1 never get here (schema minimum 1).
    """
    if limit is None:
        return default
    return max(1, min(limit, maximum))


def _href(base_url: str, request: Request, params: Mapping[str, Any]) -> str:
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    path = path.removeprefix("/v1")
    query = urlencode([(k, str(v)) for k, v in params.items() if v is not None])
    return f"{base_url}{path}" + (f"?{query}" if query else "")


def page_links(
    request: Request, *, base_url: str, limit: int, next_cursor: str | None
) -> dict[str, Any]:
    """``links.self`` (this page as requested) and ``links.next`` (when more may follow).

    Absolute URLs on the node's public ``base_url``, so links work behind a proxy.
    """
    params: dict[str, Any] = dict(request.query_params)
    links: dict[str, Any] = {"self": {"href": _href(base_url, request, params)}}
    if next_cursor is not None:
        params.update(cursor=next_cursor, limit=limit)
        links["next"] = {"href": _href(base_url, request, params)}
    return links
