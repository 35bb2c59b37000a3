"""The state of one run that every check shares: the node, the HTTP client, the identities.

Checks reach the node only through :meth:`RunContext.fetch`, which records every exchange
(redacted and shortened) so a failing result can show the request and the response that
proved it. Tokens are fetched on first use and cached per (client, scope).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from openwerk_conformance.federation.providers import ProviderSet
from openwerk_conformance.oauth import ClientCredentials, make_assertion, token_form
from openwerk_conformance.results import Excerpt
from openwerk_spec.classes import ConformanceClass

__all__ = [
    "BODY_EXCERPT_CHARS",
    "CandidateFixture",
    "Exchange",
    "Fixture",
    "NodeUnreachable",
    "RunContext",
    "TokenUnavailable",
]

#: How much of a body a report keeps; enough to read a problem, short enough for an HTML page.
BODY_EXCERPT_CHARS = 2000
_SECRET_FORM_FIELDS = ("client_assertion",)
#: Refresh a cached token this many seconds before it expires.
_TOKEN_MARGIN = 30


class NodeUnreachable(Exception):  # noqa: N818 - a condition, not an error of the suite
    """The node gave no HTTP answer (connection refused, timeout, protocol error)."""


class TokenUnavailable(Exception):  # noqa: N818 - a condition, not an error of the suite
    """No access token could be had for a client; the checks that need one are skipped."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the node's response."""

    request: httpx.Request
    response: httpx.Response

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.response.status_code

    @property
    def media_type(self) -> str:
        """The response media type without parameters, lower-case (``""`` when absent)."""
        value: str = self.response.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()

    def header(self, name: str) -> str | None:
        """A response header, or ``None``."""
        value: str | None = self.response.headers.get(name)
        return value

    def json(self) -> Any:
        """The parsed body, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.response.content)
        except (ValueError, UnicodeDecodeError):
            return None

    def excerpt(self) -> Excerpt:
        """A redacted, shortened copy for reports."""
        return Excerpt(
            method=self.request.method,
            url=str(self.request.url),
            request_headers=_redact_headers(self.request.headers),
            request_body=_request_body(self.request),
            status=self.status,
            response_headers=dict(self.response.headers.items()),
            response_body=_shorten(self.response.content),
        )

    def describe(self) -> str:
        """``GET /v1/vacancies → 200`` for messages."""
        return f"{self.request.method} {self.request.url.raw_path.decode()} → {self.status}"


def _redact_headers(headers: httpx.Headers) -> dict[str, str]:
    redacted: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme = value.split(" ", 1)[0]
            redacted[name] = f"{scheme} <redacted>" if " " in value else "<redacted>"
        else:
            redacted[name] = value
    return redacted


def _request_body(request: httpx.Request) -> str | None:
    try:
        content = request.content
    except httpx.RequestNotRead:
        return None
    if not content:
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        text = content.decode("ascii", "replace")
        parts = []
        for pair in text.split("&"):
            name = pair.split("=", 1)[0]
            parts.append(f"{name}=<redacted>" if name in _SECRET_FORM_FIELDS else pair)
        return _shorten("&".join(parts).encode())
    return _shorten(content)


def _shorten(content: bytes) -> str:
    text = content[: BODY_EXCERPT_CHARS * 4].decode("utf-8", "replace")
    if len(text) > BODY_EXCERPT_CHARS or len(content) > BODY_EXCERPT_CHARS * 4:
        return text[:BODY_EXCERPT_CHARS] + f"… ({len(content)} bytes in all)"
    return text


@dataclass(frozen=True, slots=True)
class Fixture:
    """One item of the fixture dataset as it lives at the node."""

    key: str
    #: ``vacancy``, ``task-offer``, ``instrument``, ...
    kind: str
    #: The input document as the dataset has it.
    document: dict[str, Any]
    #: The id the node gave it.
    node_id: str


@dataclass(frozen=True, slots=True)
class CandidateFixture:
    """One fixture candidate as it lives at the node: its record id and its consent ids."""

    key: str
    #: The ``CandidateRecordInput`` as loaded (dates shifted).
    document: dict[str, Any]
    node_id: str
    #: The node's id of each consent, in the dataset's order.
    consent_ids: tuple[str, ...] = ()


@dataclass
class _CachedToken:
    value: str
    expires_at: float


@dataclass
class RunContext:
    """Shared state of a run. One instance per run; checks must not keep state elsewhere."""

    base_url: str
    http: httpx.Client
    credentials: Mapping[str, ClientCredentials] = field(default_factory=dict)
    token_endpoint_override: str | None = None
    preloaded: bool = False
    #: Where the fixture dataset is read from (``None``: spec/v1/fixtures).
    fixtures_dir: Path | None = None
    #: Fixture key → what the fixture setup step loaded (or found, with --preloaded).
    fixtures: dict[str, Fixture] = field(default_factory=dict)
    #: Why fixtures are unavailable, when they are.
    fixture_problem: str | None = None
    #: Fixture candidate key → its record and consents at the node (candidate_fixtures.py).
    candidates: dict[str, CandidateFixture] = field(default_factory=dict)
    #: Why the fixture candidates are unavailable, when they are.
    candidate_problem: str | None = None
    #: The suite's provider nodes, when run with ``--federation DIR`` (checks/federation.py).
    federation: ProviderSet | None = None
    declared_classes: tuple[ConformanceClass, ...] = ()
    selected_classes: tuple[ConformanceClass, ...] = ()
    _landing: Any = None
    _tokens: dict[tuple[str, str], _CachedToken] = field(default_factory=dict)
    _current: list[Exchange] = field(default_factory=list)
    #: Every exchange of the run (checks may sweep it, e.g. for API-Version on every response).
    history: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    # ------------------------------------------------------------------ addressing

    def url(self, path: str) -> str:
        """The absolute URL of a spec path (``/vacancies``); ``/`` and ``""`` are the base URL."""
        if path.startswith(("http://", "https://")):
            return path
        if path in ("", "/"):
            return self.base_url
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def resolve(self, href: str) -> str:
        """An ``href`` from a response, made absolute against the base URL."""
        return urljoin(self.base_url + "/", href)

    @property
    def token_endpoint(self) -> str:
        """Explicit override, else the landing page's ``tokenEndpoint``, else BASE/oauth/token."""
        if self.token_endpoint_override:
            return self.token_endpoint_override
        landing = self.landing
        if isinstance(landing, dict) and isinstance(landing.get("tokenEndpoint"), str):
            return str(landing["tokenEndpoint"])
        return self.url("/oauth/token")

    # ------------------------------------------------------------------ recording

    def begin_check(self) -> None:
        """Start recording the exchanges of one check."""
        self._current = []

    def take_exchanges(self) -> list[Exchange]:
        """The exchanges recorded since :meth:`begin_check`."""
        taken, self._current = self._current, []
        return taken

    # ------------------------------------------------------------------ HTTP

    def send(self, request: httpx.Request, *, follow_redirects: bool = False) -> Exchange:
        """Send a prepared request, record it, and return the exchange."""
        started = time.perf_counter()
        try:
            response = self.http.send(request, follow_redirects=follow_redirects)
            response.read()
            response.close()
        except httpx.TransportError as exc:
            raise NodeUnreachable(
                f"{request.method} {request.url} got no answer: {type(exc).__name__}: {exc}"
            ) from exc
        if not hasattr(response, "_elapsed"):
            # A transport that answers with a pre-read body leaves elapsed unset; reports and
            # schemathesis read it.
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
        exchange = Exchange(request=response.request, response=response)
        self._current.append(exchange)
        self.history.append(exchange)
        return exchange

    def fetch(
        self,
        method: str,
        path: str,
        *,
        client: str | None = None,
        scope: str | None = None,
        token: str | None = None,
        params: Mapping[str, str | int] | list[tuple[str, str | int]] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Exchange:
        """One request to the node, as ``client`` (a role name, e.g. ``consumer-a``) if given.

        ``token`` sends that bearer value verbatim instead (for garbage-token checks).
        """
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        if client is not None:
            all_headers["Authorization"] = f"Bearer {self.token(client, scope)}"
        elif token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        # An empty params mapping would make httpx drop the query already in the URL.
        kwargs: dict[str, Any] = {"params": params or None, "headers": all_headers}
        if json_body is not None:
            kwargs["json"] = json_body
        elif content is not None:
            kwargs["content"] = content
        elif data is not None:
            kwargs["data"] = data
        request = self.http.build_request(method, self.url(path), **kwargs)
        return self.send(request, follow_redirects=follow_redirects)

    # ------------------------------------------------------------------ landing page

    @property
    def landing(self) -> Any:
        """The landing page body (fetched once; ``None`` when it is not JSON)."""
        if self._landing is None:
            exchange = self.fetch("GET", "/", follow_redirects=True)
            body = exchange.json()
            self._landing = body if exchange.status == 200 and isinstance(body, dict) else {}
        return self._landing or None

    @property
    def node_id(self) -> str | None:
        """The node id from the landing page."""
        landing = self.landing
        value = landing.get("id") if isinstance(landing, dict) else None
        return value if isinstance(value, str) else None

    @property
    def public_opportunities(self) -> bool:
        """Whether the node says it serves L0 without a token (assume so when it does not say)."""
        landing = self.landing
        return not (isinstance(landing, dict) and landing.get("publicOpportunities") is False)

    # ------------------------------------------------------------------ tokens

    def credential(self, role: str) -> ClientCredentials:
        """The identity configured for ``role``; ``TokenUnavailable`` if none was given."""
        try:
            return self.credentials[role]
        except KeyError:
            raise TokenUnavailable(f"no credentials given for the {role!r} client") from None

    def request_token(
        self, assertion: str, scope: str | None = None, *, data: Mapping[str, str] | None = None
    ) -> Exchange:
        """POST a token request with this assertion (``data`` replaces the whole form)."""
        form = dict(data) if data is not None else token_form(assertion, scope)
        request = self.http.build_request(
            "POST", self.token_endpoint, data=form, headers={"Accept": "application/json"}
        )
        return self.send(request)

    def token(self, role: str, scope: str | None = None) -> str:
        """An access token for ``role``, cached per (client, scope) until shortly before expiry."""
        key = (role, scope or "")
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - _TOKEN_MARGIN > time.time():
            return cached.value
        credentials = self.credential(role)
        assertion = make_assertion(credentials, self.token_endpoint)
        exchange = self.request_token(assertion, scope)
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise TokenUnavailable(
                f"the token endpoint refused the {role!r} client ({credentials.client_id})"
                f"{' for scope ' + repr(scope) if scope else ''}: {exchange.describe()}"
            )
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 300.0
        self._tokens[key] = _CachedToken(str(body["access_token"]), time.time() + seconds)
        return str(body["access_token"])

    def fixtures_of(self, kind: str) -> list[Fixture]:
        """The loaded fixtures of one kind, in dataset order."""
        return [f for f in self.fixtures.values() if f.kind == kind]

    def has_credentials(self, role: str) -> bool:
        """Whether an identity was configured for ``role``."""
        return role in self.credentials
