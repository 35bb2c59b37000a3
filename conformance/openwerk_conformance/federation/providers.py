"""The suite's own provider nodes: loopback HTTP servers a gateway under test federates.

Stdlib ``http.server`` in threads: the providers answer a handful of requests per run, need no
event loop of their own, and add no dependency. Each answering provider speaks just enough of
the provider side for a gateway to federate ``listVacancies``: the landing page,
``/conformance`` (core and opportunities), the token endpoint (``private_key_jwt``, the
assertion verified against the gateway's key in the directory) and a deterministic vacancy
list with the spec's order and ``next`` links. Because the suite wrote the data, it knows
the exact merge a gateway must produce (:func:`expected_merge`).

The **hung** provider accepts the connection and says nothing for :data:`HANG_SECONDS`, far
past the gateway's deadline; the **down** provider's port is never served. Every request is
recorded, so a check can tell which providers the gateway asked (OW-FED-004).
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from openwerk_conformance.federation.setup import HUNG, OK_PROVIDERS, FederationSetup
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.paths import spec_v1_dir

__all__ = [
    "HANG_SECONDS",
    "MATCH_CARDS",
    "VACANCY_COUNTS",
    "ProviderSet",
    "expected_match_merge",
    "expected_merge",
    "match_criteria",
    "provider_vacancies",
    "pseudonym",
    "serve_providers",
]

#: How long the hung provider keeps a request open (well past any sane gateway deadline).
HANG_SECONDS: Final = 15.0
#: Vacancies per answering provider: unequal, so one provider runs out before the other.
VACANCY_COUNTS: Final = {OK_PROVIDERS[0]: 7, OK_PROVIDERS[1]: 5}
#: Hours between the ``createdAt`` of consecutive vacancies, per provider. 2 and 3 make
#: ties at every 6 hours, where ``id`` (equal, by construction) and then node id decide.
_STEP_HOURS: Final = {OK_PROVIDERS[0]: 2, OK_PROVIDERS[1]: 3}
_NEWEST: Final = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
#: Each answering provider's match cards as (score, pseudonym), in its own ranking (score
#: desc, pseudonym asc). Equal scores across providers make node id decide; c2 at both
#: shows node id decides before pseudonym.
MATCH_CARDS: Final = {
    OK_PROVIDERS[0]: ((0.9, "c1"), (0.8, "c2"), (0.8, "c3"), (0.5, "c4")),
    OK_PROVIDERS[1]: ((0.9, "c1"), (0.85, "c0"), (0.8, "c2"), (0.7, "c5")),
}


def pseudonym(tag: str) -> str:
    """A pseudonym of the spec's shape (22 base64url characters) for a card tag."""
    return tag.ljust(22, "x")


_CLASSES: Final = (
    ConformanceClass.CORE,
    ConformanceClass.OPPORTUNITIES,
    ConformanceClass.MATCHING,
)
_SPEC_VERSION: Final = "1.0.0"
_MAX_LIMIT: Final = 100


def _template() -> dict[str, Any]:
    """One fixture vacancy as publication input, made valid for years (its dates are moved)."""
    path = spec_v1_dir() / "fixtures" / "vacancies.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))[0]["vacancy"]
    body = copy.deepcopy(document)
    body.pop("startDate", None)
    body.pop("externalReference", None)
    body["validThrough"] = (date.today() + timedelta(days=365)).isoformat()
    return body


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def provider_vacancies(node_id: str) -> list[dict[str, Any]]:
    """``node_id``'s vacancies in its own order: ``createdAt`` descending, then ``id``."""
    template = _template()
    items = []
    for i in range(VACANCY_COUNTS[node_id]):
        hours = i * _STEP_HOURS[node_id]
        created = _stamp(_NEWEST - timedelta(hours=hours))
        item = {
            **template,
            "id": f"vac-{hours:03d}",
            "externalReference": f"{node_id}-{i}",
            "publisher": node_id,
            "status": "open",
            "createdAt": created,
            "updatedAt": created,
        }
        items.append(item)
    return items


def expected_merge() -> list[tuple[str, str]]:
    """(node, vacancy id) of every vacancy in the order a gateway must list them (OW-FED-006).

    ``createdAt`` descending, then ``id`` descending, then node id ascending.
    """
    rows = [
        (item["createdAt"], item["id"], node)
        for node in OK_PROVIDERS
        for item in provider_vacancies(node)
    ]
    # Two stable sorts: node id ascending first, so it decides only among equal (createdAt, id).
    rows.sort(key=lambda r: r[2])
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [(node, vacancy_id) for _, vacancy_id, node in rows]


def _example(name: str) -> dict[str, Any]:
    path = spec_v1_dir() / "examples" / f"{name}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def match_criteria() -> dict[str, Any]:
    """The inline opportunity the suite asks the gateway to match (the spec's example)."""
    criteria = copy.deepcopy(_example("MatchResult")["opportunity"])
    criteria.pop("startDate", None)  # a fixed date would pass into the past
    return dict(criteria)


def _match_result(node_id: str, criteria: dict[str, Any], limit: int) -> dict[str, Any]:
    example = _example("MatchResult")
    card = example["items"][0]
    items = []
    for score, tag in MATCH_CARDS[node_id][:limit]:
        candidate = {**copy.deepcopy(card["candidate"]), "id": pseudonym(tag), "node": node_id}
        items.append({"candidate": candidate, "score": score, "components": card["components"]})
    return {"scoreVersion": "score-v1", "node": node_id, "opportunity": criteria, "items": items}


def expected_match_merge() -> list[tuple[float, str, str]]:
    """(score, node, pseudonym) of every card in the order a gateway must merge them."""
    rows = [(s, node, pseudonym(t)) for node in OK_PROVIDERS for s, t in MATCH_CARDS[node]]
    return sorted(rows, key=lambda r: (-r[0], r[1], r[2]))


@dataclass
class ProviderState:
    """What one provider serves and what it was asked."""

    node_id: str
    base_url: str
    setup: FederationSetup
    vacancies: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str) -> None:
        """Remember a request path (with query)."""
        with self.lock:
            self.requests.append(path)


def _verify_assertion(state: ProviderState, form: dict[str, str]) -> str | None:
    """The client id of a valid gateway assertion, else ``None``.

    The gateway is the only member the suite's providers admit: its key comes from the
    directory the suite signed, the audience must be this provider's token endpoint.
    """
    assertion = form.get("client_assertion", "")
    setup = state.setup
    try:
        key = ECKey.import_key(setup.public_keys[setup.gateway_id])
        token = jwt.decode(assertion, key, algorithms=["ES256"])
    except (JoseError, ValueError, KeyError):
        return None
    claims = token.claims
    now = time.time()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if (
        claims.get("iss") != setup.gateway_id
        or claims.get("sub") != setup.gateway_id
        or f"{state.base_url}/oauth/token" not in audiences
        or not isinstance(claims.get("exp"), int | float)
        or claims["exp"] < now
        or claims["exp"] > now + 600
    ):
        return None
    return setup.gateway_id


class _Handler(BaseHTTPRequestHandler):
    server: _ProviderServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the run's output is the report, not an access log."""

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("API-Version", _SPEC_VERSION)
        self.end_headers()
        self.wfile.write(raw)

    def _problem(self, status: int, title: str) -> None:
        body = {"type": "about:blank", "title": title, "status": status}
        self._send(status, body, "application/problem+json")

    def do_GET(self) -> None:
        """Landing page, ``/conformance`` and ``/vacancies``."""
        state = self.server.state
        state.record(self.path)
        if self.server.hang:
            time.sleep(HANG_SECONDS)
            self._problem(503, "Hung on purpose")
            return
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if split.path in ("/v1", "/v1/"):
            self._send(200, self._landing())
            return
        if split.path == "/v1/conformance":
            self._send(200, {"conformsTo": [c.uri for c in _CLASSES]})
            return
        if split.path == "/v1/vacancies":
            self._vacancies(query)
            return
        self._problem(404, "Not served by the suite's provider")

    def do_POST(self) -> None:
        """The token endpoint."""
        state = self.server.state
        state.record(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.server.hang:
            time.sleep(HANG_SECONDS)
            self._problem(503, "Hung on purpose")
            return
        if urlsplit(self.path).path == "/v1/matches":
            self._match(raw)
            return
        if urlsplit(self.path).path != "/v1/oauth/token":
            self._problem(404, "Not served by the suite's provider")
            return
        form = {k: v[-1] for k, v in parse_qs(raw).items()}
        granted = form.get("grant_type") == "client_credentials"
        if not granted or _verify_assertion(state, form) is None:
            self._send(400, {"error": "invalid_client"})
            return
        token = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens.add(token)
        scope = "opportunities:read candidates:read matches:create"
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 600, "scope": scope}
        self._send(200, body)

    def _match(self, raw: str) -> None:
        """Cards for an inline opportunity, only with a token this provider issued."""
        state = self.server.state
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with state.lock:
            known = bearer in state.tokens
        if not known:
            self._problem(401, "A token of this provider is required")
            return
        try:
            body = json.loads(raw)
            criteria = dict(body["opportunity"]["inline"])
            limit = int(body.get("limit", 20))
        except (ValueError, KeyError, TypeError):
            self._problem(400, "The suite's providers match inline opportunities only")
            return
        self._send(200, _match_result(state.node_id, criteria, limit))

    def _landing(self) -> dict[str, Any]:
        state = self.server.state
        return {
            "id": state.node_id,
            "name": f"Conformance {state.node_id}",
            "organisation": {"type": "gemeente", "name": "Open Werk conformance suite"},
            "regions": ["AM13"],
            "mode": "node",
            "specVersion": _SPEC_VERSION,
            "k": 5,
            "conformsTo": [c.uri for c in _CLASSES],
            "publicOpportunities": True,
            "tokenEndpoint": f"{state.base_url}/oauth/token",
            "links": {"self": {"href": state.base_url}},
        }

    def _vacancies(self, query: dict[str, str]) -> None:
        state = self.server.state
        try:
            limit = min(int(query.get("limit", "20")), _MAX_LIMIT)
            offset = int(query.get("cursor", "0"))
        except ValueError:
            self._problem(400, "Bad limit or cursor")
            return
        if limit < 1 or offset < 0:
            self._problem(400, "Bad limit or cursor")
            return
        items = state.vacancies[offset : offset + limit]
        url = f"{state.base_url}/vacancies"
        links: dict[str, Any] = {"self": {"href": f"{url}?limit={limit}&cursor={offset}"}}
        if offset + limit < len(state.vacancies):
            links["next"] = {"href": f"{url}?limit={limit}&cursor={offset + limit}"}
        self._send(200, {"items": items, "links": links})


class _ProviderServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must not hold up the end of the run

    def __init__(self, state: ProviderState, port: int, *, hang: bool) -> None:
        self.state = state
        self.hang = hang
        super().__init__(("127.0.0.1", port), _Handler)


@dataclass
class ProviderSet:
    """The running providers of one run, by node id."""

    setup: FederationSetup
    states: dict[str, ProviderState]

    def asked(self, node_id: str, prefix: str) -> int:
        """How many requests whose path starts with ``prefix`` ``node_id`` received."""
        state = self.states[node_id]
        with state.lock:
            return sum(1 for p in state.requests if p.startswith(prefix))

    def reset(self) -> None:
        """Forget the requests seen so far (each check counts its own)."""
        for state in self.states.values():
            with state.lock:
                state.requests.clear()


@contextmanager
def serve_providers(setup: FederationSetup) -> Iterator[ProviderSet]:
    """Serve the answering and the hung provider until the block ends (down stays down)."""
    servers: list[_ProviderServer] = []
    states: dict[str, ProviderState] = {}
    try:
        for node_id in (*OK_PROVIDERS, HUNG):
            state = ProviderState(node_id, setup.provider_url(node_id), setup)
            if node_id != HUNG:
                state.vacancies = provider_vacancies(node_id)
            server = _ProviderServer(state, setup.ports[node_id], hang=node_id == HUNG)
            servers.append(server)
            states[node_id] = state
            # A short poll interval: shutdown waits for it, once per provider and run.
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
        yield ProviderSet(setup, states)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
