"""What ``Client`` and ``AsyncClient`` share that needs no I/O: configuration and reading answers.

The two clients differ only in how they wait (httpx's sync or async client, a thread or an
asyncio lock for the token); building requests, gating, parsing and error mapping live here
and in ``_operations``/``_transport`` so they behave identically.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from openwerk._auth import TokenCache
from openwerk._conformance import ConformanceGate
from openwerk._errors import InvalidResponseError, PaginationError
from openwerk._operations import Call, next_page
from openwerk._pagination import LinkGuard, Page, same_origin
from openwerk._transport import VersionWatch, check_response, is_not_json, not_json_error
from openwerk.assertions import ClientCredentials
from openwerk_spec.classes import ConformanceClass

__all__ = ["BaseClient", "normalise_base_url"]

T = TypeVar("T")

#: How many relative paths a client keeps parsed (ids make them unbounded; the hot ones are few).
_PARSED_MAX = 64


def normalise_base_url(base_url: str) -> str:
    """The node's API root without a trailing slash; ``ValueError`` for a non-HTTP URL."""
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"base_url must be an http(s) URL of a node's API root, e.g. "
            f"https://node.example.nl/v1; got {base_url!r}"
        )
    return str(url).rstrip("/")


class BaseClient:
    """Configuration and answer-reading common to the sync and async clients."""

    def __init__(
        self, base_url: str, *, credentials: ClientCredentials | None, strict: bool
    ) -> None:
        #: The node's API root (ending in ``/v1``); every path is relative to it.
        self.base_url = normalise_base_url(base_url)
        self.credentials = credentials
        self._tokens = TokenCache(credentials) if credentials is not None else None
        self._gate = ConformanceGate("strict" if strict else "warn")
        self._versions = VersionWatch()
        self._origin = httpx.URL(self.base_url)
        self._parsed: dict[str, httpx.URL] = {}  # relative path -> its absolute URL

    def __repr__(self) -> str:
        who = f", client_id={self.credentials.client_id!r}" if self.credentials else ""
        return f"{type(self).__name__}({self.base_url!r}{who}, conformance={self._gate.mode!r})"

    # -------------------------------------------------------------- conformance switches

    def strict_conformance(self) -> None:
        """Refuse (``ConformanceError``) calls needing a class the node does not declare."""
        self._gate.mode = "strict"

    def warn_conformance(self) -> None:
        """Warn once per class and call anyway (the default)."""
        self._gate.mode = "warn"

    def ignore_conformance(self) -> None:
        """Neither check nor warn, and do not read ``/conformance`` for gating."""
        self._gate.mode = "ignore"

    @property
    def declared_classes(self) -> frozenset[ConformanceClass] | None:
        """The classes the node declared, once read; ``None`` before or if unreadable."""
        return self._gate.declared

    # -------------------------------------------------------------- shared steps

    def _url(self, call: Call[Any]) -> httpx.URL:
        """The URL of ``call``; ``PaginationError`` for a link to another origin.

        Absolute URLs come from the node (next links, event cursors); following one to
        another origin would hand that origin the caller's bearer token. A path relative to
        the base URL cannot leave it; those are parsed once and kept (a fan-out asks each
        node the same few paths on every call, and httpx's URL parsing is not cheap).
        """
        if not call.path.startswith(("http://", "https://")):
            url = self._parsed.get(call.path)
            if url is None:
                url = httpx.URL(self.base_url + call.path)
                if len(self._parsed) < _PARSED_MAX:
                    self._parsed[call.path] = url
            return url
        url = httpx.URL(call.path)
        if not same_origin(url, self._origin):
            raise PaginationError(
                f"{call.operation}: not following {call.path}: it leaves {self.base_url} "
                "(the access token would go to another origin)"
            )
        return url

    def _wants_token(self, call: Call[Any]) -> bool:
        return self._tokens is not None and not call.public

    def _finish(self, call: Call[T], response: httpx.Response, trace_id: str | None) -> T:
        """Check and parse one answer: ``ApiError`` for an error status, else the result."""
        self._versions.see(response)
        check_response(response, trace_id)
        content = b"" if response.status_code == httpx.codes.NO_CONTENT else response.content
        try:
            return call.parse(content, str(response.url))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError, as is JSON's
            if is_not_json(exc):
                raise not_json_error(response) from exc
            raise InvalidResponseError(
                f"{call.operation}: {response.url} answered a body that does not match "
                f"the Open Werk spec: {exc}",
                response=response,
            ) from exc

    def _next_call(self, page: Page[T]) -> Call[Page[T]] | None:
        """The call for the page after ``page``, vetted by a ``LinkGuard``; ``None`` at the end."""
        if page.next_url is None:
            return None
        guard = LinkGuard(self.base_url)
        if page.url is not None:
            guard.fetched(page.url)
        guard.check(page.next_url)
        return next_page(page)
